"""Routes for subscriptions (create, read, the lifecycle commands) and invoices."""

import secrets
from typing import Annotated

from api_guard import BEARER
from api_schemas import (
    PATH_ID_PATTERN,
    CancelRequest,
    ChangePlanRequest,
    InvoicePage,
    PauseRequest,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionPage,
    change_view,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.services import catalog, subscriptions
from tenure.views import (
    InvoiceView,
    SubscriptionView,
    invoice_view,
    subscription_view,
)

router = APIGatewayHttpRouter()

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.post("/v1/subscriptions", status_code=201, security=BEARER, tags=["subscriptions"])
def create_subscription(body: SubscriptionCreate) -> SubscriptionChange:
    """Subscribe a customer to a plan; the first invoice comes back too (none during a trial)."""
    outcome = subscriptions.subscribe(
        bootstrap.services(), body.id or f"sub_{secrets.token_hex(12)}", body.customer, body.plan
    )
    return change_view(outcome.subscription, outcome.invoice)


@router.get("/v1/subscriptions/<subscription_id>", security=BEARER, tags=["subscriptions"])
def get_subscription(subscription_id: Id) -> SubscriptionView:
    return subscription_view(subscriptions.get_subscription(bootstrap.services(), subscription_id))


@router.get("/v1/customers/<customer_id>/subscriptions", security=BEARER, tags=["subscriptions"])
def list_customer_subscriptions(customer_id: Id) -> SubscriptionPage:
    svc = bootstrap.services()
    catalog.get_customer(svc, customer_id)  # an unknown customer is a 404, not an empty list
    return {"data": [subscription_view(s) for s in svc.repo.list_subscriptions(customer_id)]}


@router.post("/v1/subscriptions/<subscription_id>/cancel", security=BEARER, tags=["subscriptions"])
def cancel_subscription(
    subscription_id: Id, body: Annotated[CancelRequest, Body()] = CancelRequest()
) -> SubscriptionChange:
    outcome = subscriptions.cancel(
        bootstrap.services(), subscription_id, body.at_period_end, body.reason
    )
    return change_view(outcome.subscription, outcome.invoice)


@router.post("/v1/subscriptions/<subscription_id>/pause", security=BEARER, tags=["subscriptions"])
def pause_subscription(
    subscription_id: Id, body: Annotated[PauseRequest, Body()] = PauseRequest()
) -> SubscriptionChange:
    outcome = subscriptions.pause(bootstrap.services(), subscription_id, body.until)
    return change_view(outcome.subscription, outcome.invoice)


@router.post("/v1/subscriptions/<subscription_id>/resume", security=BEARER, tags=["subscriptions"])
def resume_subscription(subscription_id: Id) -> SubscriptionChange:
    """Resume a pause (a new period starts and is invoiced) or withdraw a scheduled cancellation."""
    outcome = subscriptions.resume(bootstrap.services(), subscription_id)
    return change_view(outcome.subscription, outcome.invoice)


@router.post(
    "/v1/subscriptions/<subscription_id>/change-plan", security=BEARER, tags=["subscriptions"]
)
def change_plan(subscription_id: Id, body: ChangePlanRequest) -> SubscriptionChange:
    """Switch plans; an upgrade is invoiced at once (proration), a downgrade becomes credit."""
    outcome = subscriptions.change_plan(bootstrap.services(), subscription_id, body.plan)
    return change_view(outcome.subscription, outcome.invoice)


@router.get("/v1/invoices/<invoice_id>", security=BEARER, tags=["invoices"])
def get_invoice(invoice_id: Id) -> InvoiceView:
    return invoice_view(subscriptions.get_invoice(bootstrap.services(), invoice_id))


@router.get("/v1/subscriptions/<subscription_id>/invoices", security=BEARER, tags=["invoices"])
def list_subscription_invoices(subscription_id: Id) -> InvoicePage:
    svc = bootstrap.services()
    subscriptions.get_subscription(svc, subscription_id)  # unknown subscription: 404
    return {"data": [invoice_view(i) for i in svc.repo.list_invoices(subscription_id)]}
