"""Documents made on request: an invoice's or a credit note's PDF, for the API and the
customer's pages."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenure.domain.errors import IllegalTransitionError, NotFoundError
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.services.catalog import get_customer
from tenure.services.context import Services

if TYPE_CHECKING:
    from tenure.documents.invoice_pdf import Party
    from tenure.settings import Settings


@dataclass(frozen=True, slots=True)
class InvoicePdf:
    filename: str
    body: bytes


def seller_of(settings: "Settings") -> "Party":
    """The seller documents print: the legal details from settings (docs/invoices.md), the
    business's name when no legal name is set."""
    from tenure.documents.invoice_pdf import Party

    return Party(
        name=settings.seller_name or settings.business_name,
        address=settings.seller_address or None,
        tax_id=settings.seller_tax_id or None,
    )


def invoice_pdf(svc: Services, invoice: Invoice, seller: "Party") -> InvoicePdf:
    """The invoice's PDF in its customer's language and time zone. A draft is not a document
    yet (IllegalTransitionError): what it says may still change."""
    from tenure.documents.invoice_pdf import invoice_sheet, render_pdf  # fpdf2: here only

    if invoice.status is InvoiceStatus.DRAFT:
        raise IllegalTransitionError("download", "draft", "it is not final yet", "invoice")
    sheet = invoice_sheet(invoice, get_customer(svc, invoice.customer_id), seller)
    return InvoicePdf(sheet.filename, render_pdf(sheet))


def credit_note_pdf(svc: Services, credit_note_id: str, seller: "Party") -> InvoicePdf:
    """A credit note's PDF (NotFoundError for an unknown id)."""
    from tenure.documents.invoice_pdf import credit_note_sheet, render_pdf

    # A credit note's id names its invoice: cn_{invoice id}_{n}.
    invoice_id = credit_note_id.removeprefix("cn_").rpartition("_")[0]
    invoice = svc.repo.get_invoice(invoice_id) if credit_note_id.startswith("cn_") else None
    notes = svc.repo.list_credit_notes(invoice.id) if invoice is not None else []
    note = next((n for n in notes if n.id == credit_note_id), None)
    if invoice is None or note is None:
        raise NotFoundError("credit note", credit_note_id)
    sheet = credit_note_sheet(note, invoice, get_customer(svc, invoice.customer_id), seller)
    return InvoicePdf(sheet.filename, render_pdf(sheet))
