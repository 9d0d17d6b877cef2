"""The scenario's change_price and update_customer actions: read as written, and refused
before the run, naming the action's index and field, when they name nothing or a price its
plan's currency cannot be charged in."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from scenario_refusals import problems

from tenure_local.simulator.scenario import (
    ChangePrice,
    ScenarioError,
    UpdateCustomer,
    load,
    parse,
)

AT = "2026-01-20T00:00:00Z"


def scenario(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
        "customers": [{"id": "alice", "email": "alice@example.com"}],
        "actions": list(actions),
    }


def test_a_price_change_and_a_customer_update_are_read() -> None:
    parsed = parse(
        scenario(
            {
                "at": AT,
                "do": "change_price",
                "plan": "basic",
                "amount": 1200,
                "effective_at": "2026-02-01T00:00:00Z",
                "grandfather": True,
            },
            {
                "at": AT,
                "do": "update_customer",
                "customer": "alice",
                "timezone": "Asia/Tokyo",
                "billing_name": None,
            },
        )
    )
    change, update = parsed.actions
    assert isinstance(change, ChangePrice)
    assert (change.amount, change.notice_days, change.grandfather) == (1200, 30, True)
    assert isinstance(update, UpdateCustomer)
    # Only what the file names is sent: a null clears, an absent field stays.
    assert update.body() == {"timezone": "Asia/Tokyo", "billing_name": None}


def test_a_price_change_of_an_unknown_plan_is_refused_at_its_field() -> None:
    found = problems(
        scenario(
            {
                "at": AT,
                "do": "change_price",
                "plan": "gold",
                "amount": 1200,
                "effective_at": "2026-02-01T00:00:00Z",
            }
        )
    )
    [(path, what)] = found
    assert path == "actions[0].plan" and "unknown plan 'gold'" in what


def test_an_update_of_an_unknown_customer_is_refused_at_its_field() -> None:
    found = problems(scenario({"at": AT, "do": "update_customer", "customer": "bob", "name": "B"}))
    [(path, what)] = found
    assert path == "actions[0].customer" and "unknown customer 'bob'" in what


def test_a_price_change_without_its_date_is_refused() -> None:
    found = problems(scenario({"at": AT, "do": "change_price", "plan": "basic", "amount": 1200}))
    assert [path for path, _ in found] == ["actions[0].effective_at"]


def test_a_customers_phone_is_read_and_sent_as_the_api_takes_it() -> None:
    raw = scenario({"at": AT, "do": "update_customer", "customer": "alice", "phone": None})
    raw["customers"][0]["phone"] = "+919876543210"
    parsed = parse(raw)
    assert parsed.customers[0].phone == "+919876543210"
    [update] = parsed.actions
    assert isinstance(update, UpdateCustomer) and update.body() == {"phone": None}


def test_a_phone_that_is_not_e164_is_refused_at_load_naming_it() -> None:
    raw = scenario({"at": AT, "do": "update_customer", "customer": "alice", "phone": "98765"})
    raw["customers"][0]["phone"] = "+91 98765 43210"
    found = problems(raw)
    assert sorted(path for path, _ in found) == ["actions[0].phone", "customers[0].phone"]
    assert all("E.164" in what for _, what in found)


def test_a_price_change_by_tiers_sends_the_table_and_no_amount() -> None:
    table = [{"up_to": 5, "unit_amount": 1200}, {"up_to": None, "unit_amount": 900}]
    parsed = parse(
        scenario(
            {
                "at": AT,
                "do": "change_price",
                "plan": "basic",
                "tiers": table,
                "effective_at": "2026-02-01T00:00:00Z",
            }
        )
    )
    [change] = parsed.actions
    assert isinstance(change, ChangePrice)
    assert change.body() == {
        "tiers": table,
        "effective_at": "2026-02-01T00:00:00+00:00",
        "notice_days": 30,
        "grandfather": False,
    }


def change_price(**fields: Any) -> dict[str, Any]:
    return {
        "at": AT,
        "do": "change_price",
        "plan": "basic",
        "amount": 1200,
        "effective_at": "2026-02-01T00:00:00Z",
    } | fields


def test_a_negative_or_too_large_new_price_is_refused_at_load() -> None:
    for amount in (-1200, 10**12 + 1):
        [(path, _)] = problems(scenario(change_price(amount=amount)))
        assert path == "actions[0].amount"


def test_a_price_change_effective_before_its_action_is_refused_at_load() -> None:
    [(path, what)] = problems(scenario(change_price(effective_at="2026-01-19T23:59:59Z")))
    assert path == "actions[0].effective_at"
    assert "before the action's `at`" in what
    parse(scenario(change_price(effective_at=AT)))  # effective at once is not the past


def kwd(*actions: dict[str, Any]) -> dict[str, Any]:
    raw = scenario(*actions)
    raw["plans"][0]["currency"] = "KWD"
    return raw


def test_a_kwd_price_change_that_cannot_be_charged_is_refused_at_load_on_its_amount() -> None:
    # Stripe takes KWD only in tens of fils: 1.505 would be declined at every renewal.
    change = {"at": AT, "do": "change_price", "plan": "basic", "amount": 1505}
    found = problems(kwd({**change, "effective_at": "2026-02-01T00:00:00Z"}))
    [(path, what)] = found
    assert path == "actions[0].amount"
    assert "plan basic" in what and "nearest: 1500 or 1510" in what


def test_a_kwd_price_change_of_tiers_is_refused_at_load_on_the_tier() -> None:
    tiers = [
        {"up_to": 5, "unit_amount": 1000},
        {"up_to": None, "unit_amount": 800, "flat_amount": 5},
    ]
    change = {"at": AT, "do": "change_price", "plan": "basic", "tiers": tiers}
    found = problems(kwd({**change, "effective_at": "2026-02-01T00:00:00Z"}))
    assert [path for path, _ in found] == ["actions[0].tiers[1].flat_amount"]
    assert "nearest: 0 or 10" in found[0][1]


def test_the_refusal_carries_the_actions_line_in_the_file(tmp_path: Path) -> None:
    raw = kwd({"at": AT, "do": "change_price", "plan": "basic", "amount": 1505})
    raw["actions"][0]["effective_at"] = "2026-02-01T00:00:00Z"
    path = tmp_path / "kwd.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ScenarioError) as refused:
        load(path)
    [problem] = refused.value.problems
    line = path.read_text().splitlines()[problem.line - 1] if problem.line else ""
    assert "amount: 1505" in line, (problem, line)


def test_kwd_prices_in_tens_and_any_usd_price_are_read() -> None:
    change = {"at": AT, "do": "change_price", "plan": "basic", "effective_at": AT}
    assert parse(kwd({**change, "amount": 1510})).actions[0].amount == 1510
    assert parse(scenario({**change, "amount": 1505})).actions[0].amount == 1505
