"""An invoice of the link's customer, as a printable page and as a PDF: the same rules as the
subscription page's link (its customer's own invoices only)."""

import re
from typing import Any

from api_pages_visit import Visit, page_route
from api_schemas import PATH_ID_PATTERN, PRIVATE_DOWNLOAD, pdf_response
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure.domain.invoices import LineKind
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import documents, self_service

router = APIGatewayHttpRouter()
route = page_route(router)
_INVOICE_ID = re.compile(PATH_ID_PATTERN)


def _invoice_asked() -> str:
    """The `invoice` the query names, or "" (not found, as any invoice not the customer's)
    when no invoice id could have its shape: never sent to the table, which refuses a key
    over 1 KB with an error of its own."""
    asked = router.current_event.get_query_string_value("invoice") or ""
    return asked if _INVOICE_ID.match(asked) else ""


# -- an invoice, printable --------------------------------------------------------------------
@route("GET", "/pages/invoice", LinkPurpose.MANAGE_SUBSCRIPTION)
def _show_invoice(visit: Visit) -> Response[str]:
    claims = visit.claims
    invoice_id = _invoice_asked()
    view = self_service.load_invoice_page(visit.svc, claims.customer_id, claims.subject, invoice_id)
    from tenure.notify.render import worded_lines  # Babel's import: paid by the pages only

    invoice, tz = view.invoice, view.customer.timezone
    lines = worded_lines(
        invoice.lines, invoice.period_start, invoice.period_end, visit.locale, tz or "UTC"
    )
    tax = sum(line.amount for line in invoice.lines if line.kind is LineKind.TAX)
    return visit.render(
        200,
        "invoice.html",
        "title_invoice",
        view=view,
        lines=lines,
        tax=tax,
        back_url="/pages/subscription",
    )


@route("GET", "/pages/invoice/pdf", LinkPurpose.MANAGE_SUBSCRIPTION, binary=True)
def _download_invoice(visit: Visit) -> Response[Any]:
    """The invoice page's PDF, under the same rules as the page: the link's customer's own
    invoices only."""
    invoice_id = _invoice_asked()
    claims = visit.claims
    view = self_service.load_invoice_page(visit.svc, claims.customer_id, claims.subject, invoice_id)
    pdf = documents.invoice_pdf(visit.svc, view.invoice, documents.seller_of(visit.settings))
    return pdf_response(pdf, PRIVATE_DOWNLOAD)
