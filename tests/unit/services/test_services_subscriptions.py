"""Subscription use cases on the in-memory fakes: one commit each, nothing half-written."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.events import EventType
from tenure.domain.invoices import InvoiceKind, InvoiceStatus, LineKind
from tenure.domain.plans import IntroPhase, Plan
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.ports import Commit
from tenure.services import catalog
from tenure.services import subscriptions as service
from tenure.services.context import Services

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
FEB_28 = datetime(2026, 2, 28, 9, tzinfo=UTC)
APR_1 = datetime(2026, 4, 1, tzinfo=UTC)
APR_16 = datetime(2026, 4, 16, tzinfo=UTC)
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)
MAY_10 = datetime(2026, 5, 10, tzinfo=UTC)


def a_plan(plan_id: str, amount: int = 1000, **overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "id": plan_id,
        "name": plan_id.title(),
        "amount": amount,
        "currency": "USD",
        "interval": "month",
    }
    fields.update(overrides)
    return Plan(**fields)


PLANS = (
    a_plan("basic"),
    a_plan("pro", 2000),
    a_plan("basic-trial", trial_days=14),
    a_plan("free", 0),
    a_plan("intro", intro=[IntroPhase(periods=3, percent_off=Decimal(50))]),
)


def a_shop(now: datetime = JAN_31) -> tuple[Services, InMemoryRepository, FixedClock]:
    """A repository holding customer alice and the PLANS, and a clock stopped at `now`."""
    repo, clock = InMemoryRepository(), FixedClock(now)
    svc = Services(repo, clock)
    catalog.create_customer(svc, "alice", "alice@example.com")
    for plan in PLANS:
        catalog.create_plan(svc, plan)
    return svc, repo, clock


def activate(svc: Services, sub_id: str) -> Subscription:
    """Stand-in for the payment path (not built yet): the first invoice got paid."""
    sub = service.get_subscription(svc, sub_id)
    sub.activate(catalog.get_plan(svc, sub.plan_id), svc.clock.now())
    change = Commit()
    change.add_subscription(sub)
    svc.repo.commit(change)
    return sub


def an_active_subscription(
    svc: Services, plan_id: str = "basic", sub_id: str = "sub-1"
) -> Subscription:
    service.subscribe(svc, sub_id, "alice", plan_id)
    return activate(svc, sub_id)


def written(repo: InMemoryRepository) -> tuple[int, int, int, int, int]:
    return (
        repo.commits,
        len(repo.subscriptions),
        len(repo.invoices),
        len(repo.events),
        len(repo.ledger),
    )


# --- subscribe ------------------------------------------------------------------------------


def test_subscribing_without_a_trial_creates_an_incomplete_subscription_and_its_first_invoice() -> (
    None
):
    svc, repo, _ = a_shop(JAN_31)

    outcome = service.subscribe(svc, "sub-1", "alice", "basic")

    assert outcome.subscription.status is SubscriptionStatus.INCOMPLETE
    invoice = outcome.invoice
    assert invoice is not None
    assert invoice.id == "in_sub-1_first_20260131T090000Z"
    assert invoice.kind is InvoiceKind.FIRST
    assert invoice.status is InvoiceStatus.OPEN
    assert (invoice.period_start, invoice.period_end) == (JAN_31, FEB_28)
    assert [(line.kind, line.amount) for line in invoice.lines] == [(LineKind.PLAN, 1000)]
    assert repo.get_invoice(invoice.id) == invoice
    assert repo.get_subscription("sub-1") == outcome.subscription
    assert [e["type"] for e in repo.events[-2:]] == ["SubscriptionCreated", "InvoiceCreated"]


def test_subscribing_with_a_trial_creates_no_invoice() -> None:
    svc, repo, _ = a_shop(JAN_31)

    outcome = service.subscribe(svc, "sub-1", "alice", "basic-trial")

    assert outcome.subscription.status is SubscriptionStatus.TRIALING
    assert outcome.invoice is None
    assert repo.invoices == {}


def test_subscribing_to_a_free_plan_activates_at_once_because_nothing_is_owed() -> None:
    svc, _repo, _ = a_shop(JAN_31)

    outcome = service.subscribe(svc, "sub-1", "alice", "free")

    assert outcome.invoice is not None
    assert outcome.invoice.status is InvoiceStatus.PAID
    assert outcome.subscription.status is SubscriptionStatus.ACTIVE, (
        "a paid first invoice must activate the subscription, or it stays incomplete forever"
    )
    assert outcome.subscription.next_due() is not None


@pytest.mark.parametrize(
    ("customer", "plan", "missing"),
    [("nobody", "basic", "customer"), ("alice", "no-such-plan", "plan")],
)
def test_subscribing_with_an_unknown_customer_or_plan_writes_nothing(
    customer: str, plan: str, missing: str
) -> None:
    svc, repo, _ = a_shop()
    before = written(repo)

    with pytest.raises(NotFoundError) as refused:
        service.subscribe(svc, "sub-1", customer, plan)

    assert refused.value.kind == missing
    assert written(repo) == before


def test_subscribing_twice_with_the_same_id_is_refused_and_writes_nothing() -> None:
    svc, repo, clock = a_shop()
    service.subscribe(svc, "sub-1", "alice", "basic")
    before = written(repo)
    clock.advance(timedelta(hours=1))

    with pytest.raises(AlreadyExistsError):
        service.subscribe(svc, "sub-1", "alice", "pro")

    assert written(repo) == before
    assert repo.get_subscription("sub-1").plan_id == "basic"  # type: ignore[union-attr]


# --- process_due ----------------------------------------------------------------------------


def test_process_due_does_nothing_when_nothing_is_due() -> None:
    svc, repo, clock = a_shop(JAN_31)
    an_active_subscription(svc)
    before = written(repo)
    clock.set(FEB_28 - timedelta(seconds=1))

    assert service.process_due(svc, "sub-1") is None
    assert written(repo) == before


def test_process_due_on_an_unknown_subscription_does_nothing() -> None:
    svc, repo, _clock = a_shop(JAN_31)
    before = written(repo)

    assert service.process_due(svc, "ghost") is None
    assert written(repo) == before


def test_process_due_renews_at_the_period_end_and_a_second_run_does_nothing() -> None:
    svc, repo, clock = a_shop(JAN_31)
    an_active_subscription(svc)
    clock.set(FEB_28)

    first = service.process_due(svc, "sub-1")
    after_first = written(repo)
    second = service.process_due(svc, "sub-1")

    assert first is not None and first.invoice is not None
    assert first.invoice.id == "in_sub-1_renewal_20260228T090000Z"
    assert first.invoice.kind is InvoiceKind.RENEWAL
    assert first.subscription.current_period_end == datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert second is None
    assert written(repo) == after_first


def test_process_due_converts_an_ended_trial_and_invoices_the_first_paid_period() -> None:
    svc, repo, clock = a_shop(JAN_31)
    service.subscribe(svc, "sub-1", "alice", "basic-trial")
    trial_end = JAN_31 + timedelta(days=14)
    clock.set(trial_end)

    outcome = service.process_due(svc, "sub-1")

    assert outcome is not None and outcome.invoice is not None
    assert outcome.subscription.status is SubscriptionStatus.ACTIVE
    assert outcome.invoice.kind is InvoiceKind.FIRST
    assert outcome.invoice.period_start == trial_end
    assert outcome.invoice.total == 1000
    assert [e.after for e in repo.ledger] == [1000]


def test_a_cancellation_at_period_end_ends_the_subscription_with_no_invoice() -> None:
    svc, repo, clock = a_shop(JAN_31)
    an_active_subscription(svc)
    clock.set(datetime(2026, 2, 10, tzinfo=UTC))
    service.cancel(svc, "sub-1", at_period_end=True, reason="too_expensive")
    invoices_before = dict(repo.invoices)
    clock.set(FEB_28)

    outcome = service.process_due(svc, "sub-1")

    assert outcome is not None
    assert outcome.invoice is None
    stored = repo.get_subscription("sub-1")
    assert stored is not None
    assert (stored.status, stored.cancel_reason, stored.canceled_at) == (
        SubscriptionStatus.CANCELED,
        "too_expensive",
        FEB_28,
    )
    assert repo.invoices == invoices_before
    assert service.process_due(svc, "sub-1") is None


def test_intro_pricing_bills_three_half_price_months_then_full_price() -> None:
    svc, repo, clock = a_shop(APR_1)
    first = service.subscribe(svc, "sub-1", "alice", "intro").invoice
    activate(svc, "sub-1")
    totals = [first.total if first else None]
    for _ in range(3):
        clock.set(repo.get_subscription("sub-1").current_period_end)  # type: ignore[union-attr]
        outcome = service.process_due(svc, "sub-1")
        totals.append(outcome.invoice.total if outcome and outcome.invoice else None)

    assert totals == [500, 500, 500, 1000]
    assert [(e.before, e.after) for e in repo.ledger] == [(0, 500), (500, 1000)]


# --- pause and resume -----------------------------------------------------------------------


def test_pause_then_resume_starts_a_new_period_and_uses_the_credit_for_the_unused_time() -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    paused = service.pause(svc, "sub-1", until=None)
    assert paused.subscription.credit == 500
    clock.set(MAY_10)

    outcome = service.resume(svc, "sub-1")

    sub, invoice = outcome.subscription, outcome.invoice
    assert sub.status is SubscriptionStatus.ACTIVE
    assert (sub.current_period_start, sub.current_period_end) == (
        MAY_10,
        datetime(2026, 6, 10, tzinfo=UTC),
    )
    assert invoice is not None
    assert (invoice.period_start, invoice.period_end) == (MAY_10, datetime(2026, 6, 10, tzinfo=UTC))
    assert [(line.kind, line.amount) for line in invoice.lines] == [
        (LineKind.PLAN, 1000),
        (LineKind.CREDIT, -500),
    ]
    assert invoice.total == 500
    assert invoice.credit_applied == 500
    assert repo.get_subscription("sub-1").credit == 0  # type: ignore[union-attr]


def test_a_pause_with_an_end_is_resumed_by_process_due_at_that_end() -> None:
    svc, _repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    service.pause(svc, "sub-1", until=MAY_10)
    clock.set(MAY_10 + timedelta(hours=3))  # the scheduler runs a little late

    outcome = service.process_due(svc, "sub-1")

    assert outcome is not None and outcome.invoice is not None
    assert outcome.subscription.current_period_start == MAY_10
    assert outcome.invoice.total == 500


@pytest.mark.parametrize("until", [APR_16, APR_16 - timedelta(days=1)], ids=["now", "past"])
def test_pausing_until_a_moment_that_is_not_in_the_future_writes_nothing(until: datetime) -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    before = written(repo)

    with pytest.raises(ValidationFailedError):
        service.pause(svc, "sub-1", until=until)

    assert written(repo) == before


def test_an_illegal_command_writes_nothing() -> None:
    svc, repo, _clock = a_shop(APR_1)
    service.subscribe(svc, "sub-1", "alice", "basic")  # incomplete: cannot be paused
    before = written(repo)

    with pytest.raises(IllegalTransitionError):
        service.pause(svc, "sub-1", until=None)

    assert written(repo) == before


@pytest.mark.parametrize(
    "use_case",
    [
        lambda svc: service.cancel(svc, "ghost", at_period_end=False, reason=None),
        lambda svc: service.pause(svc, "ghost", until=None),
        lambda svc: service.resume(svc, "ghost"),
        lambda svc: service.change_plan(svc, "ghost", "pro"),
        lambda svc: service.get_invoice(svc, "in_ghost"),
    ],
    ids=["cancel", "pause", "resume", "change_plan", "get_invoice"],
)
def test_an_unknown_id_is_not_found(use_case: Callable[[Services], object]) -> None:
    svc, repo, _ = a_shop()
    before = written(repo)

    with pytest.raises(NotFoundError):
        use_case(svc)

    assert written(repo) == before


# --- one commit per use case ----------------------------------------------------------------


USE_CASES: dict[str, Callable[[Services, FixedClock], object]] = {
    "subscribe": lambda svc, clock: service.subscribe(svc, "sub-2", "alice", "basic"),
    "cancel now": lambda svc, clock: service.cancel(svc, "sub-1", False, "fraud"),
    "cancel at period end": lambda svc, clock: service.cancel(svc, "sub-1", True, None),
    "pause": lambda svc, clock: service.pause(svc, "sub-1", until=MAY_10),
    "change plan": lambda svc, clock: service.change_plan(svc, "sub-1", "pro"),
    "process due": lambda svc, clock: (clock.set(MAY_1), service.process_due(svc, "sub-1")),
}


@pytest.mark.parametrize("name", list(USE_CASES))
def test_each_use_case_commits_exactly_once(name: str) -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    before = repo.commits

    USE_CASES[name](svc, clock)

    assert repo.commits == before + 1


def test_resume_commits_exactly_once() -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    service.pause(svc, "sub-1", until=None)
    before = repo.commits

    service.resume(svc, "sub-1")

    assert repo.commits == before + 1


def test_the_subscription_events_and_ledger_are_committed_with_the_change() -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)

    service.cancel(svc, "sub-1", at_period_end=False, reason="fraud")

    assert repo.events[-1]["type"] == str(EventType.SUBSCRIPTION_CANCELED)
    assert repo.events[-1]["data"] == {
        "reason": "fraud",
        "voluntary": True,
        "requested": True,
        "currency": "USD",
    }
    assert [(e.before, e.after) for e in repo.ledger] == [(0, 1000), (1000, 0)]
    stored = repo.subscriptions["sub-1"]
    assert (stored.events, stored.ledger) == ([], []), "stored entities carry no pending events"


# --- concurrency and determinism ------------------------------------------------------------


def test_committing_a_subscription_read_at_a_stale_version_is_refused() -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    plan = catalog.get_plan(svc, "basic")
    mine = service.get_subscription(svc, "sub-1")
    theirs = service.get_subscription(svc, "sub-1")

    theirs.pause(plan, APR_16, until=None)
    first = Commit()
    first.add_subscription(theirs)
    repo.commit(first)
    after_first = written(repo)

    mine.cancel(plan, APR_16, at_period_end=True, reason="too_expensive")
    second = Commit()
    second.add_subscription(mine)
    with pytest.raises(ConcurrencyError):
        repo.commit(second)

    assert written(repo) == after_first
    assert repo.get_subscription("sub-1").status is SubscriptionStatus.PAUSED  # type: ignore[union-attr]


def a_scenario() -> InMemoryRepository:
    """Subscribe, activate, upgrade, renew, pause, resume, cancel: always the same way."""
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription(svc)
    clock.set(APR_16)
    service.change_plan(svc, "sub-1", "pro")
    clock.set(MAY_1)
    service.process_due(svc, "sub-1")
    clock.set(datetime(2026, 5, 5, tzinfo=UTC))
    service.pause(svc, "sub-1", until=MAY_10)
    clock.set(MAY_10)
    service.process_due(svc, "sub-1")
    service.cancel(svc, "sub-1", at_period_end=True, reason="too_expensive")
    return repo


def test_the_same_scenario_twice_names_every_invoice_and_event_the_same() -> None:
    first, second = a_scenario(), a_scenario()

    assert sorted(first.invoices) == sorted(second.invoices)
    assert [e["id"] for e in first.events] == [e["id"] for e in second.events]
    assert sorted(first.invoices) == [
        "in_sub-1_first_20260401T000000Z",
        "in_sub-1_proration_20260416T000000Z_v2",
        "in_sub-1_renewal_20260501T000000Z",
        "in_sub-1_renewal_20260510T000000Z",
    ]
    assert len({e["id"] for e in first.events}) == len(first.events)


@pytest.mark.parametrize(
    ("plan", "charged", "credit"),
    [("pro", 500, 0), ("yearly", 11500, 0), ("cheap", 0, 300)],
    ids=["upgrade", "to a yearly plan", "downgrade"],
)
def test_a_plan_change_preview_is_what_the_change_then_does_and_writes_nothing(
    plan: str, charged: int, credit: int
) -> None:
    svc, repo, clock = a_shop(APR_1)
    catalog.create_plan(svc, a_plan("yearly", 12000, interval="year"))
    catalog.create_plan(svc, a_plan("cheap", 400))
    an_active_subscription(svc)
    clock.set(APR_16)
    before = written(repo)

    shown = service.preview_plan_change(svc, "sub-1", plan)

    assert written(repo) == before
    assert (shown.charged_now, shown.credit) == (charged, credit)
    done = service.change_plan(svc, "sub-1", plan)
    made = done.invoice.total if done.invoice is not None else 0
    assert (made, done.subscription.credit) == (charged, credit)
    assert done.subscription.current_period_end == shown.next_invoice_at


def test_a_plan_change_preview_is_refused_as_the_change_would_be() -> None:
    svc, repo, _ = a_shop(APR_1)
    an_active_subscription(svc)
    before = written(repo)
    with pytest.raises(ValidationFailedError, match="already on this plan"):
        service.preview_plan_change(svc, "sub-1", "basic")
    assert written(repo) == before

    service.cancel(svc, "sub-1", at_period_end=False, reason="other")
    before = written(repo)
    with pytest.raises(IllegalTransitionError):
        service.preview_plan_change(svc, "sub-1", "pro")
    assert written(repo) == before
