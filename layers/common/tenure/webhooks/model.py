"""What a provider told Tenure, in Tenure's own words: one `ProviderEvent` per delivery.

A second provider only needs a parser that produces these; the service that applies them
(`tenure.services.provider_events`) never sees a provider's own shapes.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import DisputeStatus, RefundStatus


class ProviderEventKind(StrEnum):
    """The facts Tenure acts on; everything else a provider sends is IGNORED (and counted)."""

    PAYMENT_UPDATED = "payment_updated"  # a payment succeeded, failed, needs action, is pending
    REFUND_UPDATED = "refund_updated"  # one refund was created or changed state
    PAYMENT_REFUNDED = "payment_refunded"  # the payment's refunded total (and refunds) changed
    DISPUTE_UPDATED = "dispute_updated"  # a dispute was opened, moved on or closed
    PAYMENT_METHOD_ADDED = "payment_method_added"  # a card attached or set up at the provider
    PAYMENT_METHOD_UPDATED = "payment_method_updated"  # the card network updated the card
    PAYMENT_METHOD_DETACHED = "payment_method_detached"
    CUSTOMER_DELETED = "customer_deleted"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    payment_id: str
    outcome: ChargeOutcome
    decline_code: str | None = None
    # Where Tenure put them when it created the payment (Stripe metadata, Razorpay notes);
    # without them the payment is found by the provider link stored with the attempt.
    invoice_id: str | None = None
    attempt: int | None = None
    # Also put there by Tenure, on payments created since they were: the subscription and
    # Tenure's customer, so the event's first read fetches them too. Hints, checked
    # against the invoice.
    subscription_id: str | None = None
    customer_id: str | None = None
    # The provider's order the payment was made on (Razorpay): an attempt the customer had
    # to authenticate waits as an order, and the payment made on it in Checkout settles it.
    order_id: str | None = None
    # The payment's notes say it authorised a new mandate (Razorpay's registration, made on
    # the card page): a hint to look, never believed before the provider is asked.
    registration: bool = False


@dataclass(frozen=True, slots=True)
class RefundFacts:
    refund_id: str
    payment_id: str | None
    amount: int  # minor units, as the provider counts them
    currency: str
    status: RefundStatus
    at: datetime  # the moment this status was reported (the event's time)


@dataclass(frozen=True, slots=True)
class RefundTotalFacts:
    payment_id: str | None
    amount_refunded: int
    refunds: tuple[RefundFacts, ...] = ()  # when the provider lists them with the total
    invoice_id: str | None = None
    attempt: int | None = None
    # The Tenure customer the payment's metadata names (Stripe copies a PaymentIntent's
    # metadata onto its charge): lets the first read fetch that customer's points account.
    customer_id: str | None = None
    currency: str = ""  # upper-case, as the provider reported the total; "" when not given


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    dispute_id: str
    payment_id: str | None
    amount: int
    currency: str
    status: DisputeStatus
    provider_status: str  # the provider's own word, for the record


@dataclass(frozen=True, slots=True)
class PaymentMethodFacts:
    payment_method_id: str
    provider_customer_id: str | None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One verified delivery: who sent it, its id (the exactly-once key), when the provider
    says it happened, and the facts of its kind."""

    provider: str
    event_id: str
    type: str  # the provider's own event type, e.g. payment_intent.succeeded
    kind: ProviderEventKind
    occurred_at: datetime
    payment: PaymentFacts | None = None
    refund: RefundFacts | None = None
    refund_total: RefundTotalFacts | None = None
    dispute: DisputeFacts | None = None
    payment_method: PaymentMethodFacts | None = None
    provider_customer_id: str | None = None  # customer.deleted (and metadata lookups)
    tenure_customer_id: str | None = None  # when the provider object carries Tenure's id


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """A delivery whose signature is valid but whose body Tenure cannot read: the provider
    did send it, and sending it again would not change it. Recorded (so an operator can
    find it and replay it once Tenure reads it) and answered 2xx, so the provider does not
    retry it for days.

    `event_id` is the provider's id when the body has a readable one, else a digest of the
    body; `reason` is short and never repeats the body; `detail` names an unexpected error
    (for the log only)."""

    provider: str
    event_id: str
    reason: str
    detail: str | None = None


def body_event_id(body: bytes) -> str:
    """An event id from the body, for a delivery that names none: the same body is the same
    event."""
    return "body_" + hashlib.sha256(body).hexdigest()[:24]
