"""Proration by time, to the second: upgrades invoiced at once, downgrades kept as credit."""

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.invoices import InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.plans import Plan, TaxBehavior
from tenure.domain.subscription import DueKind, Subscription, SubscriptionStatus
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.ports import Commit
from tenure.services import catalog
from tenure.services import subscriptions as service
from tenure.services.context import Services

APR_1 = datetime(2026, 4, 1, tzinfo=UTC)  # April has 30 days: 2,592,000 seconds
APR_16 = datetime(2026, 4, 16, tzinfo=UTC)  # exactly halfway
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)
SECONDS_IN_APRIL = 30 * 86_400


def a_plan(plan_id: str, amount: int, **overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "id": plan_id,
        "name": plan_id.title(),
        "amount": amount,
        "currency": "USD",
        "interval": "month",
    }
    fields.update(overrides)
    return Plan(**fields)


BASIC = a_plan("basic", 1000)  # $10/month
PRO = a_plan("pro", 2000)  # $20/month
PRO_YEAR = a_plan("pro-year", 10_000, interval="year")
BASIC_EUR = a_plan("basic-eur", 1000, currency="EUR")


def an_active_subscription(plan: Plan = BASIC, start: datetime = APR_1) -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", plan, start)
    sub.activate(plan, start)
    sub.pull_events()
    return sub


def amounts(lines: list[InvoiceLine]) -> list[tuple[LineKind, int]]:
    return [(line.kind, line.amount) for line in lines]


# --- the domain -----------------------------------------------------------------------------


def test_upgrading_halfway_through_a_30_day_period_prorates_to_plus_500() -> None:
    sub = an_active_subscription(BASIC, APR_1)

    proration = sub.change_plan(BASIC, PRO, APR_16)

    assert proration is not None
    assert proration.lines == [
        InvoiceLine(LineKind.PRORATION, "Unused time on Basic", -500),
        InvoiceLine(LineKind.PRORATION, "Remaining time on Pro", 1000),
    ]
    assert proration.total == 500
    assert (proration.period_start, proration.period_end) == (APR_16, MAY_1)
    assert proration.credit_granted == 0
    assert sub.plan_id == "pro"
    assert (sub.current_period_start, sub.current_period_end) == (APR_1, MAY_1)
    assert sub.credit == 0


def test_a_plan_change_records_the_change_and_its_net_amount() -> None:
    sub = an_active_subscription(BASIC, APR_1)

    sub.change_plan(BASIC, PRO, APR_16)

    changed = sub.events[-1]
    assert changed.type is EventType.PLAN_CHANGED
    assert changed.occurred_at == APR_16
    assert changed.data == {"from_plan": "basic", "to_plan": "pro", "net": 500}


def test_proration_counts_to_the_second_and_rounds_each_line_half_up() -> None:
    # Prices chosen so one second of April is worth 0.5 and 1.5 minor units.
    cheap = a_plan("cheap", SECONDS_IN_APRIL // 2)
    dear = a_plan("dear", 3 * SECONDS_IN_APRIL // 2)
    sub = an_active_subscription(cheap, APR_1)

    proration = sub.change_plan(cheap, dear, MAY_1 - timedelta(seconds=1))

    assert proration is not None
    assert amounts(proration.lines) == [(LineKind.PRORATION, -1), (LineKind.PRORATION, 2)]
    assert proration.total == 1
    assert proration.period_start == MAY_1 - timedelta(seconds=1)


def test_proration_two_seconds_before_the_end_is_exact() -> None:
    cheap = a_plan("cheap", SECONDS_IN_APRIL // 2)
    dear = a_plan("dear", 3 * SECONDS_IN_APRIL // 2)
    sub = an_active_subscription(cheap, APR_1)

    proration = sub.change_plan(cheap, dear, MAY_1 - timedelta(seconds=2))

    assert proration is not None
    assert amounts(proration.lines) == [(LineKind.PRORATION, -1), (LineKind.PRORATION, 3)]


@given(seconds_in=st.integers(0, SECONDS_IN_APRIL))
def test_a_change_and_its_reversal_at_the_same_moment_cancel_out(seconds_in: int) -> None:
    sub = an_active_subscription(BASIC, APR_1)
    moment = APR_1 + timedelta(seconds=seconds_in)

    up = sub.change_plan(BASIC, PRO, moment)
    down = sub.change_plan(PRO, BASIC, moment)

    assert up is not None and down is not None
    assert up.total + down.total - down.credit_granted == 0
    assert sub.credit == down.credit_granted == up.total


@given(seconds_in=st.integers(0, SECONDS_IN_APRIL))
def test_the_unused_credit_shrinks_from_the_full_price_to_nothing_over_the_period(
    seconds_in: int,
) -> None:
    sub = an_active_subscription(BASIC, APR_1)

    proration = sub.change_plan(BASIC, PRO, APR_1 + timedelta(seconds=seconds_in))

    assert proration is not None
    unused = -proration.lines[0].amount
    remaining = proration.lines[1].amount
    assert 0 <= unused <= 1000
    assert 0 <= remaining <= 2000
    if seconds_in == 0:
        assert (unused, remaining) == (1000, 2000)
    if seconds_in == SECONDS_IN_APRIL:
        assert (unused, remaining) == (0, 0)


def test_downgrading_halfway_grants_500_of_credit_and_nothing_to_invoice() -> None:
    sub = an_active_subscription(PRO, APR_1)

    proration = sub.change_plan(PRO, BASIC, APR_16)

    assert proration is not None
    assert amounts(proration.lines) == [
        (LineKind.PRORATION, -1000),
        (LineKind.PRORATION, 500),
        (LineKind.CREDIT, 500),
    ]
    assert proration.total == 0
    assert proration.credit_granted == 500
    assert sub.credit == 500
    assert [e.type for e in sub.events] == [EventType.CREDIT_GRANTED, EventType.PLAN_CHANGED]


def test_changing_to_a_yearly_plan_restarts_the_period_now() -> None:
    sub = an_active_subscription(BASIC, APR_1)

    proration = sub.change_plan(BASIC, PRO_YEAR, APR_16)

    assert proration is not None
    assert amounts(proration.lines) == [(LineKind.PRORATION, -500), (LineKind.PLAN, 10_000)]
    assert proration.total == 9_500
    next_year = datetime(2027, 4, 16, tzinfo=UTC)
    assert (proration.period_start, proration.period_end) == (APR_16, next_year)
    assert (sub.current_period_start, sub.current_period_end) == (APR_16, next_year)
    assert sub.next_due() == (next_year, DueKind.RENEWAL)


def test_changing_to_a_plan_in_another_currency_is_refused_and_changes_nothing() -> None:
    sub = an_active_subscription(BASIC, APR_1)
    before = copy.deepcopy(sub)

    with pytest.raises(ValidationFailedError) as refused:
        sub.change_plan(BASIC, BASIC_EUR, APR_16)

    assert refused.value.field == "plan"
    assert sub == before
    assert sub.events == []


def test_changing_to_the_plan_already_held_is_refused() -> None:
    sub = an_active_subscription(BASIC, APR_1)

    with pytest.raises(ValidationFailedError):
        sub.change_plan(BASIC, BASIC, APR_16)

    assert sub.events == []


def test_changing_plan_during_a_trial_switches_the_plan_without_proration() -> None:
    trial = a_plan("basic-trial", 1000, trial_days=14)
    sub = Subscription.subscribe("sub-1", "alice", trial, APR_1)
    trial_end = sub.current_period_end

    proration = sub.change_plan(trial, PRO, APR_1 + timedelta(days=3))

    assert proration is None
    assert sub.plan_id == "pro"
    assert sub.status is SubscriptionStatus.TRIALING
    assert sub.current_period_end == trial_end
    assert sub.credit == 0
    assert sub.events[-1].type is EventType.PLAN_CHANGED


@pytest.mark.parametrize("status", [SubscriptionStatus.INCOMPLETE, SubscriptionStatus.CANCELED])
def test_a_subscription_that_is_not_running_cannot_change_plan(status: SubscriptionStatus) -> None:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, APR_1)
    if status is SubscriptionStatus.CANCELED:
        sub.cancel(BASIC, APR_1, at_period_end=False, reason=None)

    with pytest.raises(IllegalTransitionError):
        sub.change_plan(BASIC, PRO, APR_16)


# --- through the services: what gets invoiced ----------------------------------------------


def a_shop(now: datetime = APR_1, *plans: Plan) -> tuple[Services, InMemoryRepository, FixedClock]:
    repo, clock = InMemoryRepository(), FixedClock(now)
    svc = Services(repo, clock)
    catalog.create_customer(svc, "alice", "alice@example.com")
    for plan in plans or (BASIC, PRO, PRO_YEAR, BASIC_EUR):
        catalog.create_plan(svc, plan)
    return svc, repo, clock


def an_active_subscription_in(svc: Services, plan_id: str, sub_id: str = "sub-1") -> Subscription:
    """Subscribe and mark the first invoice paid by activating (no payment path yet)."""
    service.subscribe(svc, sub_id, "alice", plan_id)
    sub = service.get_subscription(svc, sub_id)
    sub.activate(catalog.get_plan(svc, plan_id), svc.clock.now())
    change = Commit()
    change.add_subscription(sub)
    svc.repo.commit(change)
    return sub


def test_the_issue_oracle_an_upgrade_halfway_is_invoiced_at_once_for_plus_500() -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription_in(svc, "basic")
    clock.set(APR_16)

    outcome = service.change_plan(svc, "sub-1", "pro")

    invoice = outcome.invoice
    assert invoice is not None
    assert invoice.kind is InvoiceKind.PRORATION
    assert invoice.status is InvoiceStatus.OPEN
    assert amounts(invoice.lines) == [(LineKind.PRORATION, -500), (LineKind.PRORATION, 1000)]
    assert invoice.total == 500
    assert (invoice.period_start, invoice.period_end) == (APR_16, MAY_1)
    assert repo.get_invoice(invoice.id) == invoice
    assert repo.get_subscription("sub-1").plan_id == "pro"  # type: ignore[union-attr]


def test_a_downgrade_halfway_becomes_credit_that_the_next_renewal_uses() -> None:
    svc, repo, clock = a_shop(APR_1)
    an_active_subscription_in(svc, "pro")
    clock.set(APR_16)

    downgraded = service.change_plan(svc, "sub-1", "basic")

    assert downgraded.invoice is None
    assert downgraded.subscription.credit == 500

    clock.set(MAY_1)
    renewed = service.process_due(svc, "sub-1")

    assert renewed is not None and renewed.invoice is not None
    assert renewed.invoice.kind is InvoiceKind.RENEWAL
    assert amounts(renewed.invoice.lines) == [(LineKind.PLAN, 1000), (LineKind.CREDIT, -500)]
    assert renewed.invoice.total == 500
    assert renewed.invoice.credit_applied == 500
    assert repo.get_subscription("sub-1").credit == 0  # type: ignore[union-attr]


def test_a_change_to_a_yearly_plan_invoices_the_year_minus_the_unused_month() -> None:
    svc, _repo, clock = a_shop(APR_1)
    an_active_subscription_in(svc, "basic")
    clock.set(APR_16)

    outcome = service.change_plan(svc, "sub-1", "pro-year")

    invoice = outcome.invoice
    assert invoice is not None
    assert amounts(invoice.lines) == [(LineKind.PRORATION, -500), (LineKind.PLAN, 10_000)]
    assert invoice.total == 9_500
    assert (invoice.period_start, invoice.period_end) == (APR_16, datetime(2027, 4, 16, tzinfo=UTC))


def test_a_change_during_a_trial_invoices_nothing() -> None:
    trial = a_plan("basic-trial", 1000, trial_days=14)
    svc, repo, clock = a_shop(APR_1, trial, PRO)
    service.subscribe(svc, "sub-1", "alice", "basic-trial")
    clock.set(APR_1 + timedelta(days=3))

    outcome = service.change_plan(svc, "sub-1", "pro")

    assert outcome.invoice is None
    assert repo.invoices == {}
    assert repo.get_subscription("sub-1").plan_id == "pro"  # type: ignore[union-attr]


def test_an_upgrade_with_exclusive_tax_taxes_the_net_proration() -> None:
    taxed_pro = a_plan("pro-taxed", 2000, tax_rate=Decimal(10))
    svc, _repo, clock = a_shop(APR_1, BASIC, taxed_pro)
    an_active_subscription_in(svc, "basic")
    clock.set(APR_16)

    invoice = service.change_plan(svc, "sub-1", "pro-taxed").invoice

    assert invoice is not None
    assert [line.amount for line in invoice.lines if line.kind is LineKind.TAX] == [50]
    assert invoice.total == 550


def test_inclusive_tax_on_a_proration_does_not_inflate_the_unused_time_credit() -> None:
    gross_pro = a_plan(
        "pro-inclusive", 2000, tax_rate=Decimal(20), tax_behavior=TaxBehavior.INCLUSIVE
    )
    svc, _repo, clock = a_shop(APR_1, BASIC, gross_pro)
    an_active_subscription_in(svc, "basic")
    clock.set(APR_16)

    invoice = service.change_plan(svc, "sub-1", "pro-inclusive").invoice

    assert invoice is not None
    assert invoice.total == 500, "inclusive tax never changes the total"
    unused = [line for line in invoice.lines if line.description.startswith("Unused time")]
    assert [line.amount for line in unused] == [-500], (
        "the customer was owed 500 for unused time; the tax must come out of the charged lines"
    )


def test_two_plan_changes_in_the_same_second_each_get_their_own_invoice() -> None:
    ultra = a_plan("ultra", 4000)
    svc, _repo, clock = a_shop(APR_1, BASIC, PRO, ultra)
    an_active_subscription_in(svc, "basic")
    clock.set(APR_16)

    first = service.change_plan(svc, "sub-1", "pro").invoice
    second = service.change_plan(svc, "sub-1", "ultra").invoice

    assert first is not None and second is not None
    assert first.id != second.id
    assert (first.total, second.total) == (500, 1000)
