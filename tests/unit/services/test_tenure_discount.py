"""The tenure discount through the use cases, on the fakes with the sandbox provider: which
renewals carry the ladder's line, how a pause shifts it, how it combines with a coupon, and
what MRR and the monthly metrics count."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import T0, Shop

from tenure.domain.calendar import Interval, IntervalUnit, add_intervals
from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.events import EventType
from tenure.domain.invoices import LineKind
from tenure.services import coupons, subscriptions

LADDER = {
    "tenure_discount": [
        {"after_months": 12, "percent_off": 5},
        {"after_months": 24, "percent_off": 10},
    ]
}


def months(n: int, start: datetime = T0) -> datetime:
    return add_intervals(start, Interval(IntervalUnit.MONTH, 1), n)


def tenure_taken(shop: Shop) -> list[int]:
    """What the tenure line took off each invoice of sub-1, oldest first (0: no line)."""
    return [
        -sum(ln.amount for ln in inv.lines if ln.kind is LineKind.TENURE_DISCOUNT)
        for inv in shop.invoices()
    ]


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.set_programs(LADDER)
    return shop


def test_invoice_13_of_a_monthly_subscription_carries_the_5_percent_line_and_12_does_not(
    shop: Shop,
) -> None:
    shop.subscribe()
    shop.run_due(months(13) + timedelta(days=1))
    invoices = shop.invoices()
    assert len(invoices) == 14
    assert tenure_taken(shop)[:14] == [0] * 12 + [50, 50]
    twelfth, thirteenth = invoices[11], invoices[12]
    assert twelfth.period_start == months(11)
    assert thirteenth.period_start == months(12)
    [line] = [ln for ln in thirteenth.lines if ln.kind is LineKind.TENURE_DISCOUNT]
    assert line.description == "Tenure discount after 12 months (5% off)"
    assert thirteenth.total == 950 == sum(ln.amount for ln in thirteenth.lines)
    assert shop.succeeded(thirteenth.id)[0].amount == 950


def test_the_second_step_replaces_the_first_from_its_own_month(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(months(24) + timedelta(days=1))
    taken = tenure_taken(shop)
    assert taken[11:13] == [0, 50] and taken[23:25] == [50, 100]


def test_the_step_is_announced_by_an_event_once_per_step(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(months(25) + timedelta(days=1))
    reached = [e for e in shop.repo.events if e["type"] == EventType.TENURE_DISCOUNT_REACHED]
    assert [(e["occurred_at"], e["data"]) for e in reached] == [
        ("2027-03-02T09:00:00Z", {"after_months": 12, "percent_off": "5"}),
        ("2028-03-02T09:00:00Z", {"after_months": 24, "percent_off": "10"}),
    ]


def test_a_pause_keeps_continuity_and_shifts_the_step_by_the_time_paused(shop: Shop) -> None:
    shop.subscribe()
    # Paused 10 days from late in the fourth period: periods then start on the 7th.
    shop.run_due(months(3) + timedelta(days=25))
    subscriptions.pause(shop.svc, "sub-1", shop.clock.now() + timedelta(days=10))
    shop.run_due(months(13) + timedelta(days=10))
    assert shop.sub().paused_seconds == 10 * 24 * 3600
    # 12 months after the start is 2027-03-02; with the 10 days paused, 2027-03-12. The
    # period of 2027-03-07 starts between the two: it is not yet discounted, the next one is.
    between = shop.invoice_starting(datetime(2027, 3, 7, 9, tzinfo=UTC))
    after = shop.invoice_starting(datetime(2027, 4, 7, 9, tzinfo=UTC))
    assert not [ln for ln in between.lines if ln.kind is LineKind.TENURE_DISCOUNT]
    assert [ln.amount for ln in after.lines if ln.kind is LineKind.TENURE_DISCOUNT] == [-50]


def test_a_subscription_that_has_not_reached_a_step_pays_full_price(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(months(11) + timedelta(days=1))
    assert tenure_taken(shop) == [0] * 12


def test_programs_without_a_ladder_never_give_a_tenure_line(shop: Shop) -> None:
    shop.set_programs({})
    shop.subscribe()
    shop.run_due(months(13) + timedelta(days=1))
    assert set(tenure_taken(shop)) == {0}


def add_forever_coupon(shop: Shop, percent: int) -> None:
    coupon = Coupon(
        id="c",
        terms=DiscountTerms(percent_off=Decimal(percent)),
        duration=CouponDuration.FOREVER,
        created_at=T0,
    )
    coupons.create_coupon(shop.svc, coupon)


@pytest.mark.parametrize(
    ("coupon_percent", "combine", "coupon_off", "tenure_off"),
    [
        (3, "larger_wins", 0, 50),  # the tenure discount is larger
        (8, "larger_wins", 80, 0),  # the coupon is larger
        (3, "stack", 30, 50),
    ],
)
def test_a_coupon_and_the_tenure_discount_combine_as_the_programs_say(
    shop: Shop, coupon_percent: int, combine: str, coupon_off: int, tenure_off: int
) -> None:
    shop.set_programs(LADDER | {"combine_discounts": combine})
    add_forever_coupon(shop, coupon_percent)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="c")
    shop.run_due(months(12) + timedelta(days=1))
    thirteenth = shop.invoices()[12]
    by_kind = {ln.kind: -ln.amount for ln in thirteenth.lines if ln.amount < 0}
    assert by_kind.get(LineKind.COUPON, 0) == coupon_off
    assert by_kind.get(LineKind.TENURE_DISCOUNT, 0) == tenure_off
    assert thirteenth.total == 1000 - coupon_off - tenure_off
    # MRR counts the period as its invoice priced it
    assert shop.sub().mrr == 1000 - coupon_off - tenure_off


def test_mrr_counts_the_tenure_discount_from_the_period_it_applies(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(months(11) + timedelta(days=1))
    assert shop.sub().mrr == 1000
    shop.run_due(months(12) + timedelta(days=1))
    assert shop.sub().mrr == 950


def test_ending_a_subscription_ends_its_continuity(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(months(2))
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=False, reason="other")
    assert shop.sub().continuity_start is None


def test_the_first_paid_period_after_a_trial_starts_continuity(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.set_programs(LADDER)
    shop.subscribe("basic-trial")
    trial_end = T0 + timedelta(days=14)
    shop.run_due(trial_end + timedelta(hours=1))
    assert shop.sub().continuity_start == trial_end
    shop.run_due(months(12, trial_end) + timedelta(hours=1))
    assert tenure_taken(shop)[-2:] == [0, 50]
    assert datetime(2027, 3, 16, 9, tzinfo=UTC) == months(12, trial_end)
