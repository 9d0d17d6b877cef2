"""A rule across a body's fields (a plan's tiers, a coupon's plans, the programs' offers)
is a 422 on the field that breaks it, as every other refusal is, never on the body as a
whole: `["body", "tiers"]`, not `["body"]`; and its message is the rule's own words."""

from typing import Any

import pytest
from api_harness import Api
from test_api_bad_input import locs, refused

PLAN = {"id": "seats", "amount": 0, "currency": "USD", "interval": "month"}


@pytest.mark.parametrize(
    ("path", "body", "loc", "words"),
    [
        (
            "/v1/plans",
            {**PLAN, "amount": 500, "tiers": [{"up_to": None, "unit_amount": 100}]},
            ["body", "tiers"],
            "a tiered price comes from its tiers: amount must be 0",
        ),
        (
            "/v1/plans",
            {**PLAN, "tiers": [{"up_to": 5, "unit_amount": 1}, {"up_to": 3, "unit_amount": 1}]},
            ["body", "tiers[1].up_to"],
            "the last tier must be open (null)",
        ),
        (
            "/v1/coupons",
            {"id": "c", "percent_off": 5, "duration": "once", "plans": ["a", "a"]},
            ["body", "plans"],
            "each plan once",
        ),
    ],
)
def test_a_rule_across_fields_is_a_422_on_the_field_breaking_it(
    api: Api, path: str, body: dict[str, Any], loc: list[str], words: str
) -> None:
    reply = refused(api, "POST", path, body)
    assert reply.status == 422
    assert locs(reply) == [loc], reply.text
    assert reply.json["detail"][0]["msg"] == words


def test_an_offer_id_given_twice_in_the_programs_is_a_422_on_save_offers(api: Api) -> None:
    offer = {"id": "pause", "kind": "pause", "months": 1}
    body = {"save_offers": [offer, offer], "version": 0}
    reply = refused(api, "PUT", "/v1/programs", body)
    assert reply.status == 422
    assert locs(reply) == [["body", "save_offers"]], reply.text
    assert reply.json["detail"][0]["msg"] == "each offer id once"
