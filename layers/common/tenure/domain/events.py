"""Past-tense domain events and MRR ledger entries, recorded with each change."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tenure.domain.ids import event_id
from tenure.domain.timeutil import iso


class EventType(StrEnum):
    CUSTOMER_CREATED = "CustomerCreated"
    PAYMENT_METHOD_ATTACHED = "PaymentMethodAttached"
    DEFAULT_PAYMENT_METHOD_CHANGED = "DefaultPaymentMethodChanged"
    PLAN_CREATED = "PlanCreated"
    SUBSCRIPTION_CREATED = "SubscriptionCreated"
    TRIAL_STARTED = "TrialStarted"
    SUBSCRIPTION_ACTIVATED = "SubscriptionActivated"
    SUBSCRIPTION_RENEWED = "SubscriptionRenewed"
    SUBSCRIPTION_PAUSED = "SubscriptionPaused"
    SUBSCRIPTION_RESUMED = "SubscriptionResumed"
    PLAN_CHANGED = "SubscriptionPlanChanged"
    CANCELLATION_SCHEDULED = "SubscriptionCancellationScheduled"
    SUBSCRIPTION_CANCELED = "SubscriptionCanceled"
    SUBSCRIPTION_PAST_DUE = "SubscriptionMarkedPastDue"
    SUBSCRIPTION_UNPAID = "SubscriptionMarkedUnpaid"
    INVOICE_UNCOLLECTIBLE = "InvoiceMarkedUncollectible"
    PAYMENT_RETRY_SCHEDULED = "PaymentRetryScheduled"
    INVOICE_CREATED = "InvoiceCreated"
    INVOICE_PAID = "InvoicePaid"
    PAYMENT_FAILED = "PaymentFailed"
    CREDIT_GRANTED = "CreditGranted"
    # Told by the payment provider (webhooks), after the fact.
    INVOICE_REFUNDED = "InvoiceRefunded"
    INVOICE_DISPUTED = "InvoiceDisputed"
    INVOICE_DISPUTE_CLOSED = "InvoiceDisputeClosed"
    CUSTOMER_MARKED_AT_RISK = "CustomerMarkedAtRisk"
    PAYMENT_METHOD_UPDATED = "PaymentMethodUpdated"
    PAYMENT_METHOD_DETACHED = "PaymentMethodDetached"
    PROVIDER_CUSTOMER_DELETED = "ProviderCustomerDeleted"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: EventType
    entity_id: str  # the subscription, customer or plan the event is about
    customer_id: str | None
    occurred_at: datetime
    seq: int  # position among the events of the same entity and moment
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return event_id(self.type, self.entity_id, self.occurred_at, self.seq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": str(self.type),
            "occurred_at": iso(self.occurred_at),
            "entity_id": self.entity_id,
            "customer_id": self.customer_id,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class MrrLedgerEntry:
    """A change of one subscription's monthly value; the metrics classify it later."""

    subscription_id: str
    customer_id: str
    currency: str
    at: datetime
    before: int
    after: int
    reason: str  # the event type that caused it

    @property
    def delta(self) -> int:
        return self.after - self.before

    def to_dict(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "customer_id": self.customer_id,
            "currency": self.currency,
            "at": iso(self.at),
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
            "reason": self.reason,
        }
