"""Notices: the emails Tenure owes a customer, each owed once.

A notice is planned in the same transaction as the change that makes it due (a renewal, a
failed payment, a pause) and sent later by the reminders function, inside the customer's
quiet hours. Its key is its idempotency key: subscription (or customer), kind, period, step.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from tenure.domain.customers import Contact
from tenure.domain.invoices import Invoice
from tenure.domain.subscription import Subscription


class NoticeKind(StrEnum):
    UPCOMING_RENEWAL = "upcoming_renewal"
    TRIAL_ENDING = "trial_ending"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_ACTION_REQUIRED = "payment_action_required"
    CARD_EXPIRING = "card_expiring"
    PAUSE_ENDING = "pause_ending"
    INSTALLMENT_DUE = "installment_due"
    RECEIPT = "receipt"
    REFUND_RECEIPT = "refund_receipt"
    SUBSCRIPTION_ENDED = "subscription_ended"
    CARD_REQUIRED = "card_required"  # a trial converted with no card on file to pay it
    COLLECTIONS_OPENED = "collections_opened"  # an unpaid balance became a collections case
    # An installment or repayment plan defaulted or was canceled: nothing more is charged
    INSTALLMENT_PLAN_ENDED = "installment_plan_ended"
    PRE_DEBIT = "pre_debit"  # a debit on a mandate is coming (India: 24 h ahead at least)
    PRICE_CHANGE = "price_change"  # the plan's price changes from a coming renewal


class NoticeStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its send time
    SENDING = "sending"  # claimed by a reminders run; never sent again, even after a crash
    SENT = "sent"
    SKIPPED = "skipped"  # no longer true when its time came (canceled, paid, card replaced)
    SUPPRESSED = "suppressed"  # the address bounced or complained
    FAILED = "failed"  # could not be sent (no address, rejected by SES): counted, not retried


@dataclass(frozen=True, slots=True)
class LineFact:
    """One line of an itemized amount, as the email shows it.

    `label` says what the line is, so the email can word it in the customer's language
    ("plan", "intro_discount", "unused_time", "remaining_time", "credit_applied",
    "credit_carried", "coupon", "tenure_discount", "points_credit", "item"); `description` is the
    stored English text, shown only for a line no label fits."""

    description: str
    amount: int  # minor units, negative for discounts and credits
    label: str | None = None
    plan: str | None = None  # the plan a plan or proration line is about
    percent: str | None = None  # an introductory discount's percent off, e.g. "50" or "12.5"
    coupon: str | None = None  # a coupon line's coupon, by its name
    points: int | None = None  # a points_credit line's loyalty points
    start: datetime | None = None  # the period a plan line pays for
    end: datetime | None = None
    quantity: int | None = None  # an item line's seats or units (label "item")
    unit_amount: int | None = None  # an item line's price of one, None when tiers price it


@dataclass(frozen=True, slots=True)
class EmailFacts:
    """What a template may show. Every field a kind needs is filled by the planner (or by
    `sample_facts` for previews); the rest stay None. Money is in minor units of `currency`;
    moments are UTC and shown in the customer's time zone."""

    customer_name: str
    currency: str
    plan_name: str | None = None
    amount: int | None = None  # what will be (or was) charged, tax included
    lines: tuple[LineFact, ...] = ()
    tax: int | None = None
    when: datetime | None = None  # the renewal, trial end, retry, pause end or end date
    next_attempt_at: datetime | None = None  # payment_failed: the next retry, if any
    attempt: int | None = None  # payment_failed: which attempt failed (1-based)
    final_attempt: bool = False  # payment_failed: no retry follows
    decline_class: str | None = None  # "soft" | "hard" | "action_required"
    card_brand: str | None = None
    # trial_ending: whether a card was on file when the email was planned (None: not known,
    # a notice planned before this was recorded)
    card_on_file: bool | None = None
    card_last4: str | None = None
    card_exp_month: int | None = None
    card_exp_year: int | None = None
    refund_amount: int | None = None
    # subscription_ended: "voluntary" | "involuntary"; installment_plan_ended: "defaulted"
    # (an instalment went unpaid through dunning; "repayment_defaulted" for a repayment
    # plan), "canceled" (ended on request) or "left" (the customer left a repayment plan:
    # the balance waits for a new choice)
    ended_reason: str | None = None
    installment_number: int | None = None
    installment_count: int | None = None
    invoice_id: str | None = None  # for logs and links only: never shown to the customer
    # The period an invoice covers: it names the invoice in the email ("Basic, March 1 –
    # 31, 2026"), after its legal number when it has one (`invoice_number`).
    period_start: datetime | None = None
    period_end: datetime | None = None
    invoice_number: str | None = None  # shown to the customer: "INV-2026-000001"
    # upcoming_renewal: a tenure step the renewal applies for the first time, announced.
    tenure_months: int | None = None
    tenure_percent: str | None = None  # its percent off, exact, as text: "5", "12.5"
    # About an installment plan (an instalment's invoice or reminder): no subscription, so
    # the invoice is named by its line and the footer speaks of a payment plan.
    installment_plan: bool = False
    # pre_debit: the mandate's maximum, when the debit is above it and will not be made (the
    # email then asks for a new mandate instead of announcing the debit)
    mandate_limit: int | None = None
    # price_change: what each period cost before (`amount` is the new price, `when` the
    # first renewal at it)
    old_amount: int | None = None


@dataclass(slots=True)
class Notice:
    key: str  # idempotency key: f"{subject}:{kind}:{period}:{step}"
    kind: NoticeKind
    customer_id: str
    subscription_id: str | None
    due_at: datetime  # UTC, already moved into the customer's quiet hours
    created_at: datetime
    status: NoticeStatus = NoticeStatus.SCHEDULED
    # What the planner knew; the reminders run re-checks it against the current state.
    data: dict[str, Any] = field(default_factory=dict)
    sent_at: datetime | None = None
    message_id: str | None = None
    reason: str | None = None  # why it was skipped, suppressed or failed
    version: int = 0
    # Copies of what the email is written from, taken when it was planned, so that sending
    # it reads nothing: the customer's contact, and the subscription as that change stored
    # it (its `version` the stored one). The send's claim checks them against the stored
    # items; a check that fails, or a notice without copies (planned before they were
    # carried, or where they were not known), is sent from fresh reads instead.
    contact: Contact | None = None
    subscription: Subscription | None = None
    # A receipt's copy of its invoice as that change stored it (its `version` the stored
    # one), checked by the claim as the subscription's is.
    invoice: Invoice | None = None

    def next_due(self) -> tuple[datetime, str] | None:
        if self.status is NoticeStatus.SCHEDULED:
            return (self.due_at, str(self.kind))
        return None


def notice_key(subject: str, kind: NoticeKind, period: str, step: int | str = 0) -> str:
    return f"{subject}:{kind}:{period}:{step}"


def subscription_copy(sub: Subscription, version: int) -> Subscription:
    """What a notice keeps of `sub` (stored at `version`): all an email may show or check,
    without what the notice holds apart (the contact) or no email shows (the payer copy),
    so that the notice stays a small item."""
    return replace(
        sub,
        version=version,
        listed=False,  # a charge's question, not an email's
        contact=None,
        payment_method=None,
        provider_customer_id=None,
        events=[],
        ledger=[],
    )


def invoice_copy(invoice: Invoice, version: int) -> Invoice:
    """What a notice keeps of `invoice` (stored at `version`): all an email may show, a copy
    of its own (the change may go on changing the invoice it was taken from), without its
    metadata (provider references no email shows), so that the notice stays a small item.

    Its lines and refunds are frozen and hold only values that cannot change: new lists
    and dicts of them share nothing the invoice's owner can change, for a fortieth of the
    cost of a deep copy (tests/unit/domain/test_invoice_copy.py checks each field's type)."""
    return replace(
        invoice,
        version=version,
        metadata={},
        lines=list(invoice.lines),
        refunds=dict(invoice.refunds),
    )
