"""Reading an invoice's credit notes (they are written by the use cases that credit money)."""

from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Customer
from tenure.domain.invoices import Invoice
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
