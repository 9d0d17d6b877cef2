"""Data-protection requests (scope `admin`): a customer's export, erasure and legal hold.
See docs/privacy.md."""

from pathlib import Path
from typing import Annotated, Any

from api_guard import BEARER
from api_routes_operator import actor
from api_schemas import PATH_ID_PATTERN, OperatorNote
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.notify.mailers import forget_outbox_copies
from tenure.services import privacy
from tenure.views import audit_view, customer_view
from tenure.views_privacy import export_view, legal_hold_view

router = APIGatewayHttpRouter()

Id = Annotated[str, PathParam(pattern=PATH_ID_PATTERN)]


@router.get("/v1/customers/<customer_id>/export", security=BEARER, tags=["privacy"])
def export_customer(customer_id: Id) -> dict[str, Any]:
    """Everything Tenure holds about the customer, as JSON (what is and is not included:
    `scope`). An unknown customer: 404."""
    svc = bootstrap.wiring().services
    return export_view(privacy.customer_records(svc, customer_id))


@router.post("/v1/customers/<customer_id>/erase", security=BEARER, tags=["privacy"])
def erase_customer(customer_id: Id, body: OperatorNote) -> dict[str, Any]:
    """Replace the customer's personal data with a pseudonym everywhere, keeping what tax law
    requires of issued invoices in the legal hold. A customer with a live subscription or
    installment plan: 409 (cancel it first). Erased already: 200, nothing changes."""
    wired = bootstrap.wiring()
    done = privacy.erase_customer(wired.services, customer_id, actor=actor(), note=body.note)
    if wired.settings.outbox_dir:  # a local stack keeps a copy of every email sent
        forget_outbox_copies(Path(wired.settings.outbox_dir), customer_id)
    return {
        "customer": customer_view(done.customer),
        "audit": audit_view(done.audit) if done.audit is not None else None,
        "legal_hold": done.legal_hold,
        "already_erased": done.audit is None,
    }


@router.get("/v1/customers/<customer_id>/legal-hold", security=BEARER, tags=["privacy"])
def get_legal_hold(customer_id: Id) -> dict[str, Any]:
    """What tax law requires to be kept of an erased customer's invoices (the buyer's name,
    address and tax id). 404: no such customer, or none kept."""
    svc = bootstrap.wiring().services
    return legal_hold_view(privacy.legal_hold(svc, customer_id))
