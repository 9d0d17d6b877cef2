"""A scenario file's plan and coupon names are refused at load, naming the field, when they
hold control characters or bidi overrides or isolates, as the API refuses them."""

from typing import Any

import pytest
from scenario_refusals import problems

from tenure_local.simulator.scenario import parse


def with_names(plan_name: str, coupon_name: str) -> dict[str, Any]:
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "plans": [
            {"id": "pro", "amount": 1000, "currency": "USD", "interval": "month", "name": plan_name}
        ],
        "coupons": [{"id": "half", "percent_off": 50, "duration": "once", "name": coupon_name}],
    }


@pytest.mark.parametrize("bad", ["Pro\r\nTotal: 0", "Pro\t", "Pro \u202eylhtnom", "\u2067Pro"])
def test_control_and_bidi_characters_in_names_are_refused_at_load(bad: str) -> None:
    assert [path for path, _ in problems(with_names(bad, "Half"))] == ["plans[0].name"]
    assert [path for path, _ in problems(with_names("Pro", bad))] == ["coupons[0].name"]


def test_names_in_other_scripts_load() -> None:
    scenario = parse(with_names("الخطة الشهرية", "نصف السعر"))
    assert scenario.plans[0].name == "الخطة الشهرية"
    assert scenario.coupons[0].name == "نصف السعر"


@pytest.mark.parametrize("bad", ["Ana\r\nTotal: 0", "Ana\t", "Ana \u202eavorteP", "A" * 201])
def test_a_customers_name_the_api_would_refuse_is_refused_at_load(bad: str) -> None:
    raw = with_names("Pro", "Half") | {
        "customers": [{"id": "ana", "email": "ana@example.com", "name": bad}],
        "actions": [
            {"at": "2026-01-10T00:00:00Z", "do": "update_customer", "customer": "ana", "name": bad}
        ],
    }
    found = problems(raw)
    assert [path for path, _ in found] == ["customers[0].name", "actions[0].name"]
    if len(bad) < 200:
        assert all("without control characters, bidi overrides" in what for _, what in found)
