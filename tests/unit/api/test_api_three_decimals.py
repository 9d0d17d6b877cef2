"""Three-decimal currencies over HTTP: a plan, seat tier, price change or coupon amount that
Stripe could never charge (KWD 1.001: it takes those currencies only in tens of the minor
unit) is a 422 naming the field and the nearest chargeable amounts, and changes nothing."""

from datetime import timedelta
from typing import Any

import pytest
from api_harness import START, Api
from test_api_bad_input import locs, refused

from tenure.domain.timeutil import iso

KWD_PLAN = {"id": "kwd", "amount": 1000, "currency": "KWD", "interval": "month"}


def messages(reply: Any) -> str:
    return " ".join(d["msg"] for d in reply.json["detail"])


@pytest.mark.parametrize(
    ("body", "loc", "nearest"),
    [
        ({"amount": 1001}, ["body", "amount"], "nearest: 1000 or 1010"),
        ({"currency": "BHD", "amount": 2128}, ["body", "amount"], "nearest: 2120 or 2130"),
        (
            {
                "amount": 0,
                "tiers": [{"up_to": 5, "unit_amount": 1000}, {"up_to": None, "unit_amount": 775}],
            },
            ["body", "tiers[1].unit_amount"],
            "nearest: 770 or 780",
        ),
        (
            {"amount": 0, "tiers": [{"up_to": None, "unit_amount": 500, "flat_amount": 5}]},
            ["body", "tiers[0].flat_amount"],
            "nearest: 0 or 10",
        ),
    ],
)
def test_a_plan_priced_below_the_charge_step_is_a_422_on_its_field_naming_the_nearest(
    api: Api, body: dict[str, Any], loc: list[Any], nearest: str
) -> None:
    reply = refused(api, "POST", "/v1/plans", {**KWD_PLAN, **body})
    assert reply.status == 422
    assert locs(reply) == [loc], reply.text
    assert nearest in messages(reply), reply.text
    assert not messages(reply).startswith(("Value error", "amount:", "tiers")), reply.text


def test_the_same_amounts_in_a_two_decimal_currency_are_created(api: Api) -> None:
    assert api.plan("usd", 1001)["amount"] == 1001


def test_a_price_change_to_an_amount_that_cannot_be_charged_is_a_422_on_amount(api: Api) -> None:
    api.plan(**KWD_PLAN)
    at = iso(START + timedelta(days=40))
    reply = refused(
        api, "POST", "/v1/plans/kwd/price-changes", {"amount": 1505, "effective_at": at}
    )
    assert reply.status == 422
    assert ["body", "amount"] in locs(reply), reply.text
    assert "nearest: 1500 or 1510" in messages(reply)


def test_a_coupon_taking_off_an_amount_that_cannot_be_charged_is_a_422(api: Api) -> None:
    coupon = {"id": "fils", "amount_off": 1, "currency": "KWD", "duration": "once"}
    reply = refused(api, "POST", "/v1/coupons", coupon)
    assert reply.status == 422
    assert locs(reply) == [["body", "amount_off"]], reply.text
    assert "nearest: 0 or 10" in messages(reply)
    assert api.post("/v1/coupons", {**coupon, "amount_off": 10}).status == 201


def test_an_instalment_plan_of_an_amount_that_cannot_be_charged_is_a_422_on_amount(
    api: Api,
) -> None:
    api.customer("alice")
    body = {"amount": 1001, "currency": "KWD", "count": 2, "every": "month", "description": "TV"}
    reply = refused(api, "POST", "/v1/customers/alice/installment-plans", body)
    assert reply.status == 422
    assert locs(reply) == [["body", "amount"]], reply.text
    assert "nearest: 1000 or 1010" in messages(reply)
