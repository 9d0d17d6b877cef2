"""Coupons and the discounts they give: which period invoices they cover, what they take off,
and what a subscription's MRR counts while they apply."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tenure.domain.coupon_spec import CouponSpec
from tenure.domain.discounts import (
    Coupon,
    CouponDuration,
    Discount,
    DiscountTerms,
    choose_discounts,
    period_lines,
    with_discounts,
)
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.invoices import InvoiceLine, LineKind, with_tax
from tenure.domain.plans import IntroPhase, Plan, TaxBehavior
from tenure.domain.subscription import Subscription, SubscriptionStatus

T0 = datetime(2026, 1, 31, 9, tzinfo=UTC)
BASIC = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")
PRO = Plan(id="pro", name="Pro", amount=2000, currency="USD", interval="month")
ANNUAL = Plan(id="annual", amount=12000, currency="USD", interval="year")


def a_coupon(**fields: Any) -> Coupon:
    values: dict[str, Any] = {
        "id": "half",
        "terms": DiscountTerms(percent_off=Decimal(50)),
        "duration": CouponDuration.ONCE,
        "created_at": T0,
    }
    values.update(fields)
    return Coupon(**values)


def active(plan: Plan = BASIC, discount: Discount | None = None) -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", plan, T0, discount)
    sub.activate(plan, T0)
    return sub


def renewals(sub: Subscription, plan: Plan, count: int) -> list[int]:
    """What each of the next `count` renewal invoices' coupon line takes off (0: none)."""
    taken = []
    for _ in range(count):
        sub.renew(plan, sub.current_period_end)
        lines = period_lines(plan, sub.cycle, plan.id, sub.period_discount)
        taken.append(-sum(ln.amount for ln in lines if ln.kind is LineKind.COUPON))
    return taken


# -- what a coupon takes off ----------------------------------------------------------------
def test_a_percent_coupon_takes_its_share_rounded_half_up() -> None:
    assert DiscountTerms(percent_off=Decimal("12.5")).off(999) == 125  # 124.875


def test_an_amount_coupon_never_takes_more_than_the_subtotal() -> None:
    assert DiscountTerms(amount_off=500, currency="USD").off(300) == 300


def test_the_coupon_line_is_negative_and_the_total_is_the_sum_of_the_lines() -> None:
    discount = a_coupon().redeem(BASIC, "USD", T0)
    lines = with_tax(period_lines(BASIC, 0, "Basic", discount), BASIC)
    assert [ln.kind for ln in lines] == [LineKind.PLAN, LineKind.COUPON]
    assert lines[1].amount == -500
    assert lines[1].description == "Coupon half (50% off)"


def test_exclusive_tax_is_charged_on_the_discounted_price() -> None:
    taxed = Plan(id="t", amount=1000, currency="USD", interval="month", tax_rate=Decimal(10))
    lines = with_tax(period_lines(taxed, 0, "T", a_coupon().redeem(taxed, "USD", T0)), taxed)
    assert [(ln.kind, ln.amount) for ln in lines] == [
        (LineKind.PLAN, 1000),
        (LineKind.COUPON, -500),
        (LineKind.TAX, 50),
    ]


def test_a_coupon_applies_after_the_intro_discount() -> None:
    intro = Plan(
        id="intro",
        amount=1000,
        currency="USD",
        interval="month",
        intro=(IntroPhase(1, Decimal(50)),),
    )
    fixed = a_coupon(terms=DiscountTerms(amount_off=800, currency="USD"))
    lines = period_lines(intro, 0, "Intro", fixed.redeem(intro, "USD", T0))
    assert [ln.amount for ln in lines] == [1000, -500, -500]  # never below zero


def test_the_larger_discount_wins_unless_discounts_stack() -> None:
    small = InvoiceLine(LineKind.COUPON, "small", -100)
    large = InvoiceLine(LineKind.COUPON, "large", -300)
    assert choose_discounts([small, large]) == [large]
    assert choose_discounts([small, large], stack=True) == [small, large]
    plan = [InvoiceLine(LineKind.PLAN, "Basic", 350)]
    stacked = with_discounts(plan, [small, large], stack=True)
    assert sum(ln.amount for ln in stacked) == 0  # capped: never below zero


# -- redeeming ----------------------------------------------------------------------------------
def test_redeeming_counts_one_redemption() -> None:
    coupon = a_coupon(max_redemptions=2)
    coupon.redeem(BASIC, "USD", T0)
    assert coupon.times_redeemed == 1


def test_a_coupon_past_its_redeem_by_is_refused() -> None:
    coupon = a_coupon(redeem_by=T0)
    with pytest.raises(ValidationFailedError, match="until") as refused:
        coupon.redeem(BASIC, "USD", T0 + timedelta(seconds=1))
    assert refused.value.field == "coupon"
    assert coupon.times_redeemed == 0


def test_a_coupon_at_its_max_redemptions_is_refused() -> None:
    coupon = a_coupon(max_redemptions=1, times_redeemed=1)
    with pytest.raises(ValidationFailedError, match="maximum"):
        coupon.redeem(BASIC, "USD", T0)


def test_a_coupon_for_other_plans_is_refused() -> None:
    with pytest.raises(ValidationFailedError, match="for plans pro"):
        a_coupon(plans=("pro",)).redeem(BASIC, "USD", T0)


def test_an_amount_off_coupon_in_another_currency_is_refused() -> None:
    euros = a_coupon(terms=DiscountTerms(amount_off=500, currency="EUR"))
    with pytest.raises(ValidationFailedError, match="EUR"):
        euros.redeem(BASIC, "USD", T0)
    assert euros.times_redeemed == 0


def test_a_percent_coupon_fits_any_currency() -> None:
    yen = Plan(id="yen", amount=1000, currency="JPY", interval="month")
    assert a_coupon().redeem(yen, "JPY", T0).off(yen, 1000) == 500


# -- which invoices a coupon covers ---------------------------------------------------------
def test_a_once_coupon_covers_the_first_invoice_only() -> None:
    sub = active(discount=a_coupon().redeem(BASIC, "USD", T0))
    assert sub.period_discount is not None and sub.discount is None
    assert renewals(sub, BASIC, 2) == [0, 0]


def test_a_repeating_coupon_stops_after_its_periods() -> None:
    coupon = a_coupon(duration=CouponDuration.REPEATING, duration_in_periods=3)
    sub = active(discount=coupon.redeem(BASIC, "USD", T0))
    # The first invoice is the first of its three periods.
    assert renewals(sub, BASIC, 4) == [500, 500, 0, 0]


def test_a_forever_coupon_covers_every_invoice() -> None:
    sub = active(discount=a_coupon(duration=CouponDuration.FOREVER).redeem(BASIC, "USD", T0))
    assert renewals(sub, BASIC, 24) == [500] * 24


def test_a_coupon_applied_mid_period_starts_with_the_next_invoice() -> None:
    sub = active()
    sub.apply_discount(a_coupon().redeem(BASIC, "USD", T0 + timedelta(days=3)), T0)
    assert sub.period_discount is None
    assert renewals(sub, BASIC, 2) == [500, 0]
    assert EventType.COUPON_APPLIED in [e.type for e in sub.events]


def test_a_coupon_redeemed_in_a_trial_covers_the_first_paid_invoice() -> None:
    trial = Plan(id="trial", amount=1000, currency="USD", interval="month", trial_days=14)
    sub = Subscription.subscribe("sub-1", "alice", trial, T0, a_coupon().redeem(trial, "USD", T0))
    assert sub.period_discount is None
    assert renewals(sub, trial, 2) == [500, 0]


def test_a_period_on_a_plan_outside_the_coupon_is_not_discounted_yet_counts() -> None:
    coupon = a_coupon(plans=("basic",), duration=CouponDuration.REPEATING, duration_in_periods=2)
    sub = active(discount=coupon.redeem(BASIC, "USD", T0))
    sub.change_plan(BASIC, PRO, T0 + timedelta(days=10))
    assert renewals(sub, PRO, 2) == [0, 0]
    assert sub.discount is None


def test_a_second_coupon_is_refused_while_the_first_still_has_periods() -> None:
    coupon = a_coupon(duration=CouponDuration.FOREVER)
    sub = active(discount=coupon.redeem(BASIC, "USD", T0))
    with pytest.raises(ValidationFailedError, match="already has coupon"):
        sub.apply_discount(a_coupon(id="other").redeem(BASIC, "USD", T0), T0)


def test_a_canceled_subscription_takes_no_coupon() -> None:
    sub = active()
    sub.cancel(BASIC, T0, at_period_end=False, reason=None)
    with pytest.raises(IllegalTransitionError):
        sub.apply_discount(a_coupon().redeem(BASIC, "USD", T0), T0)


def test_a_resumed_period_is_covered_by_a_coupon_applied_during_the_pause() -> None:
    sub = active()
    sub.pause(BASIC, T0 + timedelta(days=5), None)
    sub.apply_discount(a_coupon().redeem(BASIC, "USD", T0 + timedelta(days=6)), T0)
    sub.resume(BASIC, T0 + timedelta(days=9))
    assert sub.period_discount is not None and sub.status is SubscriptionStatus.ACTIVE


# -- MRR -------------------------------------------------------------------------------------
def test_mrr_counts_the_discounted_amount_while_the_coupon_applies() -> None:
    coupon = a_coupon(duration=CouponDuration.REPEATING, duration_in_periods=2)
    sub = active(discount=coupon.redeem(BASIC, "USD", T0))
    assert sub.mrr == 500
    sub.renew(BASIC, sub.current_period_end)
    assert sub.mrr == 500
    sub.renew(BASIC, sub.current_period_end)
    assert sub.mrr == 1000  # the coupon ended: an expansion in the ledger
    assert [(e.before, e.after) for e in sub.ledger] == [(0, 500), (500, 1000)]


def test_mrr_of_an_annual_plan_counts_its_coupon_per_month() -> None:
    fixed = a_coupon(terms=DiscountTerms(amount_off=1200, currency="USD"))
    sub = active(ANNUAL, fixed.redeem(ANNUAL, "USD", T0))
    assert sub.mrr == 900  # (12000 - 1200) / 12


def test_mrr_excludes_inclusive_tax_after_the_coupon() -> None:
    gross = Plan(
        id="g",
        amount=1100,
        currency="USD",
        interval="month",
        tax_rate=Decimal(10),
        tax_behavior=TaxBehavior.INCLUSIVE,
    )
    fixed = a_coupon(terms=DiscountTerms(amount_off=550, currency="USD"))
    sub = active(gross, fixed.redeem(gross, "USD", T0))
    assert sub.mrr == 500  # 550 gross, of which 50 is tax


def test_pausing_credits_what_was_paid_after_the_coupon() -> None:
    sub = active(discount=a_coupon().redeem(BASIC, "USD", T0))
    half_way = T0 + (sub.current_period_end - T0) / 2
    sub.pause(BASIC, half_way, None)
    assert sub.credit == 250


# -- what a coupon must be -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"duration": "once"}, "exactly one of percent_off and amount_off"),
        ({"percent_off": 10, "amount_off": 5, "currency": "USD", "duration": "once"}, "exactly"),
        ({"amount_off": 500, "duration": "once"}, "needs a currency"),
        ({"percent_off": 10, "currency": "USD", "duration": "once"}, "needs a currency"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_periods"),
        ({"percent_off": 10, "duration": "once", "duration_in_periods": 2}, "duration_in_periods"),
        ({"percent_off": 0, "duration": "once"}, "greater than 0"),
        ({"percent_off": 101, "duration": "once"}, "less than or equal to 100"),
        ({"amount_off": 5, "currency": "XYZ", "duration": "once"}, "XYZ"),
        ({"percent_off": 10, "duration": "sometimes"}, "once"),
        ({"percent_off": 10, "duration": "once", "redeem_by": "2026-12-31T00:00:00"}, "timezone"),
        ({"percent_off": 10, "duration": "once", "plans": ["a", "a"]}, "each plan once"),
    ],
)
def test_a_malformed_coupon_is_refused_naming_what_is_wrong(
    fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        CouponSpec.model_validate({"id": "c", **fields})


def test_a_valid_coupon_spec_makes_the_coupon() -> None:
    spec = CouponSpec.model_validate(
        {
            "id": "five-off-3",
            "amount_off": 500,
            "currency": "usd",
            "duration": "repeating",
            "duration_in_periods": 3,
            "max_redemptions": 100,
            "redeem_by": "2026-12-31T00:00:00Z",
            "plans": ["pro"],
        }
    )
    coupon = spec.to_coupon(T0)
    assert coupon.terms == DiscountTerms(amount_off=500, currency="USD")
    assert (coupon.duration_in_periods, coupon.plans) == (3, ("pro",))
    assert coupon.redeem_by == datetime(2026, 12, 31, tzinfo=UTC)
