"""The sandbox's stand-ins for what Stripe.js does in a browser: a SetupIntent for a new card,
and a payment confirmed with the customer present."""

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.sandbox import SandboxGateway, card_details


def charged(gateway: SandboxGateway, method: str) -> str:
    payment_id = gateway.create_payment(
        amount=Money(1000, "USD"),
        customer_id="cus_1",
        payment_method=method,
        invoice_id="inv_1",
        attempt=1,
        idempotency_key="charge:inv_1:1:create",
    )
    gateway.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    return payment_id


def test_the_authentication_card_succeeds_when_the_customer_confirms_it_on_session() -> None:
    gateway = SandboxGateway()
    payment_id = charged(gateway, "pm_card_authenticationRequired")
    assert gateway.retrieve_payment(payment_id).outcome is ChargeOutcome.AUTHENTICATION_REQUIRED

    result = gateway.confirm_on_session(payment_id, idempotency_key="k:on_session")
    again = gateway.confirm_on_session(payment_id, idempotency_key="k:on_session")

    assert result.outcome is ChargeOutcome.SUCCEEDED and again == result
    assert gateway.confirmations == 2  # off-session, then once on-session
    assert gateway.events[-1]["type"] == "payment_intent.succeeded"
    auth = gateway.payment_authentication(payment_id)
    assert auth.client_secret.startswith(f"{payment_id}_secret_")
    assert auth.payment_method == "pm_card_authenticationRequired"


def test_a_declined_card_stays_declined_on_session() -> None:
    gateway = SandboxGateway()
    payment_id = charged(gateway, "pm_card_chargeDeclinedInsufficientFunds")

    result = gateway.confirm_on_session(payment_id, idempotency_key="k:on_session")

    assert (result.outcome, result.decline_code) == (ChargeOutcome.DECLINED, "insufficient_funds")
    assert gateway.confirmations == 1


def test_a_setup_intent_needs_a_known_customer_and_replays_by_key() -> None:
    gateway = SandboxGateway()
    customer = gateway.create_customer(
        customer_id="alice", email="a@example.com", name=None, idempotency_key="customer:alice"
    )

    first = gateway.create_setup_intent(provider_customer_id=customer, idempotency_key="setup:1")

    assert first.startswith("seti_") and "_secret_" in first
    assert (
        gateway.create_setup_intent(provider_customer_id=customer, idempotency_key="setup:1")
        == first
    )
    assert card_details("pm_card_visa") == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2034,
    }
    assert card_details("pm_somebody_elses") is None
