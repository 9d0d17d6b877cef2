"""Due work: what the renewals scheduler finds due, of which kind, about what.

Each kind's value is part of the due index's sort key and of the queued messages, in
deployed tables and queues: a kind may be added, never renamed.
"""

from dataclasses import dataclass
from enum import StrEnum


class DueSubject(StrEnum):
    """What a piece of due work names by its id."""

    SUBSCRIPTION = "subscription"
    INVOICE = "invoice"
    CHARGE = "charge"  # one attempt of an invoice, named by a ChargeRef
    INSTALLMENT_PLAN = "installment_plan"
    CUSTOMER = "customer"
    PRICE_CHANGE = "price_change"  # a change's run telling its price's subscribers


class DueKind(StrEnum):
    RENEWAL = "renewal"  # the period ends: renew, convert a trial, or end a scheduled cancel
    PAUSE_END = "pause_end"
    EXPIRE = "expire"  # an incomplete subscription whose first payment never came
    RETRY = "retry"  # a dunning retry of a soft decline
    DUNNING_END = "dunning_end"  # no new card came by the deadline: the final action
    RECONCILE = "reconcile"  # a charge attempt's lease ran out: ask the provider
    REFUND = "refund"  # a refund a cancellation owes, not yet made at the provider
    INSTALLMENT = "installment"  # an installment plan's next instalment comes due: invoice it
    PROVIDER_ERASE = "provider_erase"  # an erased customer's record at the provider: erase it
    # The day's close after the provider reported refunds of a paid invoice: credit what
    # settled (tenure.domain.credit_notes.credit_settled_refunds).
    CREDIT = "credit"
    PRICE_NOTICES = "price_notices"  # a price change's subscribers are still to be told
    PROVIDER_PHONE = "provider_phone"  # a customer's new phone: send it to the provider
    # A new mandate's registration payment (Razorpay's ₹1): refund it at the provider.
    REGISTRATION_REFUND = "registration_refund"
    # A provider customer a request made and did not store: learn its id by replaying the call.
    PROVIDER_CUSTOMER = "provider_customer"

    @property
    def subject(self) -> DueSubject:
        if self in (DueKind.RETRY, DueKind.DUNNING_END, DueKind.REFUND, DueKind.CREDIT):
            return DueSubject.INVOICE
        if self is DueKind.RECONCILE:
            return DueSubject.CHARGE
        if self is DueKind.INSTALLMENT:
            return DueSubject.INSTALLMENT_PLAN
        if self in (
            DueKind.PROVIDER_ERASE,
            DueKind.PROVIDER_PHONE,
            DueKind.REGISTRATION_REFUND,
            DueKind.PROVIDER_CUSTOMER,
        ):
            return DueSubject.CUSTOMER
        if self is DueKind.PRICE_NOTICES:
            return DueSubject.PRICE_CHANGE
        return DueSubject.SUBSCRIPTION


class InvalidChargeRefError(ValueError):
    """Text that does not name a charge attempt as `{invoice_id}:{attempt}`."""


@dataclass(frozen=True, slots=True)
class ChargeRef:
    """One attempt of one invoice; as text `{invoice_id}:{attempt}` (the due index's and the
    provider links' id of the attempt). An invoice id may itself hold colons: the attempt is
    what follows the last one."""

    invoice_id: str
    attempt: int

    def __str__(self) -> str:
        return f"{self.invoice_id}:{self.attempt}"

    @classmethod
    def parse(cls, text: str) -> "ChargeRef":
        invoice_id, colon, attempt = text.rpartition(":")
        if not colon or not invoice_id or not attempt.isascii() or not attempt.isdigit():
            raise InvalidChargeRefError(f"not a charge reference (invoice:attempt): {text!r}")
        return cls(invoice_id, int(attempt))
