"""A coupon no one could redeem is refused when it is created: one for a plan that does not
exist (422 on `plans`) or whose `redeem_by` is not in the future (422 on `redeem_by`, as
Stripe refuses a past one); nothing is written."""

import pytest
from api_harness import Api
from test_api_bad_input import refused

HALF = {"id": "half", "percent_off": 50, "duration": "once"}


@pytest.fixture
def shop(api: Api) -> Api:
    api.plan("pro", 2000)
    return api


@pytest.mark.parametrize("plans", [["unknown"], ["pro", "unknown"]])
def test_a_coupon_for_a_plan_that_does_not_exist_is_a_422_on_plans(
    shop: Api, plans: list[str]
) -> None:
    reply = refused(shop, "POST", "/v1/coupons", {**HALF, "plans": plans})

    assert reply.status == 422, reply.text
    [problem] = reply.json["detail"]
    assert problem["loc"] == ["body", "plans"]
    assert "unknown plan 'unknown'" in problem["msg"]


@pytest.mark.parametrize("redeem_by", ["2026-03-31T23:59:59Z", "2026-04-01T00:00:00Z"])
def test_a_redeem_by_not_in_the_future_is_a_422_on_redeem_by(shop: Api, redeem_by: str) -> None:
    # The harness's clock reads 2026-04-01T00:00:00Z.
    reply = refused(shop, "POST", "/v1/coupons", {**HALF, "redeem_by": redeem_by})

    assert reply.status == 422, reply.text
    [problem] = reply.json["detail"]
    assert problem["loc"] == ["body", "redeem_by"]
    assert "is past" in problem["msg"]


def test_a_coupon_for_existing_plans_redeemable_later_is_created(shop: Api) -> None:
    body = {**HALF, "plans": ["pro"], "redeem_by": "2026-04-01T00:00:01Z"}
    assert shop.post("/v1/coupons", body).status == 201
