"""Routes for collections cases: read a customer's cases and one case; choose or cancel a
repayment plan."""

from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN, RepaymentPlanChoose
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.services import collections, collections_pay
from tenure.views import CollectionCasePage, CollectionCaseView, collection_case_view

router = APIGatewayHttpRouter()

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]
CustomerId = Annotated[str, Query(pattern=PATH_ID_PATTERN)]


@router.get("/v1/collection-cases", security=BEARER, tags=["collections"])
def list_collection_cases(customer: CustomerId) -> CollectionCasePage:
    """A customer's collections cases, oldest first. An unknown customer: 404."""
    svc = bootstrap.wiring().services
    cases = collections.list_cases(svc, customer)
    return {"data": [collection_case_view(c, collections.plan_of(svc, c)) for c in cases]}


@router.get("/v1/collection-cases/<case_id>", security=BEARER, tags=["collections"])
def get_collection_case(case_id: Id) -> CollectionCaseView:
    svc = bootstrap.wiring().services
    case = collections.get_case(svc, case_id)
    return collection_case_view(case, collections.plan_of(svc, case))


@router.post(
    "/v1/collection-cases/<case_id>/repayment-plan",
    status_code=201,
    security=BEARER,
    tags=["collections"],
)
def choose_repayment_plan(case_id: Id, body: RepaymentPlanChoose) -> CollectionCaseView:
    """Pay an open case's balance off in `count` instalments every week or two weeks, each
    charged when due like any instalment. A count outside the business's bounds: 422; a case
    already in a plan, settled or written off: 409; nothing written either way."""
    svc = bootstrap.wiring().services
    case, plan = collections.choose_repayment_plan(svc, case_id, body.count, body.every)
    return collection_case_view(case, plan)


@router.post(
    "/v1/collection-cases/<case_id>/repayment-plan/cancel",
    security=BEARER,
    tags=["collections"],
)
def cancel_repayment_plan(case_id: Id) -> CollectionCaseView:
    """Leave the case's repayment plan between instalments: the instalments not yet charged
    never are, and the case is open again for the balance left (choose another plan). A case
    not in a plan, or an instalment being collected: 409, nothing written."""
    svc = bootstrap.wiring().services
    case, plan = collections.cancel_repayment_plan(svc, case_id)
    return collection_case_view(case, plan)


@router.post("/v1/collection-cases/<case_id>/pay", security=BEARER, tags=["collections"])
def pay_collection_case(case_id: Id) -> CollectionCaseView:
    """Charge an open case's whole balance now with the customer's card (a plan of one
    instalment). Paid: the case is settled. Declined: the instalment is dunned like any, the
    case stays in that plan. A case not open: 409, nothing written."""
    svc = bootstrap.wiring().services
    case, plan = collections_pay.pay_case_in_full(svc, case_id)
    return collection_case_view(case, plan)
