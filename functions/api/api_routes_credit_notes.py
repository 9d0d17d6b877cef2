"""Routes for credit notes: the notes issued against one invoice."""

from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN, pdf_response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.documents.invoice_pdf import PDF_CONTENT_TYPE
from tenure.services import credit_notes, documents
from tenure.views import CreditNotePage, credit_note_view

router = APIGatewayHttpRouter()

InvoiceId = Annotated[str, Query(pattern=PATH_ID_PATTERN)]
Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.get("/v1/credit-notes", security=BEARER, tags=["invoices"])
def list_credit_notes(invoice: InvoiceId) -> CreditNotePage:
    """The credit notes of an invoice, oldest first, each with its legal number. An unknown
    invoice: 404."""
    svc = bootstrap.wiring().services
    credited, notes = credit_notes.invoice_with_credit_notes(svc, invoice)
    return {"data": [credit_note_view(n, credited) for n in notes]}


@router.get(
    "/v1/credit-notes/<credit_note_id>/pdf",
    security=BEARER,
    tags=["invoices"],
    responses={200: {"description": "The credit note as a PDF", "content": {PDF_CONTENT_TYPE: {}}}},
)
# Unannotated return on purpose: Powertools validates an annotated return as JSON, and a
# PDF is bytes (sent base64-encoded, as API Gateway expects binary bodies).
def get_credit_note_pdf(credit_note_id: Id):
    """The credit note as a PDF in its customer's language and time zone."""
    svc = bootstrap.wiring().services
    pdf = documents.credit_note_pdf(svc, credit_note_id, documents.seller_of(bootstrap.settings()))
    return pdf_response(pdf)
