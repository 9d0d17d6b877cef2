"""Routes of the retention programs: refunds of invoices, and save offers at cancellation."""

from typing import Annotated

from api_guard import BEARER, caller
from api_schemas import PATH_ID_PATTERN, RefundMade, RefundRequest
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.audit import SYSTEM_API
from tenure.domain.errors import ValidationFailedError
from tenure.services import refunds, subscriptions
from tenure.views import invoice_view, refund_view

router = APIGatewayHttpRouter()

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.post(
    "/v1/invoices/<invoice_id>/refund", status_code=201, security=BEARER, tags=["invoices"]
)
def refund_invoice(
    invoice_id: Id, body: Annotated[RefundRequest, Body()] = RefundRequest()
) -> RefundMade:
    """Refund some or all of a paid invoice's payment through the provider, once (send an
    Idempotency-Key). Without `amount` the refund policy decides (docs/api.md). Refused with
    nothing changed: an unpaid or fully refunded invoice (409), an amount over what is left
    (422); the provider not answering is a 503, safe to retry with the same key."""
    svc = bootstrap.wiring().services
    principal = caller()
    if principal is not None and principal.is_person and body.note is None:
        # A person's refund is an operator action: its audit entry says why.
        raise ValidationFailedError("note", "a note saying why is required of a person's token")
    # The provider not answering is api_resolver's 503, as for every route: nothing was
    # recorded, and the same request again uses the same provider key.
    made = refunds.refund_invoice(
        svc,
        invoice_id,
        amount=body.amount,
        reason=body.reason,
        note=body.note,
        policy=refunds.configured_policy(svc),
        actor=principal.name if principal is not None else SYSTEM_API,
    )
    invoice = subscriptions.get_invoice(svc, invoice_id)
    return {"refund": refund_view(made, invoice), "invoice": invoice_view(invoice)}
