"""Routes for installment plans: create one for a customer, read one, list a customer's."""

import secrets
from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN, InstallmentPlanCreate
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.services import installments
from tenure.views import (
    InstallmentPlanPage,
    InstallmentPlanView,
    installment_plan_view,
)

router = APIGatewayHttpRouter()

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.post(
    "/v1/customers/<customer_id>/installment-plans",
    status_code=201,
    security=BEARER,
    tags=["installment plans"],
)
def create_installment_plan(customer_id: Id, body: InstallmentPlanCreate) -> InstallmentPlanView:
    """Split a one-off amount into 2-12 instalments, every week, two weeks or month, each
    charged when due. An amount that does not split into positive instalments, an unknown
    currency: 422, nothing written."""
    svc = bootstrap.wiring().services
    plan_id = body.id or f"ipl_{secrets.token_hex(12)}"
    plan = installments.create_installment_plan(
        svc,
        customer_id,
        plan_id,
        body.amount,
        body.currency,
        body.count,
        body.every,
        body.description,
        body.start,
    )
    return installment_plan_view(plan)


@router.get("/v1/installment-plans/<plan_id>", security=BEARER, tags=["installment plans"])
def get_installment_plan(plan_id: Id) -> InstallmentPlanView:
    return installment_plan_view(
        installments.get_installment_plan(bootstrap.wiring().services, plan_id)
    )


@router.get(
    "/v1/customers/<customer_id>/installment-plans", security=BEARER, tags=["installment plans"]
)
def list_installment_plans(customer_id: Id) -> InstallmentPlanPage:
    svc = bootstrap.wiring().services
    plans = installments.list_installment_plans(svc, customer_id)
    return {"data": [installment_plan_view(p) for p in plans]}


@router.post("/v1/installment-plans/<plan_id>/cancel", security=BEARER, tags=["installment plans"])
def cancel_installment_plan(plan_id: Id) -> InstallmentPlanView:
    """End a plan: instalments not yet charged are canceled, one being collected has its
    invoice voided, and nothing is charged afterwards. A plan paid in full, defaulted or
    canceled already: 409; an instalment being charged this moment: 409, try again."""
    svc = bootstrap.wiring().services
    return installment_plan_view(installments.cancel_installment_plan(svc, plan_id))
