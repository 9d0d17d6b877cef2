"""The retention programs over HTTP: GET and PUT /v1/programs, validated and versioned."""

from typing import Any

import pytest
from api_harness import Api

PROGRAMS: dict[str, Any] = {
    "tenure_discount": [
        {"after_months": 12, "percent_off": "5"},
        {"after_months": 24, "percent_off": "10"},
    ],
    "loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1},
    "refunds": {"window_days": 14, "after_window": "prorated"},
    "save_offers": [
        {"id": "pause2", "kind": "pause", "months": 2},
        {"id": "half1", "kind": "coupon", "coupon": "half-once"},
        {"id": "down", "kind": "change_plan", "plan": "basic"},
    ],
}


@pytest.fixture
def shop(api: Api) -> Api:
    api.plan("basic", 1000)
    body = {"id": "half-once", "percent_off": 50, "duration": "once"}
    assert api.post("/v1/coupons", body).status == 201
    return api


def put(api: Api, body: dict[str, Any]) -> Any:
    return api.call("PUT", "/v1/programs", body)


def stored(api: Api) -> Any:
    setting = api.repo.get_programs()
    return (setting.programs, setting.version)


def test_programs_never_written_read_as_version_0_with_every_program_off(shop: Api) -> None:
    reply = shop.get("/v1/programs")
    assert reply.status == 200
    assert reply.json == {
        "tenure_discount": None,
        "loyalty": None,
        "refunds": None,
        "save_offers": None,
        "combine_discounts": "larger_wins",
        "version": 0,
        "updated_at": None,
    }


def test_a_put_stores_the_document_and_answers_with_the_new_version(shop: Api) -> None:
    reply = put(shop, PROGRAMS | {"version": 0})
    assert reply.status == 200, reply.text
    assert reply.json["version"] == 1
    assert reply.json["updated_at"] == "2026-04-01T00:00:00Z"
    read = shop.get("/v1/programs").json
    assert read == reply.json
    assert read["tenure_discount"] == PROGRAMS["tenure_discount"]
    assert read["save_offers"][1] == {
        "id": "half1",
        "kind": "coupon",
        "months": None,
        "coupon": "half-once",
        "plan": None,
    }
    assert shop.repo.events[-1]["type"] == "ProgramsUpdated"
    assert shop.repo.events[-1]["data"] == {
        "version": 1,
        "programs": ["loyalty", "refunds", "save_offers", "tenure_discount"],
    }


def test_what_get_returns_can_be_edited_and_put_back(shop: Api) -> None:
    put(shop, PROGRAMS | {"version": 0})
    document = shop.get("/v1/programs").json
    document.pop("updated_at")
    document["loyalty"] = None
    reply = put(shop, document)
    assert reply.status == 200, reply.text
    assert (reply.json["version"], reply.json["loyalty"]) == (2, None)


def test_a_put_against_a_version_someone_else_replaced_is_a_409_and_changes_nothing(
    shop: Api,
) -> None:
    assert put(shop, PROGRAMS | {"version": 0}).status == 200
    before = stored(shop)
    events = len(shop.repo.events)
    reply = put(shop, {"loyalty": None, "version": 0})
    assert reply.status == 409
    assert "no longer at version 0" in reply.json["message"]
    assert stored(shop) == before and len(shop.repo.events) == events


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"version": None}, ["body", "version"]),
        ({"version": -1}, ["body", "version"]),
        ({"refunds": {"window_days": 14, "after_window": "half"}}, ["body", "refunds"]),
        ({"loyalty": {"points_per_unit": 1, "unit_minor": 100}}, ["body", "loyalty"]),
        ({"colour": "red"}, ["body", "colour"]),
    ],
)
def test_a_document_that_does_not_validate_is_a_422_naming_the_field(
    shop: Api, change: dict[str, Any], loc: list[str]
) -> None:
    body = {k: v for k, v in (PROGRAMS | {"version": 0} | change).items() if v is not None}
    reply = put(shop, body)
    assert reply.status == 422, reply.text
    assert any(d["loc"][: len(loc)] == loc for d in reply.json["detail"]), reply.json
    assert stored(shop)[1] == 0


@pytest.mark.parametrize(
    ("offer", "field"),
    [
        ({"id": "x", "kind": "coupon", "coupon": "nothing"}, "save_offers.0.coupon"),
        ({"id": "x", "kind": "change_plan", "plan": "nothing"}, "save_offers.0.plan"),
    ],
)
def test_an_offer_naming_an_unknown_coupon_or_plan_is_a_422_naming_it(
    shop: Api, offer: dict[str, Any], field: str
) -> None:
    reply = put(shop, {"save_offers": [offer], "version": 0})
    assert reply.status == 422
    assert reply.json["detail"][0]["loc"] == ["body", field]
    assert "unknown" in reply.json["detail"][0]["msg"]
    assert stored(shop)[1] == 0


def test_the_openapi_document_describes_the_programs_body(shop: Api) -> None:
    document = shop.get("/openapi.json", token=None).json
    put_op = document["paths"]["/v1/programs"]["put"]
    ref = put_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "version" in schema["required"]
    assert {"tenure_discount", "loyalty", "refunds", "save_offers"} <= set(schema["properties"])


@pytest.mark.parametrize("value", [-5, 0, 1.5, "5", True, None, 10**10])
def test_a_point_value_that_is_not_a_positive_whole_number_is_a_422_on_it(
    shop: Api, value: Any
) -> None:
    # What a point is worth is money off an invoice, in minor units: a negative value
    # would charge the customer for redeeming, a fraction could never be credited.
    loyalty = {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": value}
    before = stored(shop)
    reply = put(shop, {"loyalty": loyalty, "version": 0})
    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "loyalty", "point_value_minor"]]
    assert stored(shop) == before
