"""Routes for credit notes: the notes issued against one invoice."""

from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.services import credit_notes
from tenure.views import CreditNotePage, credit_note_view

router = APIGatewayHttpRouter()

InvoiceId = Annotated[str, Query(pattern=PATH_ID_PATTERN)]


@router.get("/v1/credit-notes", security=BEARER, tags=["invoices"])
def list_credit_notes(invoice: InvoiceId) -> CreditNotePage:
    """The credit notes of an invoice, oldest first, each with its legal number. An unknown
    invoice: 404."""
    svc = bootstrap.wiring().services
    _, notes = credit_notes.invoice_with_credit_notes(svc, invoice)
    return {"data": [credit_note_view(n) for n in notes]}
