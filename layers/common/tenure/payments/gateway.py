"""The PaymentGateway port: what Tenure asks of a payment provider."""

from dataclasses import dataclass
from typing import Protocol

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment_id: str
    outcome: ChargeOutcome
    decline_code: str | None = None


class PaymentGateway(Protocol):
    name: str

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
        """Create (not yet confirm) a payment; returns the provider's payment id."""
        ...

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult: ...

    def retrieve_payment(self, payment_id: str) -> PaymentResult: ...
