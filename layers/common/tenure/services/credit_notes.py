"""Reading an invoice's credit notes (written by the use cases that credit money), and
crediting the refunds the provider reported, at the day's close."""

from tenure.domain.credit_notes import CreditNote, credit_settled_refunds
from tenure.domain.customers import Customer
from tenure.domain.invoices import Invoice
from tenure.ports import Commit
from tenure.services.context import Services
from tenure.services.subscriptions import get_invoice


def invoice_with_credit_notes(svc: Services, invoice_id: str) -> tuple[Invoice, list[CreditNote]]:
    """The invoice (NotFoundError when unknown) and its credit notes, oldest first. An
    invoice counts its notes, so one never credited costs no second read."""
    invoice = get_invoice(svc, invoice_id)
    return invoice, svc.repo.list_credit_notes(invoice_id) if invoice.credit_notes else []


def invoice_with_buyer(
    svc: Services, invoice_id: str
) -> tuple[Invoice, list[CreditNote], Customer | None]:
    """The invoice, its credit notes and the customer it is made out to (what an invoice
    prints of the buyer: docs/invoices.md)."""
    invoice, notes = invoice_with_credit_notes(svc, invoice_id)
    return invoice, notes, svc.repo.get_customer(invoice.customer_id)


def credit_at_close(svc: Services, invoice_id: str) -> CreditNote | None:
    """The day's close of an invoice whose refunds the provider reported: credit what
    settled (tenure.domain.credit_notes.credit_settled_refunds), in one commit with the
    invoice. None: nothing was due (done by another worker, or not yet its time) or
    nothing to credit."""
    invoice = svc.repo.get_invoice(invoice_id)
    now = svc.clock.now()
    if invoice is None or invoice.credit_due_at is None or invoice.credit_due_at > now:
        return None
    note = credit_settled_refunds(invoice, invoice.credit_due_at)
    svc.commit(Commit(invoices=[invoice], credit_notes=[note] if note else []))
    return note
