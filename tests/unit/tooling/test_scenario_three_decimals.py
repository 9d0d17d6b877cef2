"""A scenario's plans and coupons in a three-decimal currency: an amount Stripe could never
charge (it takes KWD, BHD, JOD, OMR and TND only in tens of the minor unit) is refused before
the run, at its field's path, naming the nearest chargeable amounts."""

from typing import Any

from scenario_refusals import problems

from tenure_local.simulator.scenario import parse


def scenario(plan: dict[str, Any], coupons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "plans": [{"id": "basic", "currency": "KWD", "interval": "month"} | plan],
        "coupons": coupons or [],
        "customers": [{"id": "alice", "email": "alice@example.com"}],
        "actions": [],
    }


def test_a_kwd_plan_of_1001_is_refused_at_its_path() -> None:
    [(path, what)] = problems(scenario({"amount": 1001}))
    assert path == "plans[0].amount"
    assert "nearest: 1000 or 1010" in what and not what.startswith("amount")


def test_a_kwd_seat_tier_of_2125_is_refused_naming_the_tier() -> None:
    tiers = [{"up_to": None, "unit_amount": 2125}]
    [(path, what)] = problems(scenario({"amount": 0, "tiers": tiers}))
    assert path == "plans[0].tiers[0].unit_amount"
    assert "nearest: 2120 or 2130" in what


def test_a_kwd_coupon_of_one_fils_off_is_refused_at_its_path() -> None:
    coupon = {"id": "fils", "amount_off": 1, "currency": "KWD", "duration": "once"}
    [(path, what)] = problems(scenario({"amount": 1000}, [coupon]))
    assert path == "coupons[0].amount_off"
    assert "nearest: 0 or 10" in what


def test_amounts_in_tens_and_any_amount_in_two_decimals_are_read() -> None:
    coupon = {"id": "ten", "amount_off": 10, "currency": "KWD", "duration": "once"}
    assert parse(scenario({"amount": 1010}, [coupon])).plans[0].amount == 1010
    assert parse(scenario({"amount": 1001, "currency": "USD"})).plans[0].amount == 1001
