"""Currencies no provider charges over HTTP: a plan, price change, coupon or instalment plan in
a four-decimal unit of account (CLF, UYW), an ISO fund code (BOV, CHE, USN...) or a code for no
money (XAU, XDR, XTS) is a 422 on `currency` saying why, and changes nothing; every currency
Tenure charges in (money.CHARGED_CURRENCIES) is still taken."""

from datetime import timedelta
from typing import Any

import pytest
from api_harness import START, Api
from test_api_bad_input import locs, refused

from tenure.domain.timeutil import iso

UNCHARGED = [
    "CLF", "UYW", "BOV", "CHE", "CHW", "COU", "MXV", "USN", "UYI", "XDR", "XAU", "XAG", "XPT",
    "XPD", "XTS", "XXX", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "IQD",
]  # fmt: skip


def messages(reply: Any) -> str:
    return " ".join(d["msg"] for d in reply.json["detail"])


def assert_refused_on_currency(reply: Any, code: str) -> None:
    assert reply.status == 422, reply.text
    assert locs(reply) == [["body", "currency"]], reply.text
    assert f"{code} " in messages(reply) and "not a currency Tenure charges in" in messages(reply)


@pytest.mark.parametrize("code", UNCHARGED)
def test_a_plan_in_a_currency_no_provider_charges_is_a_422_on_currency(api: Api, code: str) -> None:
    body = {"id": "gold", "amount": 10000, "currency": code, "interval": "month"}
    assert_refused_on_currency(refused(api, "POST", "/v1/plans", body), code)
    assert api.get("/v1/plans/gold").status == 404


def test_a_fund_code_is_refused_in_lower_case_too_and_named_as_a_fund(api: Api) -> None:
    body = {"id": "uf", "amount": 10000, "currency": "clf", "interval": "month"}
    reply = refused(api, "POST", "/v1/plans", body)
    assert_refused_on_currency(reply, "CLF")
    assert "fund code" in messages(reply)


@pytest.mark.parametrize("code", ["CLF", "XAU", "CHE"])
def test_a_coupon_taking_off_an_amount_in_an_uncharged_currency_is_a_422_on_currency(
    api: Api, code: str
) -> None:
    coupon = {"id": "metal", "amount_off": 100, "currency": code, "duration": "once"}
    assert_refused_on_currency(refused(api, "POST", "/v1/coupons", coupon), code)


@pytest.mark.parametrize("code", ["UYW", "XTS", "BOV"])
def test_an_instalment_plan_in_an_uncharged_currency_is_a_422_on_currency(
    api: Api, code: str
) -> None:
    api.customer("alice")
    body = {"amount": 10000, "currency": code, "count": 2, "every": "month", "description": "TV"}
    reply = refused(api, "POST", "/v1/customers/alice/installment-plans", body)
    assert_refused_on_currency(reply, code)


def test_a_price_change_naming_an_uncharged_currency_is_a_422_on_currency(api: Api) -> None:
    api.plan("basic")
    at = iso(START + timedelta(days=40))
    body = {"amount": 1500, "effective_at": at, "currency": "XXX"}
    reply = refused(api, "POST", "/v1/plans/basic/price-changes", body)
    assert_refused_on_currency(reply, "XXX")


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY", "KWD", "BHD", "ISK", "XOF", "XCG"])
def test_currencies_tenure_charges_in_are_still_taken(api: Api, code: str) -> None:
    assert api.plan("local", 10000, currency=code)["currency"] == code
