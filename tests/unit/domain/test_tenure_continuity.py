"""Continuous paid time, as the tenure discount counts it: when it begins, what keeps it
(a pause, a late payment) and what loses it (becoming unpaid, ending)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tenure.domain.calendar import Interval, IntervalUnit, add_intervals
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs, TenureStep
from tenure.domain.subscription import Subscription, SubscriptionStatus

START = datetime(2026, 1, 31, 9, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")
LADDER = Programs(tenure_discount=[TenureStep(after_months=12, percent_off=Decimal(5))])


def months(n: int, start: datetime = START) -> datetime:
    return add_intervals(start, Interval(IntervalUnit.MONTH, 1), n)


def renewed_until(sub: Subscription, moment: datetime) -> None:
    while sub.current_period_end <= moment:
        sub.renew(BASIC, sub.current_period_end, LADDER)


def paying() -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, START)
    sub.activate(BASIC, START)
    return sub


def test_continuity_begins_with_the_first_paid_period() -> None:
    sub = paying()
    assert sub.continuity_start == START
    renewed_until(sub, months(12))
    assert sub.period_tenure is not None and sub.period_tenure.after_months == 12


def test_becoming_unpaid_loses_continuity_and_paying_again_restarts_it() -> None:
    sub = paying()
    renewed_until(sub, months(10))
    sub.mark_past_due(BASIC, months(10) + timedelta(days=1))
    assert sub.continuity_start == START  # past due: still continuous
    sub.mark_unpaid(BASIC, months(10) + timedelta(days=20), ["insufficient_funds"])
    assert sub.continuity_start is None
    back = months(10) + timedelta(days=25)
    sub.activate(BASIC, back)  # the debt was paid: continuity begins again
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.continuity_start == sub.current_period_start == months(10)
    renewed_until(sub, months(13))
    assert sub.period_tenure is None  # 12 months after the start would have earned it
    renewed_until(sub, months(22))
    assert sub.period_tenure is not None  # 12 months after continuity began again


def test_a_subscription_that_ends_loses_continuity() -> None:
    sub = paying()
    renewed_until(sub, months(5))
    sub.cancel(BASIC, months(5) + timedelta(days=3), at_period_end=False, reason="other")
    assert (sub.continuity_start, sub.paused_seconds) == (None, 0)


def test_time_paused_is_added_up_across_pauses() -> None:
    sub = paying()
    renewed_until(sub, months(2))
    first = months(2) + timedelta(days=3)
    sub.pause(BASIC, first, first + timedelta(days=4))
    sub.resume(BASIC, first + timedelta(days=4), LADDER)
    second = first + timedelta(days=40)
    sub.pause(BASIC, second, None)
    sub.resume(BASIC, second + timedelta(hours=36), LADDER)
    assert sub.continuity_start == START
    assert sub.paused_seconds == 4 * 86400 + 36 * 3600


def test_without_programs_no_period_earns_a_step() -> None:
    sub = paying()
    while sub.current_period_end <= months(14):
        sub.renew(BASIC, sub.current_period_end)
    assert sub.period_tenure is None
