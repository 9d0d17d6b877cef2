"""Coupons over HTTP: created and read at /v1/coupons, redeemed at subscribe or later at
/v1/subscriptions/{id}/coupon; every refusal a clear 4xx that changes nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_harness import START, Api

HALF = {"id": "half", "percent_off": 50, "duration": "once"}
FIVE_OFF = {
    "id": "five-off-3",
    "amount_off": 500,
    "currency": "USD",
    "duration": "repeating",
    "duration_in_periods": 3,
    "max_redemptions": 1,
    "redeem_by": "2026-12-31T00:00:00Z",
    "plans": ["pro"],
}


@pytest.fixture
def shop(api: Api) -> Api:
    api.plan("basic", 1000, name="Basic")
    api.plan("pro", 2000, name="Pro")
    api.plan("euro", 1000, currency="EUR")
    api.customer("alice")
    for coupon in (HALF, FIVE_OFF):
        assert api.post("/v1/coupons", coupon).status == 201
    return api


def subscribe(api: Api, plan: str, coupon: str, sub_id: str = "sub-1") -> Any:
    body = {"id": sub_id, "customer": "alice", "plan": plan, "coupon": coupon}
    return api.post("/v1/subscriptions", body)


def test_a_created_coupon_reads_back_and_is_listed(shop: Api) -> None:
    reply = shop.get("/v1/coupons/five-off-3")
    assert reply.status == 200
    assert reply.json == {
        **FIVE_OFF,
        "name": "",
        "percent_off": None,
        "times_redeemed": 0,
        "created_at": "2026-04-01T00:00:00Z",
    }
    assert [c["id"] for c in shop.get("/v1/coupons").json["data"]] == ["five-off-3", "half"]
    assert shop.get("/v1/coupons/half").json["percent_off"] == "50"


def test_an_unknown_coupon_reads_as_a_404(shop: Api) -> None:
    assert shop.get("/v1/coupons/nothing").status == 404


def test_creating_a_coupon_twice_is_a_409_that_changes_nothing(shop: Api) -> None:
    before = shop.state()
    reply = shop.post("/v1/coupons", {**HALF, "percent_off": 90})
    assert reply.status == 409
    assert "coupon 'half' already exists" in reply.json["message"]
    assert shop.state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "c", "duration": "once"}, []),
        ({"id": "c", "amount_off": 5, "duration": "once"}, []),
        ({"id": "c", "percent_off": 150, "duration": "once"}, ["percent_off"]),
        ({"id": "c", "percent_off": 5, "duration": "weekly"}, ["duration"]),
        ({"id": "c", "percent_off": 5, "duration": "once", "colour": "red"}, ["colour"]),
        ({"id": "c d", "percent_off": 5, "duration": "once"}, ["id"]),
    ],
)
def test_a_malformed_coupon_is_a_422_naming_the_field(
    shop: Api, body: dict[str, Any], field: list[str]
) -> None:
    before = shop.state()
    reply = shop.post("/v1/coupons", body)
    assert reply.status == 422
    [problem] = reply.json["detail"]
    assert problem["loc"][1:] == field
    assert shop.state() == before


def test_subscribing_with_a_coupon_discounts_the_first_invoice(shop: Api) -> None:
    reply = subscribe(shop, "basic", "half")
    assert reply.status == 201
    invoice = reply.json["invoice"]
    assert [(ln["kind"], ln["amount"]) for ln in invoice["lines"]] == [
        ("plan", 1000),
        ("coupon", -500),
    ]
    assert invoice["total"] == sum(ln["amount"] for ln in invoice["lines"]) == 500
    assert shop.get("/v1/coupons/half").json["times_redeemed"] == 1


def test_a_coupon_applied_later_shows_on_the_subscription(shop: Api) -> None:
    shop.subscription("sub-1", plan="pro")
    shop.activate("sub-1")
    reply = shop.post("/v1/subscriptions/sub-1/coupon", {"coupon": "five-off-3"})
    assert reply.status == 200
    assert reply.json["invoice"] is None  # the current period keeps its price
    assert reply.json["subscription"]["discount"] == {
        "coupon": "five-off-3",
        "periods_left": 3,
        "starts": "2026-04-01T00:00:00Z",
    }
    assert shop.get("/v1/coupons/five-off-3").json["times_redeemed"] == 1


@pytest.mark.parametrize(
    ("plan", "coupon", "at", "status", "says"),
    [
        ("basic", "five-off-3", START, 422, "is for plans pro"),
        ("euro", "five-off-3", START, 422, "is for plans pro"),
        ("pro", "five-off-3", datetime(2027, 1, 1, tzinfo=UTC), 422, "could be redeemed until"),
        ("basic", "nothing", START, 404, "coupon 'nothing' not found"),
    ],
)
def test_a_coupon_that_does_not_fit_is_refused_and_nothing_changes(
    shop: Api, plan: str, coupon: str, at: datetime, status: int, says: str
) -> None:
    shop.clock.set(at)
    before = shop.state()
    reply = subscribe(shop, plan, coupon)
    assert reply.status == status
    assert says in reply.text
    assert shop.state() == before


def test_an_amount_off_coupon_in_another_currency_is_a_422(shop: Api) -> None:
    euro_off = {"id": "euro-off", "amount_off": 100, "currency": "EUR", "duration": "forever"}
    assert shop.post("/v1/coupons", euro_off).status == 201
    before = shop.state()
    reply = subscribe(shop, "basic", "euro-off")
    assert reply.status == 422
    assert reply.json["detail"][0]["loc"] == ["body", "coupon"]
    assert "takes off EUR" in reply.json["detail"][0]["msg"]
    assert shop.state() == before


def test_a_used_up_coupon_is_a_422_and_the_second_subscription_is_not_made(shop: Api) -> None:
    assert subscribe(shop, "pro", "five-off-3").status == 201
    before = shop.state()
    reply = subscribe(shop, "pro", "five-off-3", sub_id="sub-2")
    assert reply.status == 422
    assert "redeemed 1 times" in reply.text
    assert shop.state() == before


def test_a_second_coupon_while_one_still_runs_is_a_422(shop: Api) -> None:
    assert subscribe(shop, "pro", "five-off-3").status == 201
    before = shop.state()
    reply = shop.post("/v1/subscriptions/sub-1/coupon", {"coupon": "half"})
    assert reply.status == 422
    assert "already has coupon 'five-off-3'" in reply.text
    assert shop.state() == before


def test_a_coupon_for_a_canceled_subscription_is_a_409(shop: Api) -> None:
    shop.subscription("sub-1")
    shop.activate("sub-1")
    shop.post("/v1/subscriptions/sub-1/cancel", {})
    shop.clock.advance(timedelta(hours=1))
    before = shop.state()
    assert shop.post("/v1/subscriptions/sub-1/coupon", {"coupon": "half"}).status == 409
    assert shop.state() == before


def test_the_openapi_document_shows_the_coupon_routes_and_their_errors(shop: Api) -> None:
    paths = shop.get("/openapi.json").json["paths"]
    assert set(paths["/v1/coupons"]) == {"get", "post"}
    created = paths["/v1/coupons"]["post"]["responses"]
    assert {"201", "409", "422"} <= set(created)
    assert {"200", "404", "409", "422"} <= set(
        paths["/v1/subscriptions/{subscription_id}/coupon"]["post"]["responses"]
    )
