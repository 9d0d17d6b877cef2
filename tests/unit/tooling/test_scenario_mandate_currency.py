"""A scenario customer with provider: razorpay is billed in INR only, as the API refuses
otherwise: a subscribe to a plan in another currency, or installments in another currency,
is refused at load on the action's field; a customer of the default provider is not."""

from typing import Any

from scenario_refusals import problems

from tenure_local.simulator.scenario import parse


def scenario(provider: str | None, *actions: dict[str, Any]) -> dict[str, Any]:
    customer = {"id": "ravi", "email": "ravi@example.com"}
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "plans": [
            {"id": "usd", "amount": 1000, "currency": "USD", "interval": "month"},
            {"id": "inr", "amount": 49900, "currency": "INR", "interval": "month"},
        ],
        "customers": [customer | ({"provider": provider} if provider else {})],
        "actions": list(actions),
    }


def subscribe(plan: str) -> dict[str, Any]:
    return {"at": "2026-01-02T00:00:00Z", "do": "subscribe", "customer": "ravi", "plan": plan}


def installments(currency: str) -> dict[str, Any]:
    return {
        "at": "2026-01-02T00:00:00Z",
        "do": "installments",
        "customer": "ravi",
        "id": "ip-1",
        "amount": 120000,
        "currency": currency,
        "count": 3,
        "every": "month",
    }


def test_a_razorpay_customer_s_usd_plan_or_eur_instalments_are_refused_at_load() -> None:
    found = problems(scenario("razorpay", subscribe("usd"), installments("eur")))

    assert [path for path, _ in found] == ["actions[0].plan", "actions[1].currency"]
    assert "recurring payments are in INR only" in found[0][1]
    assert found[1][1].endswith("not EUR")


def test_inr_for_razorpay_and_any_currency_for_the_default_provider_load() -> None:
    parse(scenario("razorpay", subscribe("inr"), installments("INR")))
    parse(scenario(None, subscribe("usd"), installments("EUR")))
