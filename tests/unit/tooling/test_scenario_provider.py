"""A scenario customer's optional `provider:`: `razorpay` or the simulator's default, and
nothing else, refused before the run naming the customer's field."""

from typing import Any

from scenario_refusals import problems

from tenure_local.simulator.scenario import parse


def scenario(**fields: Any) -> dict[str, Any]:
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-02-01T00:00:00Z",
        "customers": [{"id": "ravi", "email": "ravi@example.com"} | fields],
        "actions": [],
    }


def test_a_customer_may_name_razorpay_or_name_no_provider() -> None:
    assert parse(scenario(provider="razorpay")).customers[0].provider == "razorpay"
    assert parse(scenario()).customers[0].provider is None


def test_a_customer_naming_another_provider_is_refused_before_the_run() -> None:
    [(path, what)] = problems(scenario(provider="paypal"))
    assert path == "customers[0].provider"
    assert "razorpay" in what


def test_a_razorpay_customer_takes_razorpays_test_data() -> None:
    for data in ("success@razorpay", "failure@razorpay", "4100280000001007"):
        assert parse(scenario(provider="razorpay", card=data)).customers[0].card == data


def test_a_razorpay_customer_with_a_stripe_test_card_is_refused_before_the_run() -> None:
    [(path, what)] = problems(scenario(provider="razorpay", card="4242424242424242"))
    assert path == "customers[0]"
    assert "not one of Razorpay's test cards or UPI ids" in what


def test_a_default_customer_with_razorpay_test_data_is_refused_before_the_run() -> None:
    [(path, what)] = problems(scenario(card="success@razorpay"))
    assert path == "customers[0]"
    assert "not one of Stripe's test cards" in what
