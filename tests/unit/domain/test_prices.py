"""Price changes: which price a period pays, and how much notice a subscriber gets first."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.calendar import add_intervals
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.plans import Plan, PlanKind, Tier
from tenure.domain.prices import PriceChange, PriceStep, check_price_change, unit_amount_at
from tenure.domain.pricing import Item, Items
from tenure.domain.subscription import Subscription
from tenure.notify.timing import QuietHours, next_slot

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
BASIC = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")


def change(
    amount: int = 1200,
    effective_at: datetime = T0 + timedelta(days=40),
    notice_days: int = 30,
    grandfather: bool = False,
    n: int = 1,
) -> PriceChange:
    return PriceChange(f"basic:pc{n}", amount, effective_at, notice_days, grandfather, T0)


def with_changes(plan: Plan, *changes: PriceChange) -> Plan:
    return Plan(
        id=plan.id,
        name=plan.name,
        amount=plan.amount,
        currency=plan.currency,
        interval=plan.interval,
        interval_count=plan.interval_count,
        price_changes=changes,
    )


def active(plan: Plan, at: datetime) -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", plan, at)
    sub.activate(plan, at)
    sub.pull_events()
    return sub


def test_a_subscriber_who_joins_after_a_change_took_effect_pays_it_from_the_start() -> None:
    pc = change()
    joined = pc.effective_at + timedelta(days=1)
    assert unit_amount_at(1000, [pc], joined, [], joined) == 1200


def test_an_earlier_subscriber_pays_the_old_price_until_its_own_first_period_at_the_new() -> None:
    pc = change()
    starts = pc.effective_at + timedelta(days=5)
    steps = [PriceStep(pc.id, starts)]
    assert unit_amount_at(1000, [pc], T0, steps, starts - timedelta(seconds=1)) == 1000
    assert unit_amount_at(1000, [pc], T0, steps, starts) == 1200


def test_an_earlier_subscriber_that_has_not_noted_a_change_keeps_its_price() -> None:
    pc = change()
    assert unit_amount_at(1000, [pc], T0, [], pc.effective_at + timedelta(days=400)) == 1000


def test_a_grandfathered_subscriber_keeps_its_price_for_good() -> None:
    plan = with_changes(BASIC, change(grandfather=True))
    sub = active(plan, T0)
    sub.note_price_changes(plan, T0 + timedelta(days=1), T0 + timedelta(days=1))
    assert sub.price_steps == (PriceStep("basic:pc1", None),)
    assert not sub.events  # nothing to tell: no email is owed
    assert sub.plan_at(plan, T0 + timedelta(days=3000)).amount == 1000


def test_a_later_change_without_grandfathering_still_reaches_a_grandfathered_subscriber() -> None:
    kept = change(grandfather=True)
    raised = change(amount=1500, effective_at=T0 + timedelta(days=100), n=2)
    plan = with_changes(BASIC, kept, raised)
    sub = active(plan, T0)
    noted_at = T0 + timedelta(days=1)
    sub.note_price_changes(plan, noted_at, noted_at)
    [step] = [s for s in sub.price_steps if s.starts is not None]
    assert sub.plan_at(plan, step.starts - timedelta(seconds=1)).amount == 1000
    assert sub.plan_at(plan, step.starts).amount == 1500
    [event] = sub.events
    assert event.type is EventType.PRICE_CHANGE_NOTED
    assert (event.data["old_amount"], event.data["amount"]) == (1000, 1500)


def test_noting_the_same_change_twice_records_it_once() -> None:
    plan = with_changes(BASIC, change())
    sub = active(plan, T0)
    sub.note_price_changes(plan, T0, T0)
    sub.note_price_changes(plan, T0 + timedelta(days=2), T0 + timedelta(days=2))
    assert len(sub.price_steps) == 1 and len(sub.events) == 1


def test_a_plan_without_changes_prices_every_period_as_it_always_did() -> None:
    sub = active(BASIC, T0)
    assert sub.plan_at(BASIC, T0 + timedelta(days=500)) is BASIC


@pytest.mark.parametrize(
    ("amount", "effective_at", "notice_days", "field"),
    [
        (0, T0 + timedelta(days=40), 30, "amount"),
        (-5, T0 + timedelta(days=40), 30, "amount"),
        (1200, T0 - timedelta(seconds=1), 30, "effective_at"),
        (1200, T0 + timedelta(days=40), 29, "notice_days"),
        (1200, T0 + timedelta(days=40), 400, "notice_days"),
        (1200, T0 + timedelta(days=800), 30, "effective_at"),
        (1200, datetime(2026, 5, 1), 30, "effective_at"),  # no offset: ambiguous
    ],
)
def test_a_change_tenure_cannot_honour_is_refused_naming_its_field(
    amount: int, effective_at: datetime, notice_days: int, field: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        check_price_change(amount, effective_at, notice_days, T0)
    assert refused.value.field == field


def test_a_business_may_ask_for_a_longer_minimum_notice() -> None:
    with pytest.raises(ValidationFailedError):
        check_price_change(1200, T0 + timedelta(days=90), 45, T0, min_notice_days=60)
    check_price_change(1200, T0 + timedelta(days=90), 60, T0, min_notice_days=60)


ZONES = ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kathmandu"]
INTERVALS = [("day", 7), ("week", 1), ("month", 1), ("month", 3), ("year", 1)]


@settings(max_examples=300, deadline=None)
@given(
    anchor_offset=st.integers(min_value=1, max_value=400 * 24 * 3600),
    effective_in=st.integers(min_value=0, max_value=700 * 24 * 3600),
    notice_days=st.integers(min_value=30, max_value=120),
    interval=st.sampled_from(INTERVALS),
    zone=st.sampled_from(ZONES),
    noticed_after=st.integers(min_value=0, max_value=40 * 24 * 3600),
)
def test_the_price_change_email_precedes_the_first_higher_charge_by_the_notice(
    anchor_offset: int,
    effective_in: int,
    notice_days: int,
    interval: tuple[str, int],
    zone: str,
    noticed_after: int,
) -> None:
    unit, count = interval
    plan = Plan(id="basic", amount=1000, currency="USD", interval=unit, interval_count=count)
    subscribed = T0 - timedelta(seconds=anchor_offset)  # there before the announcement
    sub = active(plan, subscribed)
    announced = T0
    pc = PriceChange(
        "basic:pc1",
        1300,
        announced + timedelta(seconds=effective_in),
        notice_days,
        False,
        announced,
    )
    plan = with_changes(plan, pc)
    # The subscription notes the change when its due work next runs; its email goes out at
    # the first hour the customer's quiet hours allow.
    noted = announced + timedelta(seconds=noticed_after)
    while sub.current_period_end <= noted:
        sub.renew(sub.plan_at(plan, sub.current_period_end), sub.current_period_end)
    email_at = next_slot(noted, zone, QuietHours())
    sub.note_price_changes(plan, noted, email_at)

    first_higher = None
    for _ in range(400):
        start = sub.current_period_end
        charged = sub.plan_at(plan, start).amount
        sub.renew(sub.plan_at(plan, start), start)
        if charged == 1300:
            first_higher = start
            break
    assert first_higher is not None, "the new price never applied"
    assert first_higher - email_at >= timedelta(days=notice_days)
    assert first_higher >= pc.effective_at
    assert email_at < first_higher


@settings(max_examples=150, deadline=None)
@given(
    anchor_offset=st.integers(min_value=1, max_value=400 * 24 * 3600),
    effective_in=st.integers(min_value=0, max_value=400 * 24 * 3600),
    notice_days=st.integers(min_value=30, max_value=120),
    interval=st.sampled_from(INTERVALS),
    zone=st.sampled_from(ZONES),
    quantity=st.integers(min_value=1, max_value=30),
)
def test_an_addon_or_tier_change_also_comes_the_notice_before_its_first_charge(
    anchor_offset: int,
    effective_in: int,
    notice_days: int,
    interval: tuple[str, int],
    zone: str,
    quantity: int,
) -> None:
    """Noted at once (the run telling subscribers the day the change is made): the plan's new
    tier table and the add-on's new price both wait for the notice, counted from the email."""
    unit, count = interval
    shape = {"currency": "USD", "interval": unit, "interval_count": count}
    plan = Plan(id="seats", amount=0, tiers=(Tier(5, 1000), Tier(None, 800)), **shape)
    addon = Plan(id="backup", amount=200, kind=PlanKind.ADDON, **shape)
    sub = active(plan, T0 - timedelta(seconds=anchor_offset))
    sub.items = Items(quantity=quantity, addons=(Item("backup", 2),))
    effective = T0 + timedelta(seconds=effective_in)
    table = (Tier(5, 1100), Tier(None, 900))
    plan = replace(
        plan,
        price_changes=(PriceChange("seats:pc1", 0, effective, notice_days, False, T0, table),),
    )
    addon = replace(
        addon, price_changes=(PriceChange("backup:pc1", 250, effective, notice_days, False, T0),)
    )
    email_at = next_slot(T0, zone, QuietHours())
    sub.note_price_changes(plan, T0, email_at, [addon])

    # Period starts counted from the anchor, the first the one the subscription opens next.
    assert add_intervals(sub.anchor, plan.billing_interval, sub.cycle + 1) == sub.current_period_end

    def first_period(paid: Callable[[datetime], bool]) -> datetime:
        for n in range(500):
            start = add_intervals(sub.anchor, plan.billing_interval, sub.cycle + 1 + n)
            if paid(start):
                return start
        raise AssertionError("the new price never applied")

    for first in (
        first_period(lambda at: sub.plan_at(plan, at).tiers == table),
        first_period(lambda at: sub.addon_at(addon, at).amount == 250),
    ):
        assert first - email_at >= timedelta(days=notice_days)
        assert first >= effective


def test_the_price_change_email_quotes_what_all_the_subscribers_units_cost() -> None:
    plan = with_changes(BASIC, change(amount=1200))
    sub = active(plan, T0)
    sub.items = Items(quantity=3)
    sub.note_price_changes(plan, T0, T0)
    [event] = sub.events
    # 3 seats at 10.00 a seat, then 3 at 12.00: what the period costs, not one seat.
    assert (event.data["old_amount"], event.data["amount"]) == (3 * 1000, 3 * 1200)


def test_the_price_change_email_quotes_the_items_scheduled_for_the_new_price() -> None:
    shape = {"currency": "USD", "interval": "month"}
    plan = Plan(id="seats", amount=0, tiers=(Tier(5, 1000, 300), Tier(None, 800)), **shape)
    addon = Plan(id="backup", amount=200, kind=PlanKind.ADDON, **shape)
    sub = active(plan, T0)
    sub.items = Items(quantity=7, addons=(Item("backup", 4),))
    # Down to 6 seats and 2 backups when this period ends, before any new price applies.
    sub.scheduled_items = Items(quantity=6, addons=(Item("backup", 2),))
    effective = T0 + timedelta(days=40)
    table = (Tier(5, 1100, 300), Tier(None, 900))
    plan = replace(
        plan, price_changes=(PriceChange("seats:pc1", 0, effective, 30, False, T0, table),)
    )
    addon = replace(
        addon, price_changes=(PriceChange("backup:pc1", 250, effective, 30, False, T0),)
    )
    sub.note_price_changes(plan, T0, T0, [addon])
    seats, backups = (e.data for e in sub.events)
    # 6 seats: 3.00 + 5 × 10.00 + 1 × 8.00 before, 3.00 + 5 × 11.00 + 1 × 9.00 after.
    assert (seats["old_amount"], seats["amount"]) == (300 + 5 * 1000 + 800, 300 + 5 * 1100 + 900)
    assert (backups["old_amount"], backups["amount"]) == (2 * 200, 2 * 250)
