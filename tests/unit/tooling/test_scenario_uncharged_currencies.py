"""A scenario's plan, coupon or instalments in a currency no provider charges (CLF, UYW, an ISO
fund code, XAU, XTS) is refused before the run, at its line and field, saying why, as the API
refuses it; a currency Tenure charges in is read."""

from pathlib import Path

import pytest
from scenario_refusals import ana_does, problems
from test_scenario_problems import PYDANTIC_WORDS, problems_of

from tenure_local.simulator.scenario import parse

HEAD = """\
start: 2026-01-31T09:00:00Z
until: 2026-03-01T00:00:00Z
"""
CUSTOMERS = """\
customers:
  - {id: alice, email: alice@example.com, card: "4242424242424242"}
actions: []
"""


@pytest.mark.parametrize("code", ["CLF", "UYW", "CHE", "USN", "XAU", "XDR", "XTS", "xxx"])
def test_a_plan_in_an_uncharged_currency_is_refused_at_its_line_and_field(
    tmp_path: Path, code: str
) -> None:
    text = (
        HEAD
        + "plans:\n"
        + "  - {id: basic, amount: 1000, currency: USD, interval: month}\n"
        + f"  - {{id: gold, amount: 1000, currency: {code}, interval: month}}\n"
        + CUSTOMERS
    )
    [found] = problems_of(tmp_path, text)
    assert (found.line, found.path) == (5, "plans[1].currency")
    assert f"{code.upper()} " in found.what and "not a currency Tenure charges in" in found.what
    assert not any(w in found.what for w in PYDANTIC_WORDS), found.what


def test_a_coupon_in_an_uncharged_currency_is_refused_at_its_line_and_field(
    tmp_path: Path,
) -> None:
    text = (
        HEAD
        + "plans:\n"
        + "  - {id: basic, amount: 1000, currency: USD, interval: month}\n"
        + "coupons:\n"
        + "  - {id: uf, amount_off: 100, currency: CLF, duration: once}\n"
        + CUSTOMERS
    )
    [found] = problems_of(tmp_path, text)
    assert (found.line, found.path) == (6, "coupons[0].currency")
    assert "CLF (an ISO 4217 fund code) is not a currency Tenure charges in" in found.what


@pytest.mark.parametrize("code", ["UYW", "BOV", "XBA"])
def test_instalments_in_an_uncharged_currency_are_refused_on_currency(code: str) -> None:
    action = {
        "at": "2026-01-02T00:00:00Z",
        "do": "installments",
        "customer": "ana",
        "id": "ipl-ana",
        "amount": 1000,
        "currency": code,
        "count": 2,
        "every": "month",
    }
    [(path, what)] = problems(ana_does(action))
    assert path == "actions[0].currency"
    assert f"{code} " in what and "not a currency Tenure charges in" in what


def test_a_plan_in_a_currency_tenure_charges_in_is_read() -> None:
    raw = {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-02-01T00:00:00Z",
        "plans": [{"id": "b", "amount": 1000, "currency": "bhd", "interval": "month"}],
        "customers": [],
        "actions": [],
    }
    assert parse(raw).plans[0].currency == "BHD"
