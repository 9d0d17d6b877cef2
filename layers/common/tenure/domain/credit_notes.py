"""Credit notes: the legal record that part of a finalized invoice is taken back.

An invoice's credit notes never sum to more than its total: each one is issued against what
is left to credit (`total - credited`), and the invoice counts them (`credit_notes`,
`credited`) in the same commit that writes the note, so two notes racing for the same
money cannot both be written (the invoice's version check refuses the second).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.invoices import Invoice, RefundStatus


class CreditReason(StrEnum):
    REFUND = "refund"  # money went back to the customer
    ADJUSTMENT = "adjustment"  # the invoice asked too much, nothing was paid back


@dataclass(slots=True)
class CreditNote:
    """One credit note. `number` is given by the store in the commit that writes it, from
    its own gap-free series (CN-…); None until then."""

    id: str  # cn_{invoice}_{n}: the n-th credit note of the invoice
    invoice_id: str
    customer_id: str
    amount: int  # minor units of `currency`, positive
    currency: str
    reason: CreditReason
    created_at: datetime
    number: str | None = None
    invoice_number: str | None = None  # the number of the invoice it credits
    # The refund Tenure made that it credits (None: an adjustment, a refund the provider
    # reported on its own, or a note issued before notes named their refund). A refund that
    # fails later leaves its note issued (as Stripe does: a note is never withdrawn, and
    # its refund shows failed); the provider's id tells the invoice's record of it.
    refund_id: str | None = None
    provider_refund_id: str | None = None


def left_to_credit(invoice: Invoice) -> int:
    return max(invoice.total - invoice.credited, 0)


def credit_invoice(
    invoice: Invoice,
    amount: int,
    reason: CreditReason,
    at: datetime,
    refund: tuple[str, str] | None = None,
) -> CreditNote:
    """Issue a credit note of `amount` against `invoice`, counted on the invoice. `refund`:
    the ids (Tenure's, the provider's) of the refund it credits, if one."""
    if not invoice.finalized:
        raise IllegalTransitionError(
            "credit", str(invoice.status), "only a finalized invoice", entity="invoice"
        )
    if amount <= 0:
        raise ValidationFailedError(
            "amount", f"a credit note is for a positive amount, not {amount}"
        )
    left = left_to_credit(invoice)
    if amount > left:
        raise ValidationFailedError(
            "amount", f"{amount} is more than the {left} left to credit on invoice {invoice.id}"
        )
    invoice.credit_notes += 1
    invoice.credited += amount
    if reason is CreditReason.REFUND:
        invoice.refunds_credited += amount
    return CreditNote(
        id=f"cn_{invoice.id}_{invoice.credit_notes}",
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        created_at=at,
        invoice_number=invoice.number,
        refund_id=refund[0] if refund else None,
        provider_refund_id=refund[1] if refund else None,
    )


def credit_refund(
    invoice: Invoice, amount: int, at: datetime, refund: tuple[str, str] | None = None
) -> CreditNote | None:
    """The credit note of one refund Tenure made of the invoice's payment: its amount, or
    what is left to credit when earlier notes took more (never past the total).

    Refunds the provider reports on its own (made in its dashboard) get no note here: their
    reports arrive in any order and may be undone (a refund that fails), while a note, once
    issued, is never withdrawn and takes the next number of its series. They are credited
    at the day's close instead (credit_settled_refunds)."""
    amount = min(amount, left_to_credit(invoice))
    if amount <= 0 or not invoice.finalized:
        return None
    return credit_invoice(invoice, amount, CreditReason.REFUND, at, refund)


def refund_failed(note: CreditNote, invoice: Invoice) -> RefundStatus | None:
    """`failed` (or `canceled`) when the provider reported so of the refund `note` credits,
    else None: the note stays issued, its refund shown failed. A person refunds again; the
    note already credits that money, so the new refund gets a note only for what is left."""
    if note.provider_refund_id is None:
        return None
    record = invoice.refunds.get(note.provider_refund_id)
    if record is None or record.status not in (RefundStatus.FAILED, RefundStatus.CANCELED):
        return None
    return record.status


def credit_settled_refunds(invoice: Invoice, at: datetime) -> CreditNote | None:
    """The day's close after the provider reported refunds of `invoice`: one note for what
    its refunds that succeeded took back and no note credits yet (Tenure's own refunds were
    credited when made), never past what is left to credit. The close is done either way.

    Why at a close and from totals: the reports of one day arrive in any order and any
    number of times, and a refund may be reported failed after it succeeded. What the
    invoice holds at the close is the same whatever the order of the reports it took, so
    the note is too; one note a day per invoice also keeps numbers from being spent on
    reports that later change. A refund that fails after its note is not taken back (a
    note is never withdrawn); one still pending at the close is credited at the close after
    its success is reported."""
    invoice.credit_due_at = None
    amount = min(invoice.refunds_settled - invoice.refunds_credited, left_to_credit(invoice))
    if amount <= 0 or not invoice.finalized:
        return None
    return credit_invoice(invoice, amount, CreditReason.REFUND, at)
