"""POST /v1/customers takes an optional `provider`: one this deployment has configured, else
a 422 naming the field, with nothing created."""

from collections.abc import Iterator
from typing import Any

import pytest
from api_harness import Api

from tenure import bootstrap
from tenure.payments.sandbox import SandboxGateway
from tenure.services.context import Services


class OtherSandbox(SandboxGateway):
    name = "razorpay"


@pytest.fixture
def two_providers(api: Api) -> Iterator[Api]:
    services = Services(
        api.repo, api.clock, gateway=SandboxGateway(), gateways={"razorpay": OtherSandbox()}
    )
    bootstrap.use(bootstrap.Wiring(services))
    yield api


def test_a_customer_created_with_a_provider_shows_and_keeps_it(two_providers: Api) -> None:
    created = two_providers.customer("ravi", provider="razorpay")
    assert created["provider"] == "razorpay"
    assert two_providers.get("/v1/customers/ravi").json["provider"] == "razorpay"
    stored = two_providers.repo.get_customer("ravi")
    assert stored is not None and stored.provider == "razorpay"


def test_a_customer_created_without_a_provider_shows_none(two_providers: Api) -> None:
    created = two_providers.customer("asha")
    assert "provider" not in created
    stored = two_providers.repo.get_customer("asha")
    assert stored is not None and stored.provider is None


def refused(api: Api, body: dict[str, Any]) -> Any:
    before = {k: v for k, v in api.repo.customers.items()}
    reply = api.post("/v1/customers", body)
    assert api.repo.customers == before, "a refused request created a customer"
    return reply


def test_an_unknown_provider_is_a_422_naming_the_field(two_providers: Api) -> None:
    reply = refused(two_providers, {"id": "ravi", "email": "r@example.com", "provider": "paypal"})
    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "provider"]]


def test_a_provider_this_deployment_has_not_configured_is_a_422_saying_so(api: Api) -> None:
    bootstrap.use(bootstrap.Wiring(Services(api.repo, api.clock, gateway=SandboxGateway())))
    reply = refused(api, {"id": "ravi", "email": "r@example.com", "provider": "razorpay"})
    assert reply.status == 422, reply.text
    assert "'razorpay' is not configured here" in reply.text
