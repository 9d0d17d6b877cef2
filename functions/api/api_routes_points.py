"""Routes for a customer's loyalty points: balance and history, and redeeming them."""

from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN, RedeemPointsRequest
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.services import points
from tenure.views import PointsView, points_view

router = APIGatewayHttpRouter()

CustomerId = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.get("/v1/customers/<customer_id>/points", security=BEARER, tags=["customers"])
def get_points(customer_id: CustomerId) -> PointsView:
    """The balance, the points redeemed and waiting for an invoice, and the history."""
    return points_view(points.get_points(bootstrap.wiring().services, customer_id))


@router.post("/v1/customers/<customer_id>/points/redeem", security=BEARER, tags=["customers"])
def redeem_points(customer_id: CustomerId, body: RedeemPointsRequest) -> PointsView:
    """Redeem points for a credit (`point_value_minor` each) on the customer's next period
    invoice; what that invoice cannot take goes back to the balance. More than the balance,
    or with the loyalty program off, or with no subscription to invoice: 422, nothing
    changes. Concurrent redemptions cannot overdraw: the balance is checked by the write."""
    svc = bootstrap.wiring().services
    return points_view(points.redeem_points(svc, customer_id, body.points))
