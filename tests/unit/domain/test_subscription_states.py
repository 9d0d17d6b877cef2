"""The subscription state machine: every command from every state, periods, events, MRR."""

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any

import pytest

from tenure.domain.discounts import Discount, DiscountTerms
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.plans import IntroPhase, Plan
from tenure.domain.pricing import Items
from tenure.domain.subscription import (
    ALLOWED,
    DueKind,
    Subscription,
    SubscriptionStatus,
)

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
APR_1 = datetime(2026, 4, 1, tzinfo=UTC)
APR_16 = datetime(2026, 4, 16, tzinfo=UTC)  # exactly halfway through April's 30 days
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)
MAY_10 = datetime(2026, 5, 10, tzinfo=UTC)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def a_plan(**overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "id": "basic",
        "name": "Basic",
        "amount": 1000,
        "currency": "USD",
        "interval": "month",
    }
    fields.update(overrides)
    return Plan(**fields)


BASIC = a_plan()
BASIC_TRIAL = a_plan(trial_days=14)
PRO = a_plan(id="pro", name="Pro", amount=2000)


def a_subscription(
    plan: Plan = BASIC, now: datetime = JAN_31, sub_id: str = "sub-1"
) -> Subscription:
    return Subscription.subscribe(sub_id, "alice", plan, now)


def an_active_subscription(plan: Plan = BASIC, now: datetime = JAN_31) -> Subscription:
    sub = a_subscription(plan, now)
    sub.activate(plan, now)
    return sub


# --- the transition table, tested against behaviour -----------------------------------------

STARTED = JAN_31
PAUSED_AT = STARTED + timedelta(days=2)
COMMAND_AT = STARTED + timedelta(days=5)  # inside the first period and inside the trial


def in_status(status: SubscriptionStatus) -> Subscription:
    """A subscription brought to `status` through the commands that lead there."""
    if status is SubscriptionStatus.TRIALING:
        return a_subscription(BASIC_TRIAL, STARTED)
    sub = a_subscription(BASIC, STARTED)
    if status is SubscriptionStatus.INCOMPLETE:
        return sub
    if status is SubscriptionStatus.CANCELED:
        sub.cancel(BASIC, STARTED, at_period_end=False, reason="changed_mind")
        return sub
    sub.activate(BASIC, STARTED)
    if status is SubscriptionStatus.PAUSED:
        sub.pause(BASIC, PAUSED_AT, until=None)
    elif status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        sub.mark_past_due(BASIC, STARTED)
    if status is SubscriptionStatus.UNPAID:
        sub.mark_unpaid(BASIC, STARTED, declines=["insufficient_funds"])
    assert sub.status is status
    return sub


COMMANDS: dict[str, Callable[[Subscription], object]] = {
    "renew": lambda sub: sub.renew(BASIC, sub.current_period_end),
    "pause": lambda sub: sub.pause(BASIC, COMMAND_AT, until=None),
    "resume": lambda sub: sub.resume(BASIC, COMMAND_AT),
    "cancel_now": lambda sub: sub.cancel(BASIC, COMMAND_AT, at_period_end=False, reason="r"),
    "cancel_at_period_end": lambda sub: sub.cancel(
        BASIC, COMMAND_AT, at_period_end=True, reason="r"
    ),
    "change_plan": lambda sub: sub.change_plan(BASIC, PRO, COMMAND_AT),
    "change_items": lambda sub: sub.change_items(BASIC, PRO, Items(2), COMMAND_AT),
    "activate": lambda sub: sub.activate(BASIC, COMMAND_AT),
    "mark_past_due": lambda sub: sub.mark_past_due(BASIC, COMMAND_AT),
    "reactivate_after_collections": lambda sub: sub.reactivate_after_collections(BASIC, COMMAND_AT),
    "mark_unpaid": lambda sub: sub.mark_unpaid(BASIC, COMMAND_AT, declines=[]),
    "cancel_for_nonpayment": lambda sub: sub.cancel_for_nonpayment(BASIC, COMMAND_AT, []),
    "expire": lambda sub: sub.expire(BASIC, COMMAND_AT),
    "apply_discount": lambda sub: sub.apply_discount(
        Discount(
            coupon_id="c",
            name="c",
            terms=DiscountTerms(percent_off=Decimal(10)),
            periods_left=1,
            starts=COMMAND_AT,
        ),
        COMMAND_AT,
    ),
    "redeem_points": lambda sub: sub.take_points(5, COMMAND_AT),
    "extend_trial": lambda sub: sub.extend_trial(COMMAND_AT + timedelta(days=30), COMMAND_AT),
    "move_renewal": lambda sub: sub.move_renewal(COMMAND_AT + timedelta(days=3), COMMAND_AT),
    "adjust_credit": lambda sub: sub.adjust_credit(100, COMMAND_AT),
}

# The documented outcome of each legal command: from-state -> to-state.
DOCUMENTED: dict[str, dict[SubscriptionStatus, SubscriptionStatus]] = {
    # Operator actions (docs/operations.md): none changes the state.
    "extend_trial": {SubscriptionStatus.TRIALING: SubscriptionStatus.TRIALING},
    "move_renewal": {
        SubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    },
    "adjust_credit": {s: s for s in SubscriptionStatus if s is not SubscriptionStatus.CANCELED},
    "renew": {
        SubscriptionStatus.TRIALING: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    },
    "pause": {SubscriptionStatus.ACTIVE: SubscriptionStatus.PAUSED},
    "resume": {SubscriptionStatus.PAUSED: SubscriptionStatus.ACTIVE},
    "cancel_now": {
        s: SubscriptionStatus.CANCELED
        for s in SubscriptionStatus
        if s is not SubscriptionStatus.CANCELED
    },
    "cancel_at_period_end": {
        SubscriptionStatus.TRIALING: SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    },
    "change_plan": {
        SubscriptionStatus.TRIALING: SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    },
    # Seats and add-ons change the price, never the state.
    "change_items": {
        SubscriptionStatus.TRIALING: SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    },
    "activate": {
        SubscriptionStatus.INCOMPLETE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.UNPAID: SubscriptionStatus.ACTIVE,
        SubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
    },
    "reactivate_after_collections": {SubscriptionStatus.UNPAID: SubscriptionStatus.ACTIVE},
    "mark_past_due": {
        SubscriptionStatus.ACTIVE: SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    },
    "mark_unpaid": {
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.UNPAID,
        SubscriptionStatus.UNPAID: SubscriptionStatus.UNPAID,
    },
    "cancel_for_nonpayment": {
        SubscriptionStatus.PAST_DUE: SubscriptionStatus.CANCELED,
        SubscriptionStatus.UNPAID: SubscriptionStatus.CANCELED,
        SubscriptionStatus.TRIALING: SubscriptionStatus.CANCELED,
        SubscriptionStatus.ACTIVE: SubscriptionStatus.CANCELED,
    },
    "expire": {SubscriptionStatus.INCOMPLETE: SubscriptionStatus.CANCELED},
    # A coupon changes no state: it waits for the next period invoice.
    "apply_discount": {
        s: s
        for s in SubscriptionStatus
        if s not in (SubscriptionStatus.UNPAID, SubscriptionStatus.CANCELED)
    },
    # Points wait for a next period invoice: only a subscription that will have one.
    "redeem_points": {
        s: s
        for s in (
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        )
    },
}


def test_the_transition_table_has_exactly_the_commands_this_suite_drives() -> None:
    assert set(ALLOWED) == set(COMMANDS) == set(DOCUMENTED)


@pytest.mark.parametrize("command", sorted(ALLOWED))
def test_the_transition_table_allows_exactly_the_documented_starting_states(command: str) -> None:
    assert ALLOWED[command] == set(DOCUMENTED[command])


@pytest.mark.parametrize(
    ("command", "status"), list(product(sorted(ALLOWED), list(SubscriptionStatus)))
)
def test_every_command_from_every_state_follows_the_transition_table(
    command: str, status: SubscriptionStatus
) -> None:
    sub = in_status(status)
    before = copy.deepcopy(sub)
    events_before = len(sub.events)

    if status in ALLOWED[command]:
        COMMANDS[command](sub)
        assert sub.status is DOCUMENTED[command][status]
        if sub != before:  # a real change, not an idempotent repeat
            assert len(sub.events) > events_before, "a state change must record an event"
    else:
        with pytest.raises(IllegalTransitionError) as refused:
            COMMANDS[command](sub)
        assert refused.value.command == command
        assert refused.value.status == status
        assert sub == before, "a refused command must change nothing"
        assert len(sub.events) == events_before


def test_activating_an_active_subscription_again_changes_nothing() -> None:
    sub = an_active_subscription()
    before, events = copy.deepcopy(sub), len(sub.events)

    sub.activate(BASIC, COMMAND_AT)

    assert sub == before
    assert len(sub.events) == events


# --- subscribe ------------------------------------------------------------------------------


def test_subscribing_without_a_trial_is_incomplete_for_one_interval_from_now() -> None:
    sub = a_subscription(BASIC, JAN_31)

    assert sub.status is SubscriptionStatus.INCOMPLETE
    assert (sub.current_period_start, sub.current_period_end) == (JAN_31, at(2026, 2, 28, 9))
    assert sub.trial_end is None
    assert sub.currency == "USD"
    assert [e.type for e in sub.events] == [EventType.SUBSCRIPTION_CREATED]


def test_subscribing_with_a_trial_is_trialing_until_the_trial_ends() -> None:
    sub = a_subscription(BASIC_TRIAL, JAN_31)

    assert sub.status is SubscriptionStatus.TRIALING
    assert sub.trial_end == JAN_31 + timedelta(days=14)
    assert (sub.current_period_start, sub.current_period_end) == (JAN_31, sub.trial_end)
    assert [e.type for e in sub.events] == [EventType.SUBSCRIPTION_CREATED, EventType.TRIAL_STARTED]


def test_subscribing_with_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        a_subscription(now=datetime(2026, 1, 31, 9))


# --- renew ----------------------------------------------------------------------------------


def test_renewing_one_second_before_the_period_ends_is_refused() -> None:
    sub = an_active_subscription()
    before = copy.deepcopy(sub)

    with pytest.raises(IllegalTransitionError, match="has not ended"):
        sub.renew(BASIC, sub.current_period_end - timedelta(seconds=1))

    assert sub == before


def test_renewing_at_the_period_end_keeps_the_month_end_anchor() -> None:
    sub = an_active_subscription(BASIC, JAN_31)
    ends = [sub.current_period_end]

    for _ in range(4):
        assert sub.renew(BASIC, sub.current_period_end) is True
        ends.append(sub.current_period_end)

    assert ends == [
        at(2026, 2, 28, 9),
        at(2026, 3, 31, 9),
        at(2026, 4, 30, 9),
        at(2026, 5, 31, 9),
        at(2026, 6, 30, 9),
    ]


def test_a_late_renewal_starts_the_new_period_where_the_old_one_ended() -> None:
    sub = an_active_subscription(BASIC, JAN_31)

    sub.renew(BASIC, at(2026, 3, 5))

    assert (sub.current_period_start, sub.current_period_end) == (
        at(2026, 2, 28, 9),
        at(2026, 3, 31, 9),
    )
    renewed = sub.events[-1]
    assert renewed.type is EventType.SUBSCRIPTION_RENEWED
    assert renewed.occurred_at == at(2026, 2, 28, 9)
    assert renewed.data == {
        "period_start": "2026-02-28T09:00:00Z",
        "period_end": "2026-03-31T09:00:00Z",
    }


def test_a_trial_that_ends_converts_to_active() -> None:
    sub = a_subscription(BASIC_TRIAL, JAN_31)
    trial_end = JAN_31 + timedelta(days=14)

    needs_invoice = sub.renew(BASIC_TRIAL, trial_end)

    assert needs_invoice is True
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.cycle == 0  # the first paid period
    assert (sub.current_period_start, sub.current_period_end) == (trial_end, at(2026, 3, 14, 9))
    activated = sub.events[-1]
    assert activated.type is EventType.SUBSCRIPTION_ACTIVATED
    assert activated.data == {"trial_converted": True}
    assert [(e.before, e.after) for e in sub.ledger] == [(0, 1000)]


def test_a_cancellation_at_period_end_takes_effect_at_the_renewal_with_its_reason() -> None:
    sub = an_active_subscription(BASIC, JAN_31)
    sub.cancel(BASIC, at(2026, 2, 10), at_period_end=True, reason="too_expensive")
    period_end = sub.current_period_end

    needs_invoice = sub.renew(BASIC, period_end)

    assert needs_invoice is False
    assert sub.status is SubscriptionStatus.CANCELED
    assert sub.canceled_at == period_end
    assert sub.cancel_reason == "too_expensive"
    assert sub.cancel_at_period_end is False
    assert sub.current_period_end == period_end, "a canceled subscription starts no new period"
    canceled = sub.events[-1]
    assert canceled.type is EventType.SUBSCRIPTION_CANCELED
    assert canceled.data == {"reason": "too_expensive", "voluntary": True}
    assert sub.next_due() is None


def test_scheduling_a_cancellation_keeps_the_subscription_active_until_the_period_ends() -> None:
    sub = an_active_subscription(BASIC, JAN_31)

    sub.cancel(BASIC, at(2026, 2, 10), at_period_end=True, reason="too_expensive")

    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.cancel_at_period_end is True
    scheduled = sub.events[-1]
    assert scheduled.type is EventType.CANCELLATION_SCHEDULED
    assert scheduled.data == {
        "cancel_at": "2026-02-28T09:00:00Z",
        "reason": "too_expensive",
        "currency": "USD",
    }


def test_scheduling_a_second_cancellation_is_refused() -> None:
    sub = an_active_subscription()
    sub.cancel(BASIC, at(2026, 2, 10), at_period_end=True, reason="too_expensive")

    with pytest.raises(IllegalTransitionError, match="already scheduled"):
        sub.cancel(BASIC, at(2026, 2, 11), at_period_end=True, reason="other")

    assert sub.cancel_reason == "too_expensive"


def test_resuming_withdraws_a_scheduled_cancellation() -> None:
    sub = an_active_subscription(BASIC, JAN_31)
    sub.cancel(BASIC, at(2026, 2, 10), at_period_end=True, reason="too_expensive")

    needs_invoice = sub.resume(BASIC, at(2026, 2, 12))

    assert needs_invoice is False
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.cancel_at_period_end is False
    assert sub.cancel_reason is None
    assert sub.events[-1].type is EventType.SUBSCRIPTION_RESUMED
    assert sub.events[-1].data == {"cancellation_withdrawn": True}
    assert sub.renew(BASIC, sub.current_period_end) is True
    assert sub.status is SubscriptionStatus.ACTIVE


def test_canceling_now_ends_the_subscription_at_once() -> None:
    sub = an_active_subscription(BASIC, JAN_31)

    sub.cancel(BASIC, at(2026, 2, 10), at_period_end=False, reason="fraud")

    assert sub.status is SubscriptionStatus.CANCELED
    assert sub.canceled_at == at(2026, 2, 10)
    assert sub.cancel_reason == "fraud"
    assert sub.next_due() is None


# --- pause and resume -----------------------------------------------------------------------


@pytest.mark.parametrize("until", [APR_16 - timedelta(days=1), APR_16], ids=["past", "now"])
def test_pausing_until_a_moment_that_is_not_in_the_future_is_refused(until: datetime) -> None:
    sub = an_active_subscription(BASIC, APR_1)
    before = copy.deepcopy(sub)

    with pytest.raises(ValidationFailedError) as refused:
        sub.pause(BASIC, APR_16, until=until)

    assert refused.value.field == "until"
    assert sub == before


def test_pausing_halfway_credits_the_unused_half_of_the_period() -> None:
    sub = an_active_subscription(BASIC, APR_1)

    sub.pause(BASIC, APR_16, until=MAY_10)

    assert sub.status is SubscriptionStatus.PAUSED
    assert sub.credit == 500
    assert (sub.paused_at, sub.paused_until) == (APR_16, MAY_10)
    paused = sub.events[-1]
    assert paused.type is EventType.SUBSCRIPTION_PAUSED
    assert paused.data == {"until": "2026-05-10T00:00:00Z", "credit": 500}


def test_resuming_a_pause_starts_a_new_period_at_the_resume_moment() -> None:
    sub = an_active_subscription(BASIC, APR_1)
    sub.pause(BASIC, APR_16, until=None)

    needs_invoice = sub.resume(BASIC, MAY_10)

    assert needs_invoice is True
    assert sub.status is SubscriptionStatus.ACTIVE
    assert (sub.current_period_start, sub.current_period_end) == (MAY_10, at(2026, 6, 10))
    assert (sub.paused_at, sub.paused_until) == (None, None)
    assert sub.credit == 500, "the credit waits for the resume invoice"
    assert sub.next_due() == (at(2026, 6, 10), DueKind.RENEWAL)


# --- next_due -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "due"),
    [
        (SubscriptionStatus.INCOMPLETE, None),
        (SubscriptionStatus.TRIALING, (STARTED + timedelta(days=14), DueKind.RENEWAL)),
        (SubscriptionStatus.ACTIVE, (at(2026, 2, 28, 9), DueKind.RENEWAL)),
        (SubscriptionStatus.PAST_DUE, (at(2026, 2, 28, 9), DueKind.RENEWAL)),
        (SubscriptionStatus.UNPAID, None),
        (SubscriptionStatus.PAUSED, None),  # paused with no end date
        (SubscriptionStatus.CANCELED, None),
    ],
)
def test_next_due_says_when_the_scheduler_must_look_again(
    status: SubscriptionStatus, due: tuple[datetime, DueKind] | None
) -> None:
    assert in_status(status).next_due() == due


def test_a_pause_with_an_end_is_due_when_it_ends() -> None:
    sub = an_active_subscription(BASIC, APR_1)
    sub.pause(BASIC, APR_16, until=MAY_10)

    assert sub.next_due() == (MAY_10, DueKind.PAUSE_END)


# --- events ---------------------------------------------------------------------------------


PAST_PARTICIPLE_ENDINGS = (
    "ed",
    "Paid",
    "Sent",
    "Chosen",
    "Written",
)  # regular, plus the irregular ones in use


def test_every_event_type_is_named_in_the_past_tense() -> None:
    def words(name: str) -> list[str]:
        return re.findall(r"[A-Z][a-z]*", name)

    not_past = [
        t.value
        for t in EventType
        if not any(w.endswith(PAST_PARTICIPLE_ENDINGS) for w in words(t.value))
    ]
    assert not_past == []


def a_lifecycle(sub_id: str = "sub-1") -> Subscription:
    """Subscribe, activate, renew, change plan, pause, resume, schedule a cancel, end."""
    sub = Subscription.subscribe(sub_id, "alice", BASIC, APR_1)
    sub.activate(BASIC, APR_1)
    sub.renew(BASIC, MAY_1)
    sub.change_plan(BASIC, PRO, at(2026, 5, 16))
    sub.pause(PRO, at(2026, 5, 20), until=at(2026, 6, 20))
    sub.resume(PRO, at(2026, 6, 20))
    sub.cancel(PRO, at(2026, 6, 25), at_period_end=True, reason="too_expensive")
    sub.renew(PRO, sub.current_period_end)
    return sub


def test_a_whole_lifecycle_records_one_past_tense_event_per_change_in_order() -> None:
    assert [e.type for e in a_lifecycle().events] == [
        EventType.SUBSCRIPTION_CREATED,
        EventType.SUBSCRIPTION_ACTIVATED,
        EventType.SUBSCRIPTION_RENEWED,
        EventType.PLAN_CHANGED,
        EventType.SUBSCRIPTION_PAUSED,
        EventType.SUBSCRIPTION_RESUMED,
        EventType.CANCELLATION_SCHEDULED,
        EventType.SUBSCRIPTION_CANCELED,
    ]


def test_the_same_lifecycle_twice_gives_the_same_event_ids() -> None:
    first = [e.id for e in a_lifecycle().events]
    second = [e.id for e in a_lifecycle().events]

    assert first == second
    assert len(set(first)) == len(first), "event ids are unique"


def test_a_different_subscription_gets_different_event_ids() -> None:
    ids = {e.id for e in a_lifecycle("sub-1").events}
    other = {e.id for e in a_lifecycle("sub-2").events}

    assert ids.isdisjoint(other)


def test_events_carry_the_subscription_and_customer_and_serialise_in_utc() -> None:
    event = a_subscription(BASIC, JAN_31).events[0]

    assert event.to_dict() == {
        "id": event.id,
        "type": "SubscriptionCreated",
        "occurred_at": "2026-01-31T09:00:00Z",
        "entity_id": "sub-1",
        "customer_id": "alice",
        "data": {"plan": "basic", "status": "incomplete"},
    }
    assert event.id.startswith("evt_")


def test_pulling_events_hands_them_over_once() -> None:
    sub = an_active_subscription()

    events, ledger = sub.pull_events()

    assert [e.type for e in events] == [
        EventType.SUBSCRIPTION_CREATED,
        EventType.SUBSCRIPTION_ACTIVATED,
    ]
    assert len(ledger) == 1
    assert sub.pull_events() == ([], [])


# --- MRR ledger -----------------------------------------------------------------------------


def ledger_of(sub: Subscription) -> list[tuple[int, int, str]]:
    return [(e.before, e.after, e.reason) for e in sub.ledger]


def test_activation_writes_the_monthly_value_to_the_ledger() -> None:
    sub = a_subscription(BASIC, APR_1)
    assert ledger_of(sub) == []

    sub.activate(BASIC, APR_1)

    assert ledger_of(sub) == [(0, 1000, EventType.SUBSCRIPTION_ACTIVATED)]
    assert sub.mrr == 1000
    assert sub.ledger[0].delta == 1000
    assert (sub.ledger[0].subscription_id, sub.ledger[0].customer_id) == ("sub-1", "alice")
    assert sub.ledger[0].at == APR_1


@pytest.mark.parametrize(
    ("change", "entry"),
    [
        (
            lambda sub: sub.cancel(BASIC, APR_16, at_period_end=False, reason=None),
            (1000, 0, EventType.SUBSCRIPTION_CANCELED),
        ),
        (
            lambda sub: sub.pause(BASIC, APR_16, until=None),
            (1000, 0, EventType.SUBSCRIPTION_PAUSED),
        ),
        (lambda sub: sub.change_plan(BASIC, PRO, APR_16), (1000, 2000, EventType.PLAN_CHANGED)),
    ],
    ids=["cancel-now", "pause", "plan-change"],
)
def test_a_change_of_monthly_value_writes_one_ledger_entry(
    change: Callable[[Subscription], object], entry: tuple[int, int, str]
) -> None:
    sub = an_active_subscription(BASIC, APR_1)
    sub.pull_events()

    change(sub)

    assert ledger_of(sub) == [entry]
    assert sub.mrr == entry[1]


def test_a_scheduled_cancellation_writes_its_ledger_entry_when_it_takes_effect() -> None:
    sub = an_active_subscription(BASIC, APR_1)
    sub.pull_events()

    sub.cancel(BASIC, APR_16, at_period_end=True, reason="too_expensive")
    assert ledger_of(sub) == []
    sub.renew(BASIC, MAY_1)

    assert ledger_of(sub) == [(1000, 0, EventType.SUBSCRIPTION_CANCELED)]
    assert sub.ledger[0].at == MAY_1


def test_resuming_a_pause_writes_the_value_back() -> None:
    sub = an_active_subscription(BASIC, APR_1)
    sub.pause(BASIC, APR_16, until=None)
    sub.pull_events()

    sub.resume(BASIC, MAY_10)

    assert ledger_of(sub) == [(0, 1000, EventType.SUBSCRIPTION_RESUMED)]


@pytest.mark.parametrize(
    "change",
    [
        lambda sub: sub.renew(BASIC, MAY_1),
        lambda sub: sub.mark_past_due(BASIC, APR_16),
        lambda sub: sub.cancel(BASIC, APR_16, at_period_end=True, reason="too_expensive"),
        lambda sub: sub.activate(BASIC, APR_16),
    ],
    ids=["renew-same-price", "past-due", "schedule-cancel", "activate-again"],
)
def test_a_change_that_keeps_the_monthly_value_writes_no_ledger_entry(
    change: Callable[[Subscription], object],
) -> None:
    sub = an_active_subscription(BASIC, APR_1)
    sub.pull_events()

    change(sub)

    assert sub.ledger == []
    assert sub.mrr == 1000


def test_nothing_in_a_trial_reaches_the_ledger() -> None:
    sub = a_subscription(BASIC_TRIAL, APR_1)

    sub.change_plan(BASIC_TRIAL, PRO, at(2026, 4, 5))
    sub.cancel(PRO, at(2026, 4, 6), at_period_end=False, reason=None)

    assert sub.ledger == []


def test_the_end_of_an_intro_phase_is_an_mrr_change() -> None:
    plan = a_plan(intro=[IntroPhase(periods=2, percent_off=Decimal(50))])
    sub = an_active_subscription(plan, APR_1)
    sub.pull_events()

    sub.renew(plan, sub.current_period_end)  # second intro period: same value
    assert sub.ledger == []
    sub.renew(plan, sub.current_period_end)  # first full-price period

    assert ledger_of(sub) == [(500, 1000, EventType.SUBSCRIPTION_RENEWED)]


def test_the_ledger_deltas_of_a_lifecycle_add_up_to_its_final_monthly_value() -> None:
    sub = a_lifecycle()

    assert sum(entry.delta for entry in sub.ledger) == sub.mrr == 0
    assert [(e.before, e.after) for e in sub.ledger] == [
        (0, 1000),  # activated
        (1000, 2000),  # upgraded
        (2000, 0),  # paused
        (0, 2000),  # resumed
        (2000, 0),  # canceled at period end
    ]


def test_a_first_payment_after_the_first_period_ended_starts_service_when_paid() -> None:
    sub = Subscription.subscribe("sub-late", "alice", BASIC, APR_1)
    paid_at = at(2026, 6, 10)
    sub.activate(BASIC, paid_at)
    assert sub.status is SubscriptionStatus.ACTIVE
    assert (sub.current_period_start, sub.current_period_end) == (paid_at, at(2026, 7, 10))


def test_a_first_payment_inside_the_first_period_keeps_the_original_period() -> None:
    sub = Subscription.subscribe("sub-ontime", "alice", BASIC, APR_1)
    sub.activate(BASIC, at(2026, 4, 3))
    assert (sub.current_period_start, sub.current_period_end) == (APR_1, MAY_1)
