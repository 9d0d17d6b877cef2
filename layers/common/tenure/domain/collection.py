"""Collecting an invoice: what a payment's outcome does to the invoice and its subscription
under the dunning policy, told as typed events and the step that comes next.

The rules (docs/dunning.md): a paid invoice reactivates a subscription that was waiting for
it; a soft decline is retried on the policy's schedule until it runs out; a hard decline or a
required authentication waits for a new payment method until the policy's deadline; a first
payment is never dunned; when dunning ends, the policy's final action applies.

Plans are asked for through a lookup, and only when a subscription moves: the services pass
a store read, and a read saved is a request saved.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.domain.charges import Charge, ChargeOutcome
from tenure.domain.dunning import DeclineClass, DunningPolicy, FinalAction
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription, SubscriptionStatus

PlanLookup = Callable[[str], Plan]
# The subscription states whose invoices are dunned, and those a payment brings back.
DUNNED = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})
REACTIVATED_BY_PAYMENT = frozenset(
    {SubscriptionStatus.INCOMPLETE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}
)
FINAL_ACTION_APPLIES = frozenset(
    {SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID, SubscriptionStatus.ACTIVE}
)


# -- events ---------------------------------------------------------------------------------
# Each becomes the DomainEvent the outbox has always held: the type, the sequence number and
# the data's keys (and their order) are the public schema of docs/events.md.
@dataclass(frozen=True, slots=True)
class InvoiceCreated:
    invoice_id: str
    customer_id: str
    at: datetime
    subscription_id: str
    total: int
    currency: str

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceCreated":
        return cls(
            invoice.id,
            invoice.customer_id,
            invoice.created_at,
            invoice.subscription_id,
            invoice.total,
            invoice.currency,
        )

    def to_event(self) -> DomainEvent:
        data = {
            "subscription_id": self.subscription_id,
            "total": self.total,
            "currency": self.currency,
        }
        return _event(EventType.INVOICE_CREATED, self, 0, data)


@dataclass(frozen=True, slots=True)
class InvoicePaid:
    invoice_id: str
    customer_id: str
    at: datetime
    version: int  # the invoice's version when paid: one payment, one event id
    total: int
    currency: str
    charge_id: str | None  # None: paid out of band (an operator recorded it)

    def to_event(self) -> DomainEvent:
        data = {"total": self.total, "currency": self.currency, "charge": self.charge_id}
        return _event(EventType.INVOICE_PAID, self, self.version, data)


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    invoice_id: str
    customer_id: str
    at: datetime
    attempt: int
    outcome: ChargeOutcome
    decline_code: str | None
    decline: DeclineClass

    def to_event(self) -> DomainEvent:
        data = {
            "outcome": str(self.outcome),
            "decline_code": self.decline_code,
            "decline_class": str(self.decline),
            "attempt": self.attempt,
        }
        return _event(EventType.PAYMENT_FAILED, self, self.attempt, data)


@dataclass(frozen=True, slots=True)
class PaymentRetryScheduled:
    invoice_id: str
    customer_id: str
    at: datetime
    attempt: int  # the attempt that failed; the retry is the next one
    next_attempt_at: datetime

    def to_event(self) -> DomainEvent:
        data = {"next_attempt_at": self.next_attempt_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return _event(EventType.PAYMENT_RETRY_SCHEDULED, self, self.attempt, data)


@dataclass(frozen=True, slots=True)
class InvoiceMarkedUncollectible:
    invoice_id: str
    customer_id: str
    at: datetime

    def to_event(self) -> DomainEvent:
        return _event(EventType.INVOICE_UNCOLLECTIBLE, self, 0, {})


InvoiceEvent = (
    InvoiceCreated
    | InvoicePaid
    | PaymentFailed
    | PaymentRetryScheduled
    | InvoiceMarkedUncollectible
)


def _event(type_: EventType, event: InvoiceEvent, seq: int, data: dict[str, Any]) -> DomainEvent:
    return DomainEvent(type_, event.invoice_id, event.customer_id, event.at, seq, data)


# -- what comes next after a failure --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetryAt:
    """A soft decline: the invoice is charged again at `at`."""

    at: datetime


@dataclass(frozen=True, slots=True)
class AwaitPaymentMethod:
    """Never retried blindly on this card: a new payment method (or the customer's
    confirmation) charges it; dunning ends at `until`."""

    until: datetime


@dataclass(frozen=True, slots=True)
class FinalActionDue:
    """The retries ran out: the policy's final action applies now (`apply_final_action`)."""


@dataclass(frozen=True, slots=True)
class NotDunned:
    """Nothing to recover: the invoice is no longer open, its subscription is gone, or it
    was a first payment (paid within the incomplete window, or not at all)."""


DunningStep = RetryAt | AwaitPaymentMethod | FinalActionDue | NotDunned


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    """What recording a payment's outcome did: the events, in the order they happened; the
    step that comes next (failures only); whether the subscription moved (it must be saved
    with the invoice)."""

    events: tuple[InvoiceEvent, ...]
    subscription_changed: bool = False
    next: DunningStep = NotDunned()


# -- the rules ------------------------------------------------------------------------------
def record_payment(
    invoice: Invoice, charge: Charge, sub: Subscription | None, plans: PlanLookup, at: datetime
) -> PaymentRecorded:
    """The attempt `charge` paid `invoice`. An invoice that is not open any more records
    nothing (paid twice would be a bug upstream; the charge record keeps the evidence)."""
    if invoice.status is not InvoiceStatus.OPEN:
        return PaymentRecorded(())
    return _paid(invoice, charge.id, sub, plans, at)


def record_paid_out_of_band(
    invoice: Invoice, sub: Subscription | None, plans: PlanLookup, at: datetime
) -> PaymentRecorded:
    """An operator recorded that `invoice` was paid outside the provider (a bank transfer):
    as a payment, with no attempt. Only an open invoice can be (IllegalTransitionError)."""
    return _paid(invoice, None, sub, plans, at)


def _paid(
    invoice: Invoice,
    charge_id: str | None,
    sub: Subscription | None,
    plans: PlanLookup,
    at: datetime,
) -> PaymentRecorded:
    invoice.mark_paid(at)
    paid = InvoicePaid(
        invoice.id,
        invoice.customer_id,
        at,
        invoice.version,
        invoice.total,
        invoice.currency,
        charge_id,
    )
    if sub is None or sub.status not in REACTIVATED_BY_PAYMENT:
        return PaymentRecorded((paid,))
    sub.activate(plans(sub.plan_id), at)
    return PaymentRecorded((paid,), subscription_changed=True)


def record_failure(
    invoice: Invoice,
    charge: Charge,
    sub: Subscription | None,
    policy: DunningPolicy,
    plans: PlanLookup,
    at: datetime,
    attempted_at: datetime | None = None,
) -> PaymentRecorded:
    """The attempt `charge` failed (declined, or authentication required): count the failure
    under `policy`, move the subscription past due, and say what comes next. A
    `FinalActionDue` is left to the caller, who knows the invoice's earlier attempts.

    `attempted_at`: the attempt's own moment, when its answer is recorded late (a lost
    answer the sweeper recovered): dunning is timed from it, as it would have been had the
    answer arrived, so a fault in Tenure never moves the customer's retries."""
    decline, failed = _failure(invoice, charge, policy, at)
    if (
        invoice.status is not InvoiceStatus.OPEN
        or sub is None
        or sub.status is SubscriptionStatus.INCOMPLETE
    ):
        return PaymentRecorded((failed,))
    plan = plans(sub.plan_id)
    if sub.status in DUNNED:
        sub.mark_past_due(plan, at)
    return _dun(invoice, charge, decline, policy, at, failed, True, attempted_at or at)


def record_instalment_failure(
    invoice: Invoice,
    charge: Charge,
    policy: DunningPolicy,
    at: datetime,
    attempted_at: datetime | None = None,
) -> PaymentRecorded:
    """The attempt `charge` at an instalment's invoice (no subscription) failed: dunned by
    the same schedule and decline classes as a renewal, and timed as a renewal's is
    (`attempted_at`, record_failure). The plan's side is the caller's
    (tenure.domain.installments)."""
    decline, failed = _failure(invoice, charge, policy, at)
    if invoice.status is not InvoiceStatus.OPEN:
        return PaymentRecorded((failed,))
    return _dun(invoice, charge, decline, policy, at, failed, False, attempted_at or at)


def _failure(
    invoice: Invoice, charge: Charge, policy: DunningPolicy, at: datetime
) -> tuple[DeclineClass, PaymentFailed]:
    """How the policy classes the failed attempt, and the event that records it."""
    decline = policy.classify(charge.outcome, charge.decline_code)
    failed = PaymentFailed(
        invoice.id,
        invoice.customer_id,
        at,
        charge.attempt,
        charge.outcome,
        charge.decline_code,
        decline,
    )
    return decline, failed


def _dun(
    invoice: Invoice,
    charge: Charge,
    decline: DeclineClass,
    policy: DunningPolicy,
    at: datetime,
    failed: PaymentFailed,
    subscription_changed: bool,
    timed_from: datetime | None = None,
) -> PaymentRecorded:
    """Count the failure and say what comes next: a retry, a wait for a new card, or the
    final action. Dunning is timed from the first failure's `timed_from` (default `at`)."""
    invoice.failures += 1
    invoice.first_failed_at = invoice.first_failed_at or timed_from or at
    if decline is not DeclineClass.SOFT:
        invoice.next_attempt_at = None
        invoice.dunning_ends_at = policy.deadline(invoice.first_failed_at)
        return PaymentRecorded(
            (failed,), subscription_changed, AwaitPaymentMethod(invoice.dunning_ends_at)
        )
    invoice.next_attempt_at = policy.next_retry_at(invoice.first_failed_at, invoice.failures)
    if invoice.next_attempt_at is None:
        return PaymentRecorded((failed,), subscription_changed, FinalActionDue())
    retry = PaymentRetryScheduled(
        invoice.id, invoice.customer_id, at, charge.attempt, invoice.next_attempt_at
    )
    return PaymentRecorded((failed, retry), subscription_changed, RetryAt(invoice.next_attempt_at))


def apply_final_action(
    invoice: Invoice,
    sub: Subscription,
    plan: Plan,
    policy: DunningPolicy,
    declines: list[str],
    at: datetime,
) -> tuple[InvoiceEvent, ...]:
    """Dunning ended unpaid (retries ran out, or no new card came by the deadline): nothing
    is due for the invoice any more, and the subscription ends or stays unpaid, by policy.
    `declines` are the failed attempts' reasons, oldest first (see `declines_of`)."""
    invoice.next_attempt_at = None
    invoice.dunning_ends_at = None
    if sub.status not in FINAL_ACTION_APPLIES:
        return ()
    if policy.final_action is FinalAction.CANCELED:
        sub.cancel_for_nonpayment(plan, at, declines)
        invoice.mark_uncollectible()
        return (InvoiceMarkedUncollectible(invoice.id, invoice.customer_id, at),)
    sub.mark_unpaid(plan, at, declines)
    return ()


def write_off_instalment(invoice: Invoice, at: datetime) -> tuple[InvoiceEvent, ...]:
    """Dunning of an instalment's invoice ended unpaid: it is written off (there is no
    subscription to leave unpaid; the plan defaults, tenure.domain.installments)."""
    invoice.next_attempt_at = None
    invoice.dunning_ends_at = None
    if invoice.status is not InvoiceStatus.OPEN:
        return ()
    invoice.mark_uncollectible()
    return (InvoiceMarkedUncollectible(invoice.id, invoice.customer_id, at),)


def await_payment_method_for_instalment(
    invoice: Invoice, policy: DunningPolicy, at: datetime
) -> bool:
    """An instalment's invoice that could not be charged at all (no card on file) waits for
    one until the dunning deadline, as after a hard decline."""
    if not invoice.owed or invoice.first_failed_at:
        return False
    invoice.first_failed_at = at
    invoice.dunning_ends_at = policy.deadline(at)
    return True


def declines_of(charges: Iterable[Charge]) -> list[str]:
    """Why each attempt that did not pay failed: the decline code, else the outcome."""
    failed = (c for c in charges if c.outcome is not ChargeOutcome.SUCCEEDED)
    return [c.decline_code or str(c.outcome) for c in failed]


def await_payment_method(
    invoice: Invoice,
    sub: Subscription | None,
    policy: DunningPolicy,
    plans: PlanLookup,
    at: datetime,
) -> bool:
    """An invoice that could not be charged at all (no payment method on file) waits for a
    card until the dunning deadline, as after a hard decline, its subscription past due.
    Returns whether anything changed: only a collectable invoice of an earning
    subscription, not dunned yet, starts waiting."""
    if not invoice.owed or sub is None or sub.status not in DUNNED or invoice.first_failed_at:
        return False
    invoice.first_failed_at = at
    invoice.dunning_ends_at = policy.deadline(at)
    sub.mark_past_due(plans(sub.plan_id), at)
    return True
