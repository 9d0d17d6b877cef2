"""Routes for customers, their payment methods, and plans."""

import secrets
from typing import Annotated

from api_guard import BEARER
from api_schemas import (
    PATH_ID_PATTERN,
    CustomerCreate,
    CustomerPage,
    CustomerUpdate,
    PaymentMethodAttach,
    PlanPage,
    PriceChangeCreate,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.plan_spec import PlanSpec, tier_table
from tenure.services import cards, catalog, pricing
from tenure.services.customer_updates import CustomerChanges, update_customer
from tenure.views import (
    CustomerView,
    PaymentMethodView,
    PlanPricesView,
    customer_view,
    payment_method_view,
    plan_prices_view,
)

router = APIGatewayHttpRouter()

CustomerId = Annotated[str, Path(pattern=PATH_ID_PATTERN)]
PlanId = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.post("/v1/customers", status_code=201, security=BEARER, tags=["customers"])
def create_customer(body: CustomerCreate) -> CustomerView:
    customer = catalog.create_customer(
        bootstrap.wiring().services,
        body.id or f"cus_{secrets.token_hex(12)}",
        email=body.email,
        name=body.name,
        locale=body.locale,
        timezone=body.timezone,
        provider=body.provider,
        billing=body.billing(),
        phone=body.phone,
    )
    return customer_view(customer)


@router.get("/v1/customers", security=BEARER, tags=["customers"])
def list_customers(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
) -> CustomerPage:
    customers, cursor = catalog.list_customers(bootstrap.wiring().services, limit, starting_after)
    return {
        "data": [customer_view(c) for c in customers],
        "has_more": cursor is not None,
        "next_cursor": cursor,
    }


@router.get("/v1/customers/<customer_id>", security=BEARER, tags=["customers"])
def get_customer(customer_id: CustomerId) -> CustomerView:
    return customer_view(catalog.get_customer(bootstrap.wiring().services, customer_id))


@router.patch("/v1/customers/<customer_id>", security=BEARER, tags=["customers"])
def patch_customer(customer_id: CustomerId, body: CustomerUpdate) -> CustomerView:
    svc = bootstrap.wiring().services
    return customer_view(update_customer(svc, customer_id, CustomerChanges(body.given())))


@router.post(
    "/v1/customers/<customer_id>/payment-methods",
    status_code=201,
    security=BEARER,
    tags=["customers"],
)
def attach_payment_method(customer_id: CustomerId, body: PaymentMethodAttach) -> PaymentMethodView:
    # A retry of what is owed that fails after the card was stored is not raised (it comes
    # back as retry_pending): the answer is the stored card, so the caller attaches it once.
    update = cards.update_payment_method(
        bootstrap.wiring().services,
        customer_id,
        body.payment_method,
        provider=bootstrap.wiring().settings.payment_provider,
        make_default=body.default,
    )
    return payment_method_view(update.method)


@router.post("/v1/plans", status_code=201, security=BEARER, tags=["plans"])
def create_plan(body: PlanSpec) -> PlanSpec:
    return PlanSpec.of(catalog.create_plan(bootstrap.wiring().services, body.to_plan()))


@router.get("/v1/plans", security=BEARER, tags=["plans"])
def list_plans() -> PlanPage:
    return {"data": [PlanSpec.of(plan) for plan in catalog.list_plans(bootstrap.wiring().services)]}


@router.get("/v1/plans/<plan_id>", security=BEARER, tags=["plans"])
def get_plan_prices(plan_id: PlanId) -> PlanPricesView:
    svc = bootstrap.wiring().services
    return plan_prices_view(catalog.get_current_plan(svc, plan_id), svc.clock.now())


@router.post("/v1/plans/<plan_id>/price-changes", status_code=201, security=BEARER, tags=["plans"])
def schedule_price_change(plan_id: PlanId, body: PriceChangeCreate) -> PlanPricesView:
    svc = bootstrap.wiring().services
    plan = pricing.schedule_price_change(
        svc,
        plan_id,
        body.amount,
        body.effective_at,
        notice_days=body.notice_days,
        grandfather=body.grandfather,
        currency=body.currency,
        tiers=None if body.tiers is None else tier_table(body.tiers),
    )
    return plan_prices_view(plan, svc.clock.now())
