"""The sandbox provider's test payment methods, named after Stripe's public test cards."""

import hashlib
from dataclasses import dataclass

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import PaymentResult


@dataclass(frozen=True, slots=True)
class TestCard:
    number: str
    payment_method: str  # the id the sandbox hands out, like Stripe's pm_card_* shortcuts
    brand: str
    outcome: str  # what charging it does: succeeded | declined | authentication_required
    decline_code: str | None = None


# Stripe's documented test cards (https://docs.stripe.com/testing) and what charging them does.
TEST_CARDS: dict[str, TestCard] = {
    c.number: c
    for c in (
        TestCard("4242424242424242", "pm_card_visa", "visa", "succeeded"),
        TestCard(
            "4000000000000002", "pm_card_chargeDeclined", "visa", "declined", "generic_decline"
        ),
        TestCard(
            "4000000000009995",
            "pm_card_chargeDeclinedInsufficientFunds",
            "visa",
            "declined",
            "insufficient_funds",
        ),
        TestCard(
            "4000000000009987", "pm_card_chargeDeclinedLostCard", "visa", "declined", "lost_card"
        ),
        TestCard(
            "4000000000009979",
            "pm_card_chargeDeclinedStolenCard",
            "visa",
            "declined",
            "stolen_card",
        ),
        TestCard(
            "4000000000000069",
            "pm_card_chargeDeclinedExpiredCard",
            "visa",
            "declined",
            "expired_card",
        ),
        TestCard(
            "4000000000000127",
            "pm_card_chargeDeclinedIncorrectCvc",
            "visa",
            "declined",
            "incorrect_cvc",
        ),
        TestCard(
            "4000000000000119",
            "pm_card_chargeDeclinedProcessingError",
            "visa",
            "declined",
            "processing_error",
        ),
        TestCard(
            "4000002760003184",
            "pm_card_authenticationRequired",
            "visa",
            "authentication_required",
            "authentication_required",
        ),
        TestCard(
            "4000000000000341",
            "pm_card_chargeCustomerFail",
            "visa",
            "declined",
            "card_declined",
        ),
    )
}
# Sandbox-only methods that settle later, like bank debits.
ASYNC_METHODS = {
    "sandbox_async_succeeds": "pm_sandbox_async_succeeds",
    "sandbox_async_fails": "pm_sandbox_async_fails",
}


def payment_method_for(card: str) -> str | None:
    """The sandbox payment-method id for a test card number or sandbox method name."""
    if card in ASYNC_METHODS:
        return ASYNC_METHODS[card]
    test_card = TEST_CARDS.get(card.replace(" ", ""))
    return test_card.payment_method if test_card else None


_BY_METHOD = {card.payment_method: card for card in TEST_CARDS.values()}


class UnknownPaymentMethodError(ValueError):
    pass


class SandboxGateway:
    """A deterministic stand-in for Stripe: same idempotency key, same payment."""

    name = "sandbox"

    def __init__(self) -> None:
        self._payments: dict[str, dict[str, object]] = {}
        self._by_key: dict[str, str] = {}
        self.confirmations = 0  # how many times money was asked to move (tests read it)

    def create_payment(
        self,
        *,
        amount: Money,
        customer_id: str,
        payment_method: str,
        invoice_id: str,
        attempt: int,
        idempotency_key: str,
    ) -> str:
        if idempotency_key in self._by_key:
            return self._by_key[idempotency_key]
        payment_id = f"pi_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"
        self._payments[payment_id] = {
            "amount": amount,
            "payment_method": payment_method,
            "invoice_id": invoice_id,
            "result": None,
        }
        self._by_key[idempotency_key] = payment_id
        return payment_id

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        payment = self._payments[payment_id]
        result = payment["result"]
        if isinstance(result, PaymentResult):
            return result  # a replayed confirmation returns the first answer, moves nothing
        self.confirmations += 1
        method = str(payment["payment_method"])
        outcome, code = _behaviour(method)
        result = PaymentResult(payment_id, outcome, code)
        payment["result"] = result
        return result

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        payment = self._payments[payment_id]
        result = payment["result"]
        if isinstance(result, PaymentResult):
            return result
        return PaymentResult(payment_id, ChargeOutcome.UNKNOWN)


def _behaviour(method: str) -> tuple[ChargeOutcome, str | None]:
    if method == ASYNC_METHODS["sandbox_async_succeeds"]:
        return ChargeOutcome.SUCCEEDED, None  # settles at once until webhooks land
    if method == ASYNC_METHODS["sandbox_async_fails"]:
        return ChargeOutcome.DECLINED, "debit_failed"
    card = _BY_METHOD.get(method)
    if card is None:
        return ChargeOutcome.DECLINED, "invalid_payment_method"
    return ChargeOutcome(card.outcome), card.decline_code
