"""The payment the sandbox gateway's tests make over and over: USD 10 from cus_alice, created
and confirmed in one request keyed by its invoice and attempt."""

from tenure.domain.money import Money
from tenure.payments.gateway import PaymentResult
from tenure.payments.sandbox import SandboxGateway, payment_method_for

USD_10 = Money(1000, "USD")


def pay(
    gateway: SandboxGateway,
    card: str = "4242424242424242",
    invoice: str = "inv_1",
    attempt: int = 1,
    key: str = "charge:{invoice}:{attempt}",
) -> PaymentResult:
    """`key` is the idempotency key's template, filled with the invoice and attempt."""
    method = payment_method_for(card)
    assert method is not None
    return gateway.create_and_confirm_payment(
        amount=USD_10,
        customer_id="cus_alice",
        payment_method=method,
        invoice_id=invoice,
        attempt=attempt,
        idempotency_key=key.format(invoice=invoice, attempt=attempt),
    )
