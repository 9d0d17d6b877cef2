"""Documents made on request: an invoice's PDF, for the API and the customer's pages."""

from collections.abc import Sequence
from dataclasses import dataclass

from tenure.domain.errors import IllegalTransitionError, NotFoundError
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.services.context import Services


@dataclass(frozen=True, slots=True)
class InvoicePdf:
    filename: str
    body: bytes


def invoice_pdf(svc: Services, invoice: Invoice, seller: Sequence[str]) -> InvoicePdf:
    """The invoice's PDF in its customer's language and time zone. A draft is not a document
    yet (IllegalTransitionError): what it says may still change."""
    from tenure.documents.invoice_pdf import invoice_sheet, render_pdf  # fpdf2: here only

    if invoice.status is InvoiceStatus.DRAFT:
        raise IllegalTransitionError("download", "draft", "it is not final yet", "invoice")
    customer = svc.repo.get_customer(invoice.customer_id)
    if customer is None:
        raise NotFoundError("customer", invoice.customer_id)
    body = render_pdf(invoice_sheet(invoice, customer, seller))
    return InvoicePdf(f"invoice-{invoice.created_at:%Y-%m-%d}.pdf", body)
