"""Three-decimal currencies (KWD, BHD, JOD, OMR, TND), which Stripe charges only when the last
decimal is 0: every amount Tenure computes in them (tax, proration, percentage discounts, a
refund policy's share) is rounded half-up to tens of the minor unit, the lines still sum to
the total, and a price that could never be charged is refused naming the nearest ones.
Two-decimal and zero-decimal currencies round to the unit as before."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.discounts import Discount, DiscountTerms, TenureDiscount, period_lines
from tenure.domain.errors import ValidationFailedError
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    with_tax,
)
from tenure.domain.money import round_half_up, round_to_step, unchargeable
from tenure.domain.plans import IntroPhase, Plan, TaxBehavior, Tier, tax_on
from tenure.domain.points import points_credit_line
from tenure.domain.pricing import check_chargeable
from tenure.domain.programs import AfterWindow, RefundPolicy
from tenure.domain.refunds import policy_refund, requested_refund
from tenure.domain.subscription import Subscription

APR_1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)
SECONDS_IN_APRIL = 30 * 86_400
THREE = ("KWD", "BHD", "JOD", "OMR", "TND")

tens = st.integers(1, 100_000).map(lambda n: n * 10)
rates = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)


def a_plan(plan_id: str, amount: int, currency: str = "KWD", **overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "id": plan_id,
        "amount": amount,
        "currency": currency,
        "interval": "month",
    }
    return Plan(**(fields | overrides))


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(Fraction(75), 80), (Fraction(2125), 2130), (Fraction(2124), 2120), (Fraction(-25), -30)],
)
def test_a_computed_amount_rounds_half_up_to_the_step(value: Fraction, rounded: int) -> None:
    assert round_to_step(value, 10) == rounded


@given(st.fractions(min_value=-(10**9), max_value=10**9))
def test_with_a_step_of_one_the_rounding_is_round_half_up_exactly(value: Fraction) -> None:
    assert round_to_step(value, 1) == round_half_up(value)


def test_a_kwd_1000_plan_at_7_5_percent_makes_a_chargeable_first_invoice() -> None:
    # It was 1.075: declined as invalid_amount at every try, voided, the subscription canceled.
    lines = with_tax(
        period_lines(a_plan("basic", 1000, tax_rate=Decimal("7.5")), 0, "Basic", None),
        a_plan("basic", 1000, tax_rate=Decimal("7.5")),
    )
    assert [line.amount for line in lines] == [1000, 80]


def test_a_two_decimal_currency_still_rounds_to_the_cent() -> None:
    assert tax_on(1000, Decimal("7.5")) == 75  # USD 10.00 at 7.5%: 0.75, as before


@pytest.mark.parametrize("currency", THREE)
@given(
    amount=tens,
    rate=rates,
    inclusive=st.booleans(),
    intro=st.decimals(min_value=1, max_value=100, places=2),
    coupon=st.decimals(min_value=1, max_value=100, places=2),
    ladder=st.decimals(min_value=1, max_value=100, places=2),
    stack=st.booleans(),
)
def test_every_line_of_a_period_invoice_ends_in_0_and_sums_to_the_total(
    currency: str,
    amount: int,
    rate: Decimal,
    inclusive: bool,
    intro: Decimal,
    coupon: Decimal,
    ladder: Decimal,
    stack: bool,
) -> None:
    behavior = TaxBehavior.INCLUSIVE if inclusive else TaxBehavior.EXCLUSIVE
    plan = a_plan(
        "p",
        amount,
        currency,
        tax_rate=rate,
        tax_behavior=behavior,
        intro=(IntroPhase(1, intro),),
    )
    discount = Discount(
        coupon_id="c",
        name="c",
        terms=DiscountTerms(percent_off=coupon),
        periods_left=None,
        starts=APR_1,
    )
    tenure = TenureDiscount(after_months=1, percent_off=ladder, stack=stack)
    lines = with_tax(period_lines(plan, 0, "P", discount, tenure), plan)
    assert all(line.amount % 10 == 0 for line in lines), lines
    invoice = an_invoice(lines, currency)
    assert invoice.total == sum(line.amount for line in lines)
    assert invoice.total % 10 == 0


@pytest.mark.parametrize("currency", THREE)
@given(
    old=tens,
    new=tens,
    rate=rates,
    seconds_in=st.integers(0, SECONDS_IN_APRIL),
)
def test_a_plan_or_seat_change_mid_period_prorates_in_tens(
    currency: str, old: int, new: int, rate: Decimal, seconds_in: int
) -> None:
    before = a_plan("old", old, currency, tax_rate=rate)
    after = a_plan("new", new, currency, tax_rate=rate)
    sub = Subscription.subscribe("sub-1", "alice", before, APR_1)
    sub.activate(before, APR_1)
    change = sub.change_plan(before, after, APR_1 + timedelta(seconds=seconds_in))
    assert change is not None
    assert all(line.amount % 10 == 0 for line in change.lines), change.lines
    assert change.total == sum(line.amount for line in change.lines)
    assert change.total % 10 == 0


@pytest.mark.parametrize("currency", THREE)
@given(total=tens, seconds_in=st.integers(0, SECONDS_IN_APRIL))
def test_a_refund_policys_prorated_share_ends_in_0(
    currency: str, total: int, seconds_in: int
) -> None:
    invoice = an_invoice([InvoiceLine(LineKind.PLAN, "P", total)], currency)
    policy = RefundPolicy(window_days=0, after_window=AfterWindow.PRORATED)
    amount, _ = policy_refund(invoice, policy, APR_1 + timedelta(seconds=seconds_in or 1))
    assert amount % 10 == 0
    assert 0 <= amount <= total


def test_a_price_that_can_never_be_charged_is_refused_naming_the_nearest() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        check_chargeable(1001, (), "KWD")
    assert caught.value.field == "amount"
    assert "nearest: 1000 or 1010" in str(caught.value)


def test_a_seat_price_that_can_never_be_charged_is_refused_on_its_tier() -> None:
    tiers = (Tier(5, 1010, 200), Tier(None, 775, 0))
    with pytest.raises(ValidationFailedError) as caught:
        check_chargeable(0, tiers, "BHD")
    assert caught.value.field == "tiers[1].unit_amount"
    assert "nearest: 770 or 780" in str(caught.value)


def test_any_amount_is_chargeable_in_two_and_zero_decimal_currencies() -> None:
    assert [unchargeable(1001, c) for c in ("USD", "JPY", "EUR")] == [None, None, None]
    check_chargeable(1001, (Tier(None, 1, 3),), "USD")


def an_invoice(lines: list[InvoiceLine], currency: str) -> Invoice:
    return Invoice(
        id="in_1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=APR_1,
        period_end=MAY_1,
        currency=currency,
        lines=lines,
        status=InvoiceStatus.PAID,
        created_at=APR_1,
        paid_at=APR_1,
    )


@given(points=st.integers(0, 10_000), value=st.integers(1, 50), total=tens)
def test_a_points_credit_in_kwd_is_whole_tens_and_never_more_than_the_total(
    points: int, value: int, total: int
) -> None:
    lines = [InvoiceLine(LineKind.PLAN, "P", total)]
    credited, used = points_credit_line(lines, points, value, 10)
    amounts = [line.amount for line in credited]
    assert all(a % 10 == 0 for a in amounts) and 0 <= sum(amounts) <= total
    assert 0 <= used <= points and -sum(amounts[1:]) == used * value


def test_at_5_fils_a_point_the_odd_point_waits_and_usd_uses_every_point() -> None:
    lines = [InvoiceLine(LineKind.PLAN, "P", 1000)]
    assert points_credit_line(lines, 3, 5, 10)[1] == 2
    assert points_credit_line(lines, 3, 5)[1] == 3


def test_a_refund_the_provider_could_never_send_is_refused_on_amount_naming_the_nearest() -> None:
    # It reached the provider, which refused it: a 409 "the provider refused" instead of a 422.
    invoice = an_invoice([InvoiceLine(LineKind.PLAN, "P", 1000)], "KWD")
    with pytest.raises(ValidationFailedError, match="nearest: 0 or 10") as caught:
        requested_refund(invoice, 5)
    assert caught.value.field == "amount"
    assert requested_refund(invoice, 10)[0] == 10
    assert requested_refund(an_invoice([InvoiceLine(LineKind.PLAN, "P", 1000)], "USD"), 5)[0] == 5


@pytest.mark.parametrize(("amount", "nearest"), [(5, "0 or 10"), (-15, "-20 or -10")])
def test_an_operators_credit_the_next_kwd_invoice_could_not_charge_is_refused(
    amount: int, nearest: str
) -> None:
    # 0.005 of credit made the next invoice end in 5: declined at every try, left unpaid.
    plan = a_plan("basic", 1000)
    sub = Subscription.subscribe("sub-1", "alice", plan, APR_1)
    sub.activate(plan, APR_1)
    sub.adjust_credit(100, APR_1)
    with pytest.raises(ValidationFailedError, match=f"nearest: {nearest}") as caught:
        sub.adjust_credit(amount, APR_1)
    assert caught.value.field == "amount" and sub.credit == 100
