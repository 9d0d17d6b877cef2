"""A Razorpay debit the customer must authenticate: the order that waits for them, what
Checkout needs to pay it, and the check of Checkout's answer (signature, then the payment
read back) before anything is believed."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import CheckoutAnswer, InvalidRequestError, UnverifiedCheckoutError
from tenure.payments.razorpay_gateway import checkout_signature
from tenure.payments.razorpay_sandbox import (
    SANDBOX_KEY,
    RazorpaySandbox,
    SandboxRazorpayGateway,
)

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)
RUPEES_20000 = Money(2_000_000, "INR")


def waiting_order() -> tuple[RazorpaySandbox, SandboxRazorpayGateway, str]:
    """Ravi's ₹20,000 debit on his ₹1,00,000 UPI mandate, made for him to authenticate."""
    rzp = RazorpaySandbox(clock=lambda: T0)
    gateway = rzp.gateway()
    customer = gateway.create_customer(
        customer_id="ravi", email="ravi@example.com", name="Ravi", idempotency_key="c:ravi"
    )
    order_id = gateway.create_payment(
        amount=RUPEES_20000,
        customer_id=customer,
        payment_method="token_upi_lakh",
        invoice_id="in_1",
        attempt=1,
        idempotency_key="charge:in_1:1:create",
        subscription_id="sub-1",
        tenure_customer_id="ravi",
    )
    return rzp, gateway, order_id


def test_checkout_is_given_the_order_its_amount_and_the_customers_prefill() -> None:
    _, gateway, order_id = waiting_order()

    auth = gateway.payment_authentication(order_id)

    checkout = auth.checkout
    assert checkout is not None and auth.payment_id == order_id
    assert (checkout.key_id, checkout.order_id, checkout.amount) == (
        SANDBOX_KEY[0],
        order_id,
        RUPEES_20000,
    )
    assert checkout.email == "ravi@example.com" and checkout.contact
    assert checkout.notes["tenure_invoice_id"] == "in_1" and checkout.notes["tenure_attempt"] == "1"
    # The mandate's token and Razorpay's customer stay on the server's side.
    assert "tenure_token" not in checkout.notes
    assert "tenure_provider_customer" not in checkout.notes


def test_a_payment_already_made_is_not_authenticated_afterwards() -> None:
    _, gateway, _ = waiting_order()
    with pytest.raises(InvalidRequestError) as refused:
        gateway.payment_authentication("pay_sbx0000000001")
    assert refused.value.code == "not_supported"


def test_a_checkout_answer_signed_by_razorpay_is_read_back_as_captured() -> None:
    rzp, gateway, order_id = waiting_order()
    auth = gateway.payment_authentication(order_id)
    assert auth.checkout is not None
    answer = gateway.checkout_in_sandbox(auth.checkout, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)

    result = gateway.verify_checkout(answer)

    assert result.outcome is ChargeOutcome.SUCCEEDED and result.payment_id == answer.payment_id
    assert rzp.payments[answer.payment_id]["notes"]["tenure_invoice_id"] == "in_1"
    assert rzp.orders[order_id]["status"] == "paid"


def test_a_forged_signature_is_refused_before_razorpay_is_asked() -> None:
    rzp, gateway, order_id = waiting_order()
    asked = len(rzp.requests)
    forged = CheckoutAnswer("pay_sbx0000000001", order_id, "0" * 64)

    with pytest.raises(UnverifiedCheckoutError) as refused:
        gateway.verify_checkout(forged)

    assert refused.value.code == "signature_mismatch"
    assert len(rzp.requests) == asked


def test_a_signature_of_another_payment_is_refused() -> None:
    _, gateway, order_id = waiting_order()
    auth = gateway.payment_authentication(order_id)
    assert auth.checkout is not None
    answer = gateway.checkout_in_sandbox(auth.checkout, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)

    with pytest.raises(UnverifiedCheckoutError):
        gateway.verify_checkout(replace(answer, payment_id="pay_sbx0000000099"))


def test_a_correctly_signed_payment_of_another_order_is_refused_when_read_back() -> None:
    rzp, gateway, order_id = waiting_order()
    other = gateway.create_payment(
        amount=Money(10000, "INR"),
        customer_id=next(iter(rzp.customers)),
        payment_method="token_upi_lakh",
        invoice_id="in_2",
        attempt=1,
        idempotency_key="charge:in_2:1:create",
    )
    other_auth = gateway.payment_authentication(other)
    assert other_auth.checkout is not None
    paid_other = gateway.checkout_in_sandbox(other_auth.checkout, "success@razorpay")
    assert isinstance(paid_other, CheckoutAnswer)
    # Signed with the real secret, as if Razorpay had paired the two: still not this order's.
    signature = checkout_signature(SANDBOX_KEY[1], order_id, paid_other.payment_id)

    with pytest.raises(UnverifiedCheckoutError) as refused:
        gateway.verify_checkout(CheckoutAnswer(paid_other.payment_id, order_id, signature))

    assert refused.value.code == "payment_not_of_order"


def test_a_failing_test_upi_id_fails_in_the_checkout_and_the_order_still_waits() -> None:
    rzp, gateway, order_id = waiting_order()
    auth = gateway.payment_authentication(order_id)
    assert auth.checkout is not None

    failed = gateway.checkout_in_sandbox(auth.checkout, "failure@razorpay")

    assert not isinstance(failed, CheckoutAnswer)
    assert failed.outcome is ChargeOutcome.DECLINED and failed.decline_code == "payment_failed"
    assert rzp.orders[order_id]["status"] == "attempted"
    assert [e["type"] for e in rzp.events] == ["payment.failed"]


def test_the_sandbox_checkout_refuses_a_second_payment_of_a_paid_order() -> None:
    _, gateway, order_id = waiting_order()
    auth = gateway.payment_authentication(order_id)
    assert auth.checkout is not None
    gateway.checkout_in_sandbox(auth.checkout, "success@razorpay")
    with pytest.raises(InvalidRequestError):
        gateway.checkout_in_sandbox(auth.checkout, "success@razorpay")


def test_the_sandboxs_own_lakh_mandate_carries_a_maximum_of_one_lakh() -> None:
    rzp, gateway, _ = waiting_order()
    details = gateway.attach_payment_method(
        provider_customer_id=next(iter(rzp.customers)),
        payment_method="token_upi_lakh",
        idempotency_key="k",
    )
    assert details.get("mandate_max_amount") == 10_000_000
