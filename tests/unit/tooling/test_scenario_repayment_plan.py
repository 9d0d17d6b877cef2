"""The scenario action `repayment_plan`: its count checked against the collections policy's
default bounds before the run, named by the action's index and field."""

from typing import Any

import pytest
from scenario_refusals import ana_does, problems

from tenure_local.simulator.scenario import parse
from tenure_local.simulator.scenario_collections import RepaymentPlan


def scenario(**fields: Any) -> dict[str, Any]:
    action = {
        "at": "2026-02-01T00:00:00Z",
        "do": "repayment_plan",
        "customer": "ana",
        "count": 3,
        "every": "two_weeks",
    } | fields
    return ana_does(action)


def test_a_valid_action_parses_and_sends_the_apis_body() -> None:
    (action,) = parse(scenario()).actions
    assert isinstance(action, RepaymentPlan)
    assert action.body() == {"count": 3, "every": "two_weeks"}


@pytest.mark.parametrize("count", [1, 7])
def test_a_count_outside_the_bounds_is_refused_before_the_run(count: int) -> None:
    assert problems(scenario(count=count)) == [
        ("actions[0].count", "must be an integer from 2 to 6")
    ]


def test_a_monthly_repayment_plan_and_an_unknown_customer_are_refused() -> None:
    found = dict(problems(scenario(every="month")))
    assert "actions[0].every" in found
    assert "actions[0].customer" in dict(problems(scenario(customer="bob")))
