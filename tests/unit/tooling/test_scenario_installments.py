"""The scenario action `installments`: checked against the domain's rules before the run,
each broken rule named by the action's index and field, in the domain's words."""

from typing import Any

import pytest
from scenario_refusals import ana_does, problems

from tenure_local.simulator.scenario import parse
from tenure_local.simulator.scenario_installments import Installments

AT = "2026-01-02T00:00:00Z"


def scenario(**fields: Any) -> dict[str, Any]:
    action = {
        "at": AT,
        "do": "installments",
        "customer": "ana",
        "id": "ipl-ana",
        "amount": 1003,
        "currency": "USD",
        "count": 4,
        "every": "month",
    } | fields
    return ana_does(action)


def test_a_valid_action_parses_and_sends_the_apis_body() -> None:
    (action,) = parse(scenario()).actions
    assert isinstance(action, Installments)
    assert action.body() == {
        "id": "ipl-ana",
        "amount": 1003,
        "currency": "USD",
        "count": 4,
        "every": "month",
        "description": "ipl-ana",  # no description given: the plan's id
    }


@pytest.mark.parametrize("count", [1, 13])
def test_a_count_out_of_range_is_refused_before_the_run(count: int) -> None:
    assert problems(scenario(count=count)) == [
        ("actions[0].count", "must be an integer from 2 to 12")
    ]


def test_every_broken_rule_is_named() -> None:
    found = problems(scenario(every="day", currency="XXQ", amount=3, customer="bob"))
    paths = [path for path, _ in found]
    assert paths == [
        "actions[0].amount",
        "actions[0].currency",
        "actions[0].customer",
        "actions[0].every",
    ]
    assert "do not split into 4 positive instalments" in dict(found)["actions[0].amount"]
    assert "week, two_weeks, month" in dict(found)["actions[0].every"]


def test_a_three_decimal_amount_stripe_cannot_charge_is_refused_before_the_run() -> None:
    found = problems(scenario(amount=1001, currency="KWD", count=3))
    assert [path for path, _ in found] == ["actions[0].amount"]
    assert "nearest: 1000 or 1010" in found[0][1]


def test_a_plan_id_given_twice_is_refused() -> None:
    raw = scenario()
    raw["actions"].append(dict(raw["actions"][0], at="2026-02-02T00:00:00Z"))
    assert [p for p, _ in problems(raw)] == ["actions[1].id"]


def test_a_count_that_is_not_an_integer_is_refused_by_its_type() -> None:
    assert [p for p, _ in problems(scenario(count="4"))] == ["actions[0].count"]


def test_an_amount_over_the_api_s_bound_is_refused_at_load() -> None:
    [(path, _)] = problems(scenario(amount=10**12 + 2, count=2))
    assert path == "actions[0].amount"
