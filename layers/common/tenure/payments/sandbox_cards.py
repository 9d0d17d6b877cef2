"""The sandbox provider's payment methods: Stripe's public test cards, what charging each
does, and the sandbox-only methods that settle later (tenure.payments.sandbox)."""

from dataclasses import dataclass

from tenure.domain.charges import ChargeOutcome
from tenure.payments.gateway import CardDetails


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
        TestCard("5555555555554444", "pm_card_mastercard", "mastercard", "succeeded"),
        TestCard("378282246310005", "pm_card_amex", "amex", "succeeded"),
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
ASYNC_LAST4 = {"pm_sandbox_async_succeeds": "3000", "pm_sandbox_async_fails": "3001"}
ASYNC_DECLINE_CODE = "debit_failed"

# Stripe's test cards take any future expiry; the sandbox reports a fixed one.
CARD_EXPIRY = (12, 2034)


def payment_method_for(card: str) -> str | None:
    """The sandbox payment-method id for a test card number or sandbox method name."""
    if card in ASYNC_METHODS:
        return ASYNC_METHODS[card]
    test_card = TEST_CARDS.get(card.replace(" ", ""))
    return test_card.payment_method if test_card else None


BY_METHOD = {card.payment_method: card for card in TEST_CARDS.values()}


def card_details(payment_method: str) -> CardDetails | None:
    """What may be shown of a sandbox payment method (brand, last4), or None for others."""
    card = BY_METHOD.get(payment_method)
    if card is not None:
        return CardDetails(
            brand=card.brand, last4=card.number[-4:], exp_month=CARD_EXPIRY[0],
            exp_year=CARD_EXPIRY[1],
        )  # fmt: skip
    if payment_method in ASYNC_LAST4:
        return CardDetails(
            brand="sepa_debit", last4=ASYNC_LAST4[payment_method], exp_month=None, exp_year=None
        )
    return None


def behaviour(method: str) -> tuple[ChargeOutcome, str | None]:
    card = BY_METHOD.get(method)
    if card is None:
        return ChargeOutcome.DECLINED, "invalid_payment_method"
    return ChargeOutcome(card.outcome), card.decline_code
