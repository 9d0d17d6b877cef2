"""Routes for coupons: create, list, read (redeemed through the subscription routes)."""

from typing import Annotated

from api_guard import BEARER
from api_schemas import PATH_ID_PATTERN, CouponPage
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.coupon_spec import CouponSpec
from tenure.services import coupons
from tenure.views import CouponView, coupon_view

router = APIGatewayHttpRouter()

CouponId = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


@router.post("/v1/coupons", status_code=201, security=BEARER, tags=["coupons"])
def create_coupon(body: CouponSpec) -> CouponView:
    """A coupon: `percent_off` or `amount_off` + `currency`; `duration` once, repeating (with
    `duration_in_periods`) or forever. A taken id is a 409."""
    svc = bootstrap.wiring().services
    return coupon_view(coupons.create_coupon(svc, body.to_coupon(svc.clock.now())))


@router.get("/v1/coupons", security=BEARER, tags=["coupons"])
def list_coupons() -> CouponPage:
    return {"data": [coupon_view(c) for c in coupons.list_coupons(bootstrap.wiring().services)]}


@router.get("/v1/coupons/<coupon_id>", security=BEARER, tags=["coupons"])
def get_coupon(coupon_id: CouponId) -> CouponView:
    return coupon_view(coupons.get_coupon(bootstrap.wiring().services, coupon_id))
