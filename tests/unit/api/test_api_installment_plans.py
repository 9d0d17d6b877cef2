"""Installment plans over HTTP: create (201, idempotent), read, list; every refusal clear and
changing nothing."""

from typing import Any

import pytest
from api_harness import Api

BODY = {
    "id": "ipl-1",
    "amount": 1003,
    "currency": "usd",
    "count": 4,
    "every": "month",
    "description": "Laptop",
}


@pytest.fixture
def shop(api: Api) -> Api:
    api.customer("alice")
    return api


def create(api: Api, body: Any, **kwargs: Any) -> Any:
    return api.post("/v1/customers/alice/installment-plans", body, **kwargs)


def test_a_plan_is_created_with_its_schedule(shop: Api) -> None:
    reply = create(shop, BODY)
    assert reply.status == 201, reply.text
    plan = reply.json
    assert (plan["id"], plan["customer"], plan["status"]) == ("ipl-1", "alice", "active")
    assert (plan["currency"], plan["every"], plan["count"]) == ("USD", "month", 4)
    assert [i["amount"] for i in plan["instalments"]] == [253, 250, 250, 250]
    assert [i["status"] for i in plan["instalments"]] == ["scheduled"] * 4
    assert shop.get("/v1/installment-plans/ipl-1").json == plan
    assert shop.get("/v1/customers/alice/installment-plans").json == {"data": [plan]}


def test_a_repeated_request_with_the_same_idempotency_key_creates_one_plan(shop: Api) -> None:
    body = {k: v for k, v in BODY.items() if k != "id"}
    first = create(shop, body, headers={"idempotency-key": "k-1"})
    again = create(shop, body, headers={"idempotency-key": "k-1"})
    assert first.status == again.status == 201
    assert first.json == again.json
    assert len(shop.get("/v1/customers/alice/installment-plans").json["data"]) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 3}, "amount"),
        ({"amount": 1001, "currency": "KWD"}, "amount"),  # Stripe charges KWD in tens only
        ({"count": 1}, "count"),
        ({"count": 13}, "count"),
        ({"every": "day"}, "every"),
        ({"currency": "ZZZ"}, "currency"),
        ({"description": ""}, "description"),
        ({"start": "2020-01-01T00:00:00Z"}, "start"),
        ({"start": "9999-12-01T00:00:00Z"}, "start"),
        ({"start": "9999-12-31T23:59:59Z", "every": "week"}, "start"),
        ({"description": "Laptop\u0000"}, "description"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    shop: Api, changes: dict[str, Any], field: str
) -> None:
    before = shop.state()
    reply = create(shop, BODY | changes)
    assert reply.status == 422, reply.text
    assert field in reply.text
    assert shop.state() == before
    assert shop.get("/v1/installment-plans/ipl-1").status == 404


def test_an_unknown_customer_is_a_404_and_nothing_is_written(shop: Api) -> None:
    before = shop.state()
    reply = shop.post("/v1/customers/nobody/installment-plans", BODY)
    assert reply.status == 404
    assert shop.state() == before


def test_a_taken_plan_id_is_a_409(shop: Api) -> None:
    assert create(shop, BODY).status == 201
    assert create(shop, BODY | {"amount": 5000}).status == 409


def test_the_routes_are_in_the_openapi_document(shop: Api) -> None:
    paths = shop.get("/openapi.json").json["paths"]
    assert "post" in paths["/v1/customers/{customer_id}/installment-plans"]
    assert "get" in paths["/v1/installment-plans/{plan_id}"]


def test_a_plan_is_canceled_over_http_and_a_second_cancel_is_a_409(shop: Api) -> None:
    assert create(shop, BODY).status == 201

    reply = shop.post("/v1/installment-plans/ipl-1/cancel")

    assert reply.status == 200, reply.text
    assert reply.json["status"] == "canceled"
    assert [i["status"] for i in reply.json["instalments"]] == ["canceled"] * 4
    assert shop.get("/v1/installment-plans/ipl-1").json == reply.json
    before = shop.state()
    again = shop.post("/v1/installment-plans/ipl-1/cancel")
    assert again.status == 409 and "canceled" in again.text
    assert shop.state() == before


def test_canceling_an_unknown_plan_is_a_404_and_needs_the_token(shop: Api) -> None:
    before = shop.state()

    assert shop.post("/v1/installment-plans/nope/cancel").status == 404
    assert shop.post("/v1/installment-plans/ipl-1/cancel", token=None).status == 401
    assert shop.state() == before
    paths = shop.get("/openapi.json").json["paths"]
    assert "post" in paths["/v1/installment-plans/{plan_id}/cancel"]
