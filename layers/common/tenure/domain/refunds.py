"""Refunds Tenure makes, and the refund policy that says how much a request gives back.

The policy (`programs.refunds`, tenure.domain.programs.RefundPolicy): within `window_days`
of the charge a refund returns what is left of it in full; after the window, `prorated`
returns the unused share of the period the invoice paid for, to the second, and `none`
returns nothing. An operator who names an
amount decides for themselves: that refund is `partial` (or `full` when it is all that is
left), whatever the policy says.

Every refund is measured against what the provider holds as refunded (refunds made in its
dashboard included, `Invoice.amount_refunded`), so a refund never returns more than was paid.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from tenure.domain.calendar import seconds_between
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.invoices import Invoice, InvoiceStatus, RefundStatus
from tenure.domain.money import charge_step, round_to_step, unchargeable
from tenure.domain.programs import AfterWindow, RefundPolicy
from tenure.domain.timeutil import utc


class RefundBasis(StrEnum):
    """Why a refund is the amount it is (state.json `refunds[].policy`)."""

    FULL = "full"  # everything that was left of the charge
    PRORATED = "prorated"  # the period's unused share, after the window
    PARTIAL = "partial"  # an amount someone chose, less than what was left


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund Tenure asked the provider for, as recorded with its effect."""

    id: str  # rf_{invoice}_{n}: the n-th refund of the invoice's payment
    invoice_id: str
    subscription_id: str
    customer_id: str
    charge_id: str  # the attempt that paid the invoice
    payment_id: str  # the provider's payment refunded
    provider_refund_id: str
    amount: int  # minor units of `currency`
    currency: str
    at: datetime
    basis: RefundBasis
    reason: str | None = None
    note: str | None = None


def refund_status(invoice: Invoice, refund: Refund) -> RefundStatus:
    """Where `refund` stands at the provider, in Stripe's words (`succeeded`, `pending`,
    `failed`, ...): as the provider last reported it on the invoice, else pending (recorded
    pending when made; no report taken yet)."""
    record = invoice.refunds.get(refund.provider_refund_id)
    return record.status if record is not None else RefundStatus.PENDING


def refundable(invoice: Invoice, used: int = 0) -> int:
    """What is left to refund of the invoice's payment, less `used`: its unused time given
    back as credit and used already (tenure.domain.unused_credit); refuses an invoice
    nothing can be refunded of (IllegalTransitionError: not paid, or refunded in full
    already, or all that is left of it was given back as credit and used)."""
    if invoice.status is not InvoiceStatus.PAID or invoice.total <= 0:
        raise IllegalTransitionError(
            "refund", str(invoice.status), "only a paid invoice can be refunded", entity="invoice"
        )
    left = invoice.total - invoice.amount_refunded
    if left <= 0:
        raise IllegalTransitionError(
            "refund", "refunded in full", "nothing is left to refund", entity="invoice"
        )
    if left - used <= 0:
        raise IllegalTransitionError(
            "refund",
            "credited",
            "what is left of it was given back as credit for unused time and used",
            entity="invoice",
        )
    return left - used


def requested_refund(invoice: Invoice, amount: int, used: int = 0) -> tuple[int, RefundBasis]:
    """An amount someone named: at most what is left (else ValidationFailedError on
    `amount`; `used` as for `refundable`)."""
    left = refundable(invoice, used)
    if amount <= 0:
        raise ValidationFailedError("amount", "must be a positive amount in minor units")
    why = unchargeable(amount, invoice.currency)
    if why:  # KWD 0.005: the provider would refuse it, so it is refused here, before any call
        raise ValidationFailedError("amount", why.replace("be charged", "be refunded"))
    if amount > left:
        raise ValidationFailedError(
            "amount", f"is more than what is left to refund of the invoice ({left})"
        )
    return amount, RefundBasis.FULL if amount == left else RefundBasis.PARTIAL


def policy_refund(
    invoice: Invoice,
    policy: RefundPolicy | None,
    now: datetime,
    used: int = 0,
    stopped_at: datetime | None = None,
) -> tuple[int, RefundBasis]:
    """What `policy` gives back of the invoice at `now` (0 when nothing: after the window
    with `none`, or when earlier refunds already returned the prorated share). `used` as
    for `refundable`; `stopped_at`: when the service stopped (a pause), counted instead of
    `now` for the unused share."""
    left = refundable(invoice, used)
    paid_at = invoice.paid_at or invoice.created_at
    if policy is None or utc(now) <= paid_at + timedelta(days=policy.window_days):
        return left, RefundBasis.FULL
    if policy.after_window is AfterWindow.NONE:
        return 0, RefundBasis.PRORATED
    unused = invoice.total * unused_share(invoice, stopped_at or now)
    share = round_to_step(unused, charge_step(invoice.currency))
    # The unused share less what refunds gave back and what was credited and used of it.
    return max(min(share - invoice.amount_refunded - used, left), 0), RefundBasis.PRORATED


def unused_share(invoice: Invoice, now: datetime) -> Fraction:
    """The share of the invoice's period still ahead at `now`, to the second (0 to 1)."""
    whole = seconds_between(invoice.period_start, invoice.period_end)
    if whole <= 0:
        return Fraction(0)
    left = seconds_between(utc(now), invoice.period_end)
    return Fraction(min(max(left, 0), whole), whole)


def refund_id(invoice_id: str, n: int) -> str:
    return f"rf_{invoice_id}_{n}"


def idempotency_key(invoice_id: str, n: int) -> str:
    """The provider key of the n-th refund of an invoice's payment: two requests racing for
    the same refund send the same key, and the provider moves the money once."""
    return f"refund:{invoice_id}:{n}"
