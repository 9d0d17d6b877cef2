"""Loyalty points' arithmetic: the credit an invoice takes, and what a refund takes back."""

import pytest

from tenure.domain.invoices import InvoiceLine, LineKind
from tenure.domain.points import points_credit_line, points_to_reverse

PLAN = [InvoiceLine(LineKind.PLAN, "Basic", 1000), InvoiceLine(LineKind.TAX, "Tax", 80)]


def test_points_credit_the_invoice_at_their_value() -> None:
    lines, used = points_credit_line(PLAN, 30, 10)
    assert used == 30
    assert lines[-1] == InvoiceLine(
        LineKind.POINTS_CREDIT, "Loyalty points redeemed (30 points)", -300
    )
    assert sum(ln.amount for ln in lines) == 780


def test_a_credit_stops_at_zero_with_whole_points_and_the_rest_is_not_used() -> None:
    lines, used = points_credit_line(PLAN, 500, 7)  # 1080 takes 154 points (1078), not 155
    assert used == 154
    assert sum(ln.amount for ln in lines) == 2


@pytest.mark.parametrize(("points", "value"), [(0, 10), (5, 0)])
def test_no_points_or_no_value_leaves_the_invoice_as_it_is(points: int, value: int) -> None:
    assert points_credit_line(PLAN, points, value) == (PLAN, 0)


def test_an_invoice_already_at_zero_takes_no_points() -> None:
    free = [InvoiceLine(LineKind.PLAN, "Free", 0)]
    assert points_credit_line(free, 10, 1) == (free, 0)


@pytest.mark.parametrize(
    ("refunded", "already", "taken_back"),
    [
        (250, 0, 2),  # a quarter of 10 points, rounded down
        (500, 2, 3),  # half in all, less the 2 taken back before
        (1000, 5, 5),  # all of it
        (1500, 10, 0),  # more than paid is all of it, taken back already
        (0, 0, 0),
    ],
)
def test_a_refund_takes_back_the_refunded_share_less_what_was_taken_already(
    refunded: int, already: int, taken_back: int
) -> None:
    assert points_to_reverse(10, 1000, refunded, already) == taken_back


def test_an_invoice_that_earned_nothing_gives_nothing_back() -> None:
    assert points_to_reverse(0, 1000, 1000, 0) == 0
    assert points_to_reverse(10, 0, 1000, 0) == 0
