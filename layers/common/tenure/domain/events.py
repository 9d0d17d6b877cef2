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
    COUPON_CREATED = "CouponCreated"
    COUPON_APPLIED = "CouponApplied"
    PROGRAMS_UPDATED = "ProgramsUpdated"
    TENURE_DISCOUNT_REACHED = "TenureDiscountReached"
    LOYALTY_POINTS_EARNED = "LoyaltyPointsEarned"
    LOYALTY_POINTS_REDEEMED = "LoyaltyPointsRedeemed"  # asked for: waiting for an invoice
    LOYALTY_POINTS_APPLIED = "LoyaltyPointsApplied"  # credited on an invoice
    LOYALTY_POINTS_REVERSED = "LoyaltyPointsReversed"
    # Save offers (tenure.domain.offers): shown when a cancellation is asked for, then one
    # accepted (no cancellation) or all declined (the cancellation goes ahead).
    SAVE_OFFERS_PRESENTED = "SaveOffersPresented"
    SAVE_OFFER_ACCEPTED = "SaveOfferAccepted"
    SAVE_OFFERS_DECLINED = "SaveOffersDeclined"
    # A refund, made by Tenure (POST /v1/invoices/{id}/refund, a cancel with a refund) or
    # told by the payment provider (webhooks) after the fact.
    INVOICE_REFUNDED = "InvoiceRefunded"
    # A refund a cancellation owed could not be made: its tries stopped (docs/operations.md).
    INVOICE_REFUND_FAILED = "InvoiceRefundFailed"
    # Told by the payment provider (webhooks), after the fact.
    INVOICE_DISPUTED = "InvoiceDisputed"
    INVOICE_DISPUTE_CLOSED = "InvoiceDisputeClosed"
    CUSTOMER_MARKED_AT_RISK = "CustomerMarkedAtRisk"
    PAYMENT_METHOD_UPDATED = "PaymentMethodUpdated"
    PAYMENT_METHOD_DETACHED = "PaymentMethodDetached"
    PROVIDER_CUSTOMER_DELETED = "ProviderCustomerDeleted"
    # Installment plans (tenure.domain.installments): the entity is the plan.
    INSTALLMENT_PLAN_CREATED = "InstallmentPlanCreated"
    INSTALLMENT_INVOICED = "InstallmentInvoiced"
    INSTALLMENT_PAID = "InstallmentPaid"
    INSTALLMENT_PAST_DUE = "InstallmentMarkedPastDue"
    INSTALLMENT_PLAN_COMPLETED = "InstallmentPlanCompleted"
    INSTALLMENT_PLAN_DEFAULTED = "InstallmentPlanDefaulted"
    INSTALLMENT_PLAN_CANCELED = "InstallmentPlanCanceled"
    # Collections cases (tenure.domain.collection_cases): the entity is the case.
    COLLECTION_CASE_OPENED = "CollectionCaseOpened"
    REPAYMENT_PLAN_CHOSEN = "RepaymentPlanChosen"
    REPAYMENT_PLAN_CANCELED = "RepaymentPlanCanceled"
    COLLECTION_CASE_SETTLED = "CollectionCaseSettled"
    COLLECTION_CASE_WRITTEN_OFF = "CollectionCaseWrittenOff"
    # Operator actions (docs/operations.md "Operator actions"); each has an audit entry.
    INVOICE_VOIDED = "InvoiceVoided"
    TRIAL_EXTENDED = "TrialExtended"
    RENEWAL_DATE_CHANGED = "SubscriptionRenewalDateChanged"
    CREDIT_ADJUSTED = "CreditAdjusted"
    # Taken over from another billing system (tenure import): the entity is the subscription.
    SUBSCRIPTION_IMPORTED = "SubscriptionImported"
    # Seats and add-ons (tenure.domain.pricing): changed now (or at a period's end, when
    # scheduled), or scheduled for the period's end.
    SUBSCRIPTION_ITEMS_CHANGED = "SubscriptionItemsChanged"
    SUBSCRIPTION_ITEMS_SCHEDULED = "SubscriptionItemsChangeScheduled"
    # Price changes (tenure.domain.prices): a plan's new price scheduled, and a subscription
    # told of it (its first period at the new price fixed, its email planned).
    PLAN_PRICE_CHANGE_SCHEDULED = "PlanPriceChangeScheduled"
    PRICE_CHANGE_NOTED = "SubscriptionPriceChangeNoted"
    # A customer's contact or billing details changed (PATCH /v1/customers/{id}); the event
    # names the fields, never their values.
    CUSTOMER_UPDATED = "CustomerUpdated"


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
class CustomerFacts:
    """The customer's side of one ledger entry, in the entry's currency, as the store found
    it when committing the change: what the metrics need to classify the entry without
    reading anything about the customer (see tenure.domain.mrr.CustomerMrr.record)."""

    seq: int  # the customer's count of ledger entries so far, this one included
    before: int  # the customer's MRR just before this entry
    after: int  # and just after it
    paid_before: bool  # the customer had MRR at some time before this entry
    cohort: str | None  # the month of the customer's first-ever MRR ("2026-02"), if any yet
    paying_at_month_start: bool  # the customer had MRR when the entry's month began

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "before": self.before,
            "after": self.after,
            "paid_before": self.paid_before,
            "cohort": self.cohort,
            "paying_at_month_start": self.paying_at_month_start,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CustomerFacts":
        return cls(
            int(data["seq"]),
            int(data["before"]),
            int(data["after"]),
            bool(data["paid_before"]),
            data.get("cohort"),
            bool(data["paying_at_month_start"]),
        )


@dataclass(frozen=True, slots=True)
class MrrLedgerEntry:
    """A change of one subscription's monthly value; the metrics classify it later.

    `customer` is filled in by the store when the entry is committed (None before)."""

    subscription_id: str
    customer_id: str
    currency: str
    at: datetime
    before: int
    after: int
    reason: str  # the event type that caused it
    customer: CustomerFacts | None = None

    @property
    def delta(self) -> int:
        return self.after - self.before

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "subscription_id": self.subscription_id,
            "customer_id": self.customer_id,
            "currency": self.currency,
            "at": iso(self.at),
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
            "reason": self.reason,
        }
        if self.customer is not None:
            data["customer"] = self.customer.to_dict()
        return data
