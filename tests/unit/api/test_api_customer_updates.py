"""PATCH /v1/customers/{id}: the fields named change, checked as at creation."""

from typing import Any

import pytest
from api_harness import Api
from test_api_bad_input import locs, refused


def test_a_patch_changes_only_the_fields_it_names(api: Api) -> None:
    api.customer("alice", name="Alice", timezone="Asia/Tokyo")
    reply = api.call("PATCH", "/v1/customers/alice", {"timezone": "Europe/Berlin", "locale": "ru"})
    assert reply.status == 200, reply.text
    assert (reply.json["timezone"], reply.json["locale"], reply.json["name"]) == (
        "Europe/Berlin",
        "ru",
        "Alice",
    )
    assert api.get("/v1/customers/alice").json == reply.json


def test_a_billing_field_set_to_null_is_cleared(api: Api) -> None:
    api.customer("alice", billing_name="Alice GmbH", tax_id="DE123456789")
    reply = api.call("PATCH", "/v1/customers/alice", {"billing_name": None})
    assert reply.status == 200, reply.text
    assert (reply.json["billing_name"], reply.json["tax_id"]) == (None, "DE123456789")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"email": "nope"}, "email"),
        ({"email": None}, "email"),
        ({"locale": "fr"}, "locale"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"tax_id": "#!"}, "tax_id"),
        ({"provider": "stripe"}, "provider"),
        ({"name": 5}, "name"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    api.customer("alice")
    reply = refused(api, "PATCH", "/v1/customers/alice", body)
    assert reply.status == 422
    assert ["body", field] in locs(reply), reply.text


def test_patching_an_unknown_customer_is_a_404(api: Api) -> None:
    reply = refused(api, "PATCH", "/v1/customers/nobody", {"name": "X"})
    assert reply.status == 404
