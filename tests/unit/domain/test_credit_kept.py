"""What of a subscription's credit each invoice's unused time still holds
(Subscription.credit_kept): invoices use it first, oldest first; an operator taking credit
takes other credit first; a refund takes back, and a failed one gives back, only its own."""

from datetime import UTC, datetime

import pytest

from tenure.domain.errors import ValidationFailedError
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")


def holding(credit: int, kept: dict[str, int]) -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0)
    sub.credit, sub.credit_kept = credit, dict(kept)
    return sub


def test_an_invoice_uses_the_oldest_invoices_credit_first_and_other_credit_last() -> None:
    sub = holding(1000, {"in_1": 300, "in_2": 400})  # 300 from elsewhere

    sub.take_credit(500)

    assert sub.credit_kept == {"in_2": 200}  # in_1's used up: dropped
    sub.take_credit(450)
    assert (sub.credit, sub.credit_kept) == (50, {})


def test_an_operator_taking_credit_takes_credit_from_elsewhere_first() -> None:
    sub = holding(1000, {"in_1": 700})

    sub.adjust_credit(-200, T0)
    assert sub.credit_kept == {"in_1": 700}
    sub.adjust_credit(-300, T0)

    assert (sub.credit, sub.credit_kept) == (500, {"in_1": 500})


def test_a_refund_takes_back_and_a_failed_one_gives_back_only_its_invoices_credit() -> None:
    sub = holding(1000, {"in_1": 300, "in_2": 400})

    sub.take_back_credit(300, T0, "in_2")
    assert (sub.credit, sub.credit_kept) == (700, {"in_1": 300, "in_2": 100})
    sub.give_back_credit(300, T0, "in_2", keep=True)

    assert (sub.credit, sub.credit_kept) == (1000, {"in_1": 300, "in_2": 400})


def test_credit_given_back_for_an_invoice_credited_before_credit_was_kept_is_not_kept() -> None:
    sub = holding(500, {})

    sub.give_back_credit(200, T0, "in_old", keep=False)

    assert (sub.credit, sub.credit_kept) == (700, {})


def test_giving_back_nothing_is_refused() -> None:
    sub = holding(500, {"in_1": 500})

    with pytest.raises(ValidationFailedError):
        sub.give_back_credit(0, T0, "in_1", keep=True)
    assert (sub.credit, sub.credit_kept) == (500, {"in_1": 500})


def test_a_refund_taking_back_all_its_invoices_credit_drops_its_entry() -> None:
    sub = holding(700, {"in_1": 300, "in_2": 400})

    sub.take_back_credit(400, T0, "in_2")

    assert (sub.credit, sub.credit_kept) == (300, {"in_1": 300})


def test_an_invoice_kept_by_id_and_not_listed_holds_nothing_of_the_balance() -> None:
    from dataclasses import replace

    from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
    from tenure.domain.unused_credit import held, kept_for

    invoice = Invoice(
        "in_1", "sub-1", "alice", InvoiceKind.FIRST, T0, T0, "USD",
        [InvoiceLine(LineKind.PLAN, "Basic", 1000)], InvoiceStatus.PAID, T0,
        unused_credited=800, unused_to_balance=800,
    )  # fmt: skip
    # Credited before credit was kept: its share of the balance (500 from elsewhere) tells
    assert held(invoice, 500, kept_for(invoice, {})) == 500
    # Kept by id, its entry dropped when used up: none of the 500 is its
    kept_by_id = replace(invoice, credit_kept_by_id=True)
    assert held(kept_by_id, 500, kept_for(kept_by_id, {})) == 0
