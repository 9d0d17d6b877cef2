"""The sandbox provider's test payment methods, named after Stripe's public test cards."""

from dataclasses import dataclass


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
