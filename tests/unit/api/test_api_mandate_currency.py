"""A customer who pays through Razorpay is billed in INR only: its recurring payments (UPI
AutoPay, e-mandates) are INR-only and the mandate registered here is one in INR. A
subscription to a plan in another currency, or an instalment plan in one, is a 422 saying
why, and nothing is written; a Stripe-side customer takes any currency."""

from collections.abc import Iterator

import pytest
from api_harness import Api
from test_api_bad_input import refused

from tenure import bootstrap
from tenure.payments.sandbox import SandboxGateway
from tenure.services.context import Services


class MandateSandbox(SandboxGateway):
    name = "razorpay"


@pytest.fixture
def shop(api: Api) -> Iterator[Api]:
    services = Services(
        api.repo,
        api.clock,
        gateway=SandboxGateway(clock=api.clock.now),
        gateways={"razorpay": MandateSandbox(clock=api.clock.now)},
    )
    bootstrap.use(bootstrap.Wiring(services))
    api.plan("usd", 1000)
    api.plan("inr", 49900, currency="INR")
    api.customer("ravi", provider="razorpay")
    api.customer("alice")
    yield api


def instalments(currency: str) -> dict[str, object]:
    return {
        "id": "ip-1",
        "amount": 120000,
        "currency": currency,
        "count": 3,
        "every": "month",
        "description": "Sofa",
    }


def test_a_razorpay_customer_subscribing_to_a_usd_plan_is_a_422_on_plan(shop: Api) -> None:
    body = {"id": "sub-1", "customer": "ravi", "plan": "usd"}
    reply = refused(shop, "POST", "/v1/subscriptions", body)

    assert reply.status == 422, reply.text
    [problem] = reply.json["detail"]
    assert problem["loc"] == ["body", "plan"]
    assert "recurring payments are in INR only" in problem["msg"]


def test_a_razorpay_customer_s_eur_instalment_plan_is_a_422_on_currency(shop: Api) -> None:
    path = "/v1/customers/ravi/installment-plans"
    reply = refused(shop, "POST", path, instalments("EUR"))

    assert reply.status == 422, reply.text
    [problem] = reply.json["detail"]
    assert problem["loc"] == ["body", "currency"]
    assert "not EUR" in problem["msg"]


def test_inr_for_razorpay_and_any_currency_elsewhere_are_taken(shop: Api) -> None:
    shop.subscription("sub-ravi", "ravi", "inr")
    shop.subscription("sub-alice", "alice", "usd")
    for customer, currency in (("ravi", "INR"), ("alice", "EUR")):
        path = f"/v1/customers/{customer}/installment-plans"
        body = {**instalments(currency), "id": f"ip-{customer}"}
        assert shop.post(path, body).status == 201
