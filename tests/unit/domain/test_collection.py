"""Collecting an invoice: what a payment's outcome does to the invoice and its subscription
under the dunning policy, the typed events it records and the step that comes next."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain import collection
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.collection import (
    AwaitPaymentMethod,
    FinalActionDue,
    InvoiceMarkedUncollectible,
    InvoicePaid,
    NotDunned,
    PaymentFailed,
    PaymentRetryScheduled,
    RetryAt,
)
from tenure.domain.dunning import DeclineClass, DunningPolicy, FinalAction
from tenure.domain.events import EventType
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription, SubscriptionStatus

BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")
JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
FEB_28 = datetime(2026, 2, 28, 9, tzinfo=UTC)
POLICY = DunningPolicy()  # retries at +3d5h, +7d2h, +14d7h after the first failure


class Plans:
    """A plan lookup that counts its reads: the rules ask only when a subscription moves."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, plan_id: str) -> Plan:
        assert plan_id == BASIC.id
        self.reads += 1
        return BASIC


def a_subscription(status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, JAN_31)
    if status is not SubscriptionStatus.INCOMPLETE:
        sub.activate(BASIC, JAN_31)
    if status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        sub.mark_past_due(BASIC, JAN_31)
    if status is SubscriptionStatus.UNPAID:
        sub.mark_unpaid(BASIC, JAN_31, [])
    if status is SubscriptionStatus.CANCELED:
        sub.cancel(BASIC, JAN_31, at_period_end=False, reason=None)
    assert sub.status is status
    sub.pull_events()
    return sub


def a_renewal_invoice(status: InvoiceStatus = InvoiceStatus.OPEN, total: int = 1000) -> Invoice:
    return Invoice(
        id="in-1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=FEB_28,
        period_end=FEB_28 + timedelta(days=31),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", total)],
        status=status,
        created_at=FEB_28,
    )


def an_attempt(
    invoice: Invoice,
    outcome: ChargeOutcome = ChargeOutcome.DECLINED,
    decline_code: str | None = "insufficient_funds",
    attempt: int = 1,
) -> Charge:
    return Charge(
        id=f"ch_{invoice.id}_{attempt}",
        invoice_id=invoice.id,
        subscription_id=invoice.subscription_id,
        customer_id=invoice.customer_id,
        attempt=attempt,
        amount=invoice.total,
        currency=invoice.currency,
        at=FEB_28,
        status=ChargeStatus.SETTLED,
        outcome=outcome,
        decline_code=decline_code,
    )


def fail(
    invoice: Invoice, sub: Subscription | None, code: str | None, at: datetime = FEB_28
) -> collection.PaymentRecorded:
    outcome = ChargeOutcome.DECLINED
    if code == "authentication_required":
        outcome = ChargeOutcome.AUTHENTICATION_REQUIRED
    charge = an_attempt(invoice, outcome, code, attempt=invoice.failures + 1)
    return collection.record_failure(invoice, charge, sub, POLICY, Plans(), at)


# -- failures -------------------------------------------------------------------------------
def test_a_soft_decline_books_the_first_retry_and_makes_the_subscription_past_due() -> None:
    # Given an active subscription's open renewal invoice
    invoice, sub = a_renewal_invoice(), a_subscription()
    # When its first attempt is declined for insufficient funds
    recorded = fail(invoice, sub, "insufficient_funds")
    # Then the retry is booked 3 days 5 hours later, and said so by an event
    retry_at = FEB_28 + timedelta(days=3, hours=5)
    assert recorded.next == RetryAt(retry_at)
    assert (invoice.failures, invoice.first_failed_at, invoice.next_attempt_at) == (
        1,
        FEB_28,
        retry_at,
    )
    assert recorded.events == (
        PaymentFailed(
            "in-1",
            "alice",
            FEB_28,
            1,
            ChargeOutcome.DECLINED,
            "insufficient_funds",
            DeclineClass.SOFT,
        ),
        PaymentRetryScheduled("in-1", "alice", FEB_28, 1, retry_at),
    )
    # ... and the subscription is past due, to be saved with the invoice
    assert sub.status is SubscriptionStatus.PAST_DUE
    assert recorded.subscription_changed


def test_each_soft_decline_counts_from_the_first_failure() -> None:
    # Given a renewal whose first attempt was declined
    invoice, sub = a_renewal_invoice(), a_subscription()
    fail(invoice, sub, "insufficient_funds")
    # When the retry is declined too, four days later
    recorded = fail(invoice, sub, "insufficient_funds", at=FEB_28 + timedelta(days=4))
    # Then the next retry is the schedule's second offset from the first failure
    assert recorded.next == RetryAt(FEB_28 + timedelta(days=7, hours=2))
    assert invoice.first_failed_at == FEB_28


def test_the_last_soft_decline_leaves_the_final_action_to_the_caller() -> None:
    # Given a renewal declined at every attempt the schedule allows but the last
    invoice, sub = a_renewal_invoice(), a_subscription()
    for _ in POLICY.retry_after:
        fail(invoice, sub, "insufficient_funds")
    # When the last attempt is declined too
    recorded = fail(invoice, sub, "insufficient_funds", at=FEB_28 + timedelta(days=15))
    # Then no retry is booked and the final action is due; no retry event is recorded
    assert recorded.next == FinalActionDue()
    assert invoice.next_attempt_at is None
    assert [type(e) for e in recorded.events] == [PaymentFailed]


@pytest.mark.parametrize("code", ["stolen_card", "expired_card", "authentication_required"])
def test_a_hard_decline_or_required_authentication_waits_for_a_card_until_the_deadline(
    code: str,
) -> None:
    # Given an active subscription's open renewal invoice
    invoice, sub = a_renewal_invoice(), a_subscription()
    # When its attempt fails for a reason retrying cannot fix
    recorded = fail(invoice, sub, code)
    # Then nothing is retried; dunning waits for a new payment method until the deadline
    deadline = FEB_28 + POLICY.retry_after[-1]
    assert recorded.next == AwaitPaymentMethod(deadline)
    assert (invoice.next_attempt_at, invoice.dunning_ends_at) == (None, deadline)
    assert sub.status is SubscriptionStatus.PAST_DUE


def test_a_failed_first_payment_is_not_dunned() -> None:
    # Given an incomplete subscription's first invoice
    invoice, sub = a_renewal_invoice(), a_subscription(SubscriptionStatus.INCOMPLETE)
    plans = Plans()
    # When its payment is declined
    charge = an_attempt(invoice)
    recorded = collection.record_failure(invoice, charge, sub, POLICY, plans, FEB_28)
    # Then the failure is told, but nothing is booked and nothing moves
    assert recorded.next == NotDunned()
    assert [type(e) for e in recorded.events] == [PaymentFailed]
    assert (invoice.failures, invoice.next_attempt_at, sub.status) == (
        0,
        None,
        SubscriptionStatus.INCOMPLETE,
    )
    assert not recorded.subscription_changed
    assert plans.reads == 0


@pytest.mark.parametrize("gone", ["invoice paid", "no subscription"])
def test_a_failure_reported_for_an_invoice_no_longer_collected_only_tells_it(gone: str) -> None:
    # Given an invoice already paid, or one whose subscription is gone
    status = InvoiceStatus.PAID if gone == "invoice paid" else InvoiceStatus.OPEN
    invoice = a_renewal_invoice(status)
    sub = a_subscription() if gone == "invoice paid" else None
    # When a failed attempt is recorded for it
    recorded = fail(invoice, sub, "insufficient_funds")
    # Then the failure is told and nothing else changes
    assert [type(e) for e in recorded.events] == [PaymentFailed]
    assert (recorded.next, recorded.subscription_changed) == (NotDunned(), False)
    assert invoice.failures == 0


def test_a_payment_failed_event_keeps_its_public_shape() -> None:
    # Given a failure recorded for attempt 2, with no decline code
    event = PaymentFailed(
        "in-1",
        "alice",
        FEB_28,
        2,
        ChargeOutcome.AUTHENTICATION_REQUIRED,
        None,
        DeclineClass.ACTION_REQUIRED,
    )
    # When it becomes the outbox's domain event
    domain = event.to_event()
    # Then its type, entity, sequence and data are those docs/events.md publishes
    assert (domain.type, domain.entity_id, domain.customer_id, domain.seq) == (
        EventType.PAYMENT_FAILED,
        "in-1",
        "alice",
        2,
    )
    assert list(domain.data.items()) == [
        ("outcome", "authentication_required"),
        ("decline_code", None),
        ("decline_class", "action_required"),
        ("attempt", 2),
    ]


def test_a_retry_scheduled_event_names_the_retry_in_utc_seconds() -> None:
    retry_at = datetime(2026, 3, 3, 14, 0, 0, 123456, tzinfo=UTC)
    event = PaymentRetryScheduled("in-1", "alice", FEB_28, 1, retry_at).to_event()
    assert (event.type, event.seq) == (EventType.PAYMENT_RETRY_SCHEDULED, 1)
    assert event.data == {"next_attempt_at": "2026-03-03T14:00:00Z"}


# -- payments -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "status",
    [SubscriptionStatus.INCOMPLETE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID],
)
def test_a_payment_brings_back_a_subscription_that_was_waiting_for_it(
    status: SubscriptionStatus,
) -> None:
    # Given an open invoice of a subscription waiting for its payment
    invoice, sub = a_renewal_invoice(), a_subscription(status)
    # When an attempt pays it
    charge = an_attempt(invoice, ChargeOutcome.SUCCEEDED, None)
    recorded = collection.record_payment(invoice, charge, sub, Plans(), FEB_28)
    # Then the invoice is paid, told with the charge, and the subscription is active again
    assert (invoice.status, invoice.paid_at) == (InvoiceStatus.PAID, FEB_28)
    assert recorded.events == (
        InvoicePaid("in-1", "alice", FEB_28, invoice.version, 1000, "USD", charge.id),
    )
    assert sub.status is SubscriptionStatus.ACTIVE
    assert recorded.subscription_changed


def test_a_payment_of_an_active_subscription_reads_no_plan_and_moves_nothing() -> None:
    invoice, sub = a_renewal_invoice(), a_subscription(SubscriptionStatus.ACTIVE)
    plans = Plans()
    charge = an_attempt(invoice, ChargeOutcome.SUCCEEDED, None)
    recorded = collection.record_payment(invoice, charge, sub, plans, FEB_28)
    assert invoice.status is InvoiceStatus.PAID
    assert (recorded.subscription_changed, plans.reads) == (False, 0)


def test_a_second_payment_of_a_paid_invoice_records_nothing() -> None:
    # Given an invoice already paid
    invoice = a_renewal_invoice(InvoiceStatus.PAID)
    # When another attempt reports it paid
    charge = an_attempt(invoice, ChargeOutcome.SUCCEEDED, None, attempt=2)
    recorded = collection.record_payment(invoice, charge, a_subscription(), Plans(), FEB_28)
    # Then no event and no change: the charge record keeps the evidence
    assert recorded.events == ()
    assert invoice.paid_at is None


def test_an_invoice_paid_event_keeps_its_public_shape() -> None:
    event = InvoicePaid("in-1", "alice", FEB_28, 3, 1000, "USD", "ch_in-1_2").to_event()
    assert (event.type, event.entity_id, event.seq) == (EventType.INVOICE_PAID, "in-1", 3)
    assert list(event.data.items()) == [
        ("total", 1000),
        ("currency", "USD"),
        ("charge", "ch_in-1_2"),
    ]


# -- the end of dunning ---------------------------------------------------------------------
def test_the_unpaid_final_action_keeps_the_debt_and_stops_renewing() -> None:
    # Given a past-due subscription whose invoice waits for a retry
    invoice, sub = a_renewal_invoice(), a_subscription(SubscriptionStatus.PAST_DUE)
    invoice.next_attempt_at = FEB_28 + timedelta(days=3)
    # When dunning ends under the default policy (unpaid)
    events = collection.apply_final_action(
        invoice, sub, BASIC, POLICY, ["insufficient_funds"], FEB_28
    )
    # Then the subscription is unpaid, the invoice stays open with nothing due
    assert events == ()
    assert sub.status is SubscriptionStatus.UNPAID
    assert (invoice.status, invoice.next_attempt_at, invoice.dunning_ends_at) == (
        InvoiceStatus.OPEN,
        None,
        None,
    )
    (marked,) = sub.pull_events()[0]
    assert marked.data == {"declines": ["insufficient_funds"]}


def test_the_cancel_final_action_ends_the_subscription_and_writes_the_invoice_off() -> None:
    # Given a past-due subscription, under a policy that cancels
    invoice, sub = a_renewal_invoice(), a_subscription(SubscriptionStatus.PAST_DUE)
    policy = DunningPolicy(final_action=FinalAction.CANCELED)
    # When dunning ends
    events = collection.apply_final_action(invoice, sub, BASIC, policy, ["lost_card"], FEB_28)
    # Then the subscription is canceled for nonpayment and the invoice uncollectible
    assert events == (InvoiceMarkedUncollectible("in-1", "alice", FEB_28),)
    assert (sub.status, sub.cancel_reason) == (SubscriptionStatus.CANCELED, "payment_failed")
    assert invoice.status is InvoiceStatus.UNCOLLECTIBLE
    (event,) = (e.to_event() for e in events)
    assert (event.type, event.seq, event.data) == (EventType.INVOICE_UNCOLLECTIBLE, 0, {})


def test_a_final_action_for_a_subscription_that_ended_only_clears_the_schedule() -> None:
    invoice, sub = a_renewal_invoice(), a_subscription(SubscriptionStatus.CANCELED)
    invoice.dunning_ends_at = FEB_28
    policy = DunningPolicy(final_action=FinalAction.CANCELED)
    assert collection.apply_final_action(invoice, sub, BASIC, policy, [], FEB_28) == ()
    assert (invoice.status, invoice.dunning_ends_at) == (InvoiceStatus.OPEN, None)


def test_the_declines_of_an_invoice_are_its_failed_attempts_reasons_in_order() -> None:
    invoice = a_renewal_invoice()
    charges = [
        an_attempt(invoice, ChargeOutcome.DECLINED, "insufficient_funds", 1),
        an_attempt(invoice, ChargeOutcome.UNKNOWN, None, 2),
        an_attempt(invoice, ChargeOutcome.SUCCEEDED, None, 3),
    ]
    assert collection.declines_of(charges) == ["insufficient_funds", "unknown"]


# -- no payment method ----------------------------------------------------------------------
def test_an_invoice_with_no_card_to_charge_waits_for_one_like_a_hard_decline() -> None:
    # Given an active subscription's open renewal, and no payment method to charge it with
    invoice, sub = a_renewal_invoice(), a_subscription()
    # When it is set to wait for a payment method
    changed = collection.await_payment_method(invoice, sub, POLICY, Plans(), FEB_28)
    # Then dunning runs from now until the deadline, the subscription past due
    assert changed
    deadline = FEB_28 + POLICY.retry_after[-1]
    assert (invoice.first_failed_at, invoice.dunning_ends_at) == (FEB_28, deadline)
    assert sub.status is SubscriptionStatus.PAST_DUE


@pytest.mark.parametrize(
    "case",
    ["already dunned", "paid", "nothing to pay", "incomplete", "no subscription"],
)
def test_only_an_owed_invoice_of_an_earning_subscription_starts_waiting(case: str) -> None:
    invoice = a_renewal_invoice(
        InvoiceStatus.PAID if case == "paid" else InvoiceStatus.OPEN,
        total=0 if case == "nothing to pay" else 1000,
    )
    if case == "already dunned":
        invoice.first_failed_at = JAN_31
    sub = (
        None
        if case == "no subscription"
        else a_subscription(
            SubscriptionStatus.INCOMPLETE if case == "incomplete" else SubscriptionStatus.ACTIVE
        )
    )
    plans = Plans()
    assert not collection.await_payment_method(invoice, sub, POLICY, plans, FEB_28)
    assert invoice.dunning_ends_at is None
    assert plans.reads == 0


def test_an_invoice_created_event_keeps_its_public_shape() -> None:
    # Given a renewal invoice just made
    invoice = a_renewal_invoice()
    # When its creation is told
    event = collection.InvoiceCreated.of(invoice).to_event()
    # Then it is about the invoice, dated by its creation, with the schema's data in order
    assert (event.type, event.entity_id, event.customer_id, event.occurred_at, event.seq) == (
        EventType.INVOICE_CREATED,
        "in-1",
        "alice",
        FEB_28,
        0,
    )
    assert list(event.data.items()) == [
        ("subscription_id", "sub-1"),
        ("total", 1000),
        ("currency", "USD"),
    ]
