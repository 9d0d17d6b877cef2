"""Routes for subscriptions (create, read, the lifecycle commands) and invoices."""

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from api_guard import BEARER
from api_schemas import (
    PATH_ID_PATTERN,
    ApplyCouponRequest,
    CancelChange,
    CancelRequest,
    ChangeItemsRequest,
    ChangePlanRequest,
    InvoicePage,
    PauseRequest,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionPage,
    change_view,
    pdf_response,
)
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.documents.invoice_pdf import PDF_CONTENT_TYPE
from tenure.domain.errors import DomainError
from tenure.domain.invoices import Invoice
from tenure.domain.item_spec import to_addons
from tenure.services import cancellation, catalog, credit_notes, documents, subscriptions
from tenure.services.context import Services
from tenure.views import (
    InvoiceDetailView,
    PartyView,
    SubscriptionView,
    invoice_detail_view,
    invoice_view,
    offer_view,
    refund_view,
    subscription_view,
)

router = APIGatewayHttpRouter()
logger = Logger(service="tenure-api", child=True)

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.post("/v1/subscriptions", status_code=201, security=BEARER, tags=["subscriptions"])
def create_subscription(body: SubscriptionCreate) -> SubscriptionChange:
    """Subscribe a customer to a plan; the first invoice comes back too (none during a trial)."""
    svc = bootstrap.wiring().services
    subscription_id = body.id or f"sub_{secrets.token_hex(12)}"
    return _command(
        svc,
        subscription_id,
        lambda: subscriptions.subscribe(
            svc, subscription_id, body.customer, body.plan, body.coupon, body.items()
        ),
    )


@router.get("/v1/subscriptions/<subscription_id>", security=BEARER, tags=["subscriptions"])
def get_subscription(subscription_id: Id) -> SubscriptionView:
    return subscription_view(
        subscriptions.get_subscription(bootstrap.wiring().services, subscription_id)
    )


@router.get("/v1/customers/<customer_id>/subscriptions", security=BEARER, tags=["subscriptions"])
def list_customer_subscriptions(customer_id: Id) -> SubscriptionPage:
    svc = bootstrap.wiring().services
    catalog.get_customer(svc, customer_id)  # an unknown customer is a 404, not an empty list
    return {
        "data": [subscription_view(s) for s in subscriptions.list_subscriptions(svc, customer_id)]
    }


@router.post("/v1/subscriptions/<subscription_id>/cancel", security=BEARER, tags=["subscriptions"])
def cancel_subscription(
    subscription_id: Id, body: Annotated[CancelRequest, Body()] = CancelRequest()
) -> CancelChange:
    """Cancel now or at the period end. Opted in with `offers`, while the business has save
    offers configured, nothing changes yet: the exit reason and the offers are recorded, and
    the offers answered; accept one (`/offers/{offer_id}/accept`) or cancel again with
    `decline_offers`. `refund` (immediate cancels) refunds the period cut short."""
    svc = bootstrap.wiring().services
    asked: dict[str, cancellation.CancelOutcome] = {}

    def cancel() -> subscriptions.Outcome:
        done = cancellation.request_cancel(
            svc,
            subscription_id,
            at_period_end=body.at_period_end,
            reason=body.reason,
            reason_text=body.reason_text,
            refund=body.refund,
            offers=body.offers,
            decline_offers=body.decline_offers,
        )
        asked["outcome"] = done
        return subscriptions.Outcome(done.subscription)

    change = _command(svc, subscription_id, cancel)
    done = asked.get("outcome")
    return {
        **change,
        "offers": [offer_view(o) for o in done.offers] if done else [],
        "refunds": [
            refund_view(r, subscriptions.get_invoice(svc, r.invoice_id)) for r in done.refunds
        ]
        if done
        else [],
    }


@router.post(
    "/v1/subscriptions/<subscription_id>/offers/<offer_id>/accept",
    security=BEARER,
    tags=["subscriptions"],
)
def accept_offer(subscription_id: Id, offer_id: Id) -> SubscriptionChange:
    """Accept a save offer presented by a cancel: it is applied (a pause, a coupon, a plan
    change) and the subscription is not canceled. An offer not presented is a 404; one
    accepted already, or after the cancellation went ahead, a 409."""
    svc = bootstrap.wiring().services
    return _command(
        svc, subscription_id, lambda: cancellation.accept_offer(svc, subscription_id, offer_id)
    )


@router.post("/v1/subscriptions/<subscription_id>/pause", security=BEARER, tags=["subscriptions"])
def pause_subscription(
    subscription_id: Id, body: Annotated[PauseRequest, Body()] = PauseRequest()
) -> SubscriptionChange:
    svc = bootstrap.wiring().services
    return _command(
        svc, subscription_id, lambda: subscriptions.pause(svc, subscription_id, body.until)
    )


@router.post("/v1/subscriptions/<subscription_id>/resume", security=BEARER, tags=["subscriptions"])
def resume_subscription(subscription_id: Id) -> SubscriptionChange:
    """Resume a pause (a new period starts and is invoiced) or withdraw a scheduled cancellation."""
    svc = bootstrap.wiring().services
    return _command(svc, subscription_id, lambda: subscriptions.resume(svc, subscription_id))


@router.post(
    "/v1/subscriptions/<subscription_id>/change-plan", security=BEARER, tags=["subscriptions"]
)
def change_plan(subscription_id: Id, body: ChangePlanRequest) -> SubscriptionChange:
    """Switch plans; an upgrade is invoiced at once (proration), a downgrade becomes credit."""
    svc = bootstrap.wiring().services
    return _command(
        svc, subscription_id, lambda: subscriptions.change_plan(svc, subscription_id, body.plan)
    )


@router.post("/v1/subscriptions/<subscription_id>/items", security=BEARER, tags=["subscriptions"])
def change_items(subscription_id: Id, body: ChangeItemsRequest) -> SubscriptionChange:
    """Change seats or add-ons; now (prorated: more is invoiced at once, less becomes credit)
    or at the period's end."""
    svc = bootstrap.wiring().services
    addons = to_addons(body.addons)
    return _command(
        svc,
        subscription_id,
        lambda: subscriptions.change_items(
            svc, subscription_id, body.quantity, addons, body.at == "period_end"
        ),
    )


@router.post("/v1/subscriptions/<subscription_id>/coupon", security=BEARER, tags=["subscriptions"])
def apply_coupon(subscription_id: Id, body: ApplyCouponRequest) -> SubscriptionChange:
    """Redeem a coupon for a subscription; it covers the period invoices from the next one on
    (the current period keeps its price). One coupon at a time: refused (422) while one is
    still to run, and when the coupon is unknown (404), expired, used up, for other plans or
    in another currency (422)."""
    svc = bootstrap.wiring().services
    return _command(
        svc, subscription_id, lambda: subscriptions.apply_coupon(svc, subscription_id, body.coupon)
    )


@router.get("/v1/invoices/<invoice_id>", security=BEARER, tags=["invoices"])
def get_invoice(invoice_id: Id) -> InvoiceDetailView:
    """The invoice with its legal number, its credit notes, and the seller and buyer it is
    made out between (docs/invoices.md)."""
    wired = bootstrap.wiring()
    invoice, notes, buyer = credit_notes.invoice_with_buyer(wired.services, invoice_id)
    settings = wired.settings
    seller: PartyView = {
        "name": settings.seller_name or settings.business_name,
        "address": settings.seller_address or None,
        "tax_id": settings.seller_tax_id or None,
    }
    return invoice_detail_view(invoice, notes, seller, buyer)


@router.get(
    "/v1/invoices/<invoice_id>/pdf",
    security=BEARER,
    tags=["invoices"],
    responses={200: {"description": "The invoice as a PDF", "content": {PDF_CONTENT_TYPE: {}}}},
)
# Unannotated return on purpose: Powertools validates an annotated return as JSON, and a
# PDF is bytes (sent base64-encoded, as API Gateway expects binary bodies).
def get_invoice_pdf(invoice_id: Id):
    """The invoice as a PDF in its customer's language (Arabic right to left) and time zone."""
    svc = bootstrap.wiring().services
    invoice = subscriptions.get_invoice(svc, invoice_id)
    pdf = documents.invoice_pdf(svc, invoice, documents.seller_of(bootstrap.settings()))
    return pdf_response(pdf)


@router.get("/v1/subscriptions/<subscription_id>/invoices", security=BEARER, tags=["invoices"])
def list_subscription_invoices(subscription_id: Id) -> InvoicePage:
    svc = bootstrap.wiring().services
    subscriptions.get_subscription(svc, subscription_id)  # unknown subscription: 404
    return {"data": [invoice_view(i) for i in subscriptions.list_invoices(svc, subscription_id)]}


def _command(
    svc: Services, subscription_id: str, run: Callable[[], subscriptions.Outcome]
) -> SubscriptionChange:
    """Run a subscription command. One that fails after writing (a later step lost a race)
    answers with what it wrote, read back: a response never reports failure for a change
    that was committed, or the caller's retry would make it twice."""
    written, started = svc.commits, svc.clock.now()
    try:
        outcome = run()
    except DomainError as exc:
        if svc.commits == written:
            raise
        logger.warning(
            "command failed after writing; answered with what it wrote",
            extra={"error": type(exc).__name__, "subscription": subscription_id},
        )
        sub = subscriptions.get_subscription(svc, subscription_id)
        return change_view(sub, _newest_since(subscriptions.list_invoices(svc, sub.id), started))
    return change_view(outcome.subscription, outcome.invoice)


def _newest_since(invoices: list[Invoice], started: datetime) -> Invoice | None:
    made = [i for i in invoices if i.created_at >= started]
    return max(made, key=lambda i: i.created_at) if made else None
