"""Which providers a wiring can charge through: the default one (PAYMENT_PROVIDER) and
Razorpay beside it when its keys are configured, or its sandbox on a sandbox deployment."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tenure import bootstrap
from tenure.domain.money import Money
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.razorpay_gateway import RazorpayGateway
from tenure.settings import Settings

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rzp-AbCdEf"


class SecretsOnly:
    """Secrets Manager, holding Razorpay's key secret; no other client may be asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, service: str) -> Any:
        assert service == "secretsmanager", service
        return self

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.asked.append(SecretId)
        return {"SecretString": "rzp_secret_value"}


def build(secrets: SecretsOnly | None = None, **settings: Any) -> bootstrap.Wiring:
    clients = bootstrap.AwsClients(make=secrets or SecretsOnly())
    return bootstrap.build(
        Settings(**settings), store=InMemoryRepository(), clock=FixedClock(T0), clients=clients
    )


def test_a_sandbox_deployment_offers_razorpays_sandbox_beside_the_default() -> None:
    services = build(PAYMENT_PROVIDER="sandbox").services
    assert services.provider_names() == ("sandbox", "razorpay")
    assert isinstance(services.gateway_for("razorpay"), RazorpayGateway)


def test_a_stripe_deployment_without_razorpay_keys_offers_stripe_alone() -> None:
    services = build(PAYMENT_PROVIDER="stripe", TENURE_PROVIDER_API_KEY="sk_test_x").services
    assert services.provider_names() == ("stripe",)


def test_razorpay_keys_add_razorpay_with_its_secret_read_from_secrets_manager() -> None:
    secrets = SecretsOnly()
    services = build(
        secrets,
        PAYMENT_PROVIDER="stripe",
        TENURE_PROVIDER_API_KEY="sk_test_x",
        RAZORPAY_KEY_ID="rzp_test_abc",
        RAZORPAY_KEY_SECRET_ARN=SECRET_ARN,
    ).services
    assert services.provider_names() == ("stripe", "razorpay")
    assert isinstance(services.gateway_for("razorpay"), RazorpayGateway)
    assert secrets.asked == [SECRET_ARN]


def test_razorpay_as_the_default_provider_charges_every_customer_who_names_none() -> None:
    services = build(
        PAYMENT_PROVIDER="razorpay",
        RAZORPAY_KEY_ID="rzp_test_abc",
        TENURE_RAZORPAY_KEY_SECRET="s",
    ).services
    assert isinstance(services.gateway, RazorpayGateway)
    assert services.gateway_for(None) is services.gateway_for("razorpay")
    assert services.provider_names() == ("razorpay",)


def test_a_razorpay_key_id_without_its_secret_is_refused_at_cold_start() -> None:
    with pytest.raises(RuntimeError, match="RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET_ARN"):
        build(PAYMENT_PROVIDER="sandbox", RAZORPAY_KEY_ID="rzp_test_abc")


def test_the_processes_of_one_local_stack_share_razorpays_sandbox(tmp_path: Path) -> None:
    state = str(tmp_path / "sandbox.pickle")
    first = build(PAYMENT_PROVIDER="sandbox", TENURE_SANDBOX_STATE=state).services
    second = build(PAYMENT_PROVIDER="sandbox", TENURE_SANDBOX_STATE=state).services
    one, other = first.gateway_for("razorpay"), second.gateway_for("razorpay")
    assert one is not None and other is not None
    customer = one.create_customer(
        customer_id="asha", email="asha@example.com", name=None, idempotency_key="c"
    )
    args: dict[str, Any] = {
        "amount": Money(19900, "INR"),
        "customer_id": customer,
        "payment_method": "token_upi_success",
        "invoice_id": "in_1",
        "attempt": 1,
        "idempotency_key": "charge:in_1:1:create",
    }
    paid = one.create_and_confirm_payment(**args)
    # Another process replaying the attempt finds the first payment: nothing is made twice.
    assert other.create_and_confirm_payment(**args) == paid
    assert other.retrieve_payment(paid.payment_id) == paid
