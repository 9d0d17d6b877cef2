"""A new Razorpay mandate: the registration order Checkout opens with `recurring: 1`, and the
check of Checkout's answer (signature, the payment read back, the order Tenure's and the
customer's) before its token is believed."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.money import Money
from tenure.payments.gateway import (
    CheckoutAnswer,
    CheckoutOrder,
    IdempotencyConflictError,
    InvalidRequestError,
    MandateTerms,
    UnverifiedCheckoutError,
)
from tenure.payments.razorpay_gateway import REGISTRATION_TRIES, checkout_signature
from tenure.payments.razorpay_sandbox import RazorpaySandbox, SandboxRazorpayGateway

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)
TERMS = MandateTerms("upi", Money(75_000, "INR"), T0 + timedelta(days=3653))


def registrar() -> tuple[RazorpaySandbox, SandboxRazorpayGateway, str]:
    rzp = RazorpaySandbox(clock=lambda: T0)
    gateway = rzp.gateway()
    customer = gateway.create_customer(
        customer_id="ravi", email="ravi@example.com", name="Ravi", idempotency_key="c:ravi"
    )
    return rzp, gateway, customer


def begin(gateway: SandboxRazorpayGateway, customer: str, **kw: object) -> CheckoutOrder:
    args: dict[str, object] = {
        "provider_customer_id": customer,
        "tenure_customer_id": "ravi",
        "terms": TERMS,
        "reference": "mandate:ravi:token_upi_success:upi:2026-04-01",
    } | kw
    return gateway.begin_mandate(**args)  # type: ignore[arg-type]


def authorise(gateway: SandboxRazorpayGateway, order: CheckoutOrder) -> CheckoutAnswer:
    answer = gateway.checkout_in_sandbox(order, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)
    return answer


def test_the_registration_order_carries_the_method_customer_and_token_terms() -> None:
    rzp, gateway, customer = registrar()

    order = begin(gateway, customer)

    made = rzp.orders[order.order_id]
    assert (made["amount"], made["currency"], made["method"]) == (100, "INR", "upi")
    assert made["customer_id"] == customer and made["receipt"].startswith("mnd_")
    assert len(made["receipt"]) <= 40
    assert made["token"] == {
        "max_amount": 75_000,
        "expire_at": int(TERMS.expire_at.timestamp()),
        "frequency": "as_presented",
    }
    assert order.provider_customer_id == customer and order.email == "ravi@example.com"
    assert dict(order.notes) == {"tenure_customer_id": "ravi", "tenure_purpose": "mandate"}


def test_the_same_registration_asked_again_reuses_its_unpaid_order() -> None:
    rzp, gateway, customer = registrar()
    first = begin(gateway, customer)
    assert begin(gateway, customer).order_id == first.order_id
    assert len(rzp.orders) == 1


def test_a_paid_registration_or_one_with_other_terms_is_passed_over_for_a_new_order() -> None:
    rzp, gateway, customer = registrar()
    first = begin(gateway, customer)
    authorise(gateway, first)

    second = begin(gateway, customer)
    third = begin(gateway, customer, terms=replace(TERMS, max_amount=Money(90_000, "INR")))

    assert len({first.order_id, second.order_id, third.order_id}) == 3
    assert rzp.orders[third.order_id]["token"]["max_amount"] == 90_000


def test_a_reference_whose_every_order_is_used_is_a_conflict() -> None:
    _, gateway, customer = registrar()
    for _ in range(REGISTRATION_TRIES):
        authorise(gateway, begin(gateway, customer))
    with pytest.raises(IdempotencyConflictError):
        begin(gateway, customer)


def test_a_verified_registration_gives_its_token_on_the_orders_terms() -> None:
    rzp, gateway, customer = registrar()
    answer = authorise(gateway, begin(gateway, customer))

    verified = gateway.verify_mandate(
        answer, provider_customer_id=customer, tenure_customer_id="ravi"
    )
    token = verified.token

    assert token == rzp.payments[answer.payment_id]["token_id"]
    # The ₹1 that authorised it, to be given back.
    assert (verified.payment_id, verified.order_id) == (answer.payment_id, answer.order_id)
    assert verified.amount == Money(100, "INR")
    details = gateway.attach_payment_method(
        provider_customer_id=customer, payment_method=token, idempotency_key="attach"
    )
    assert details.get("mandate_kind") == "upi" and details.get("mandate_max_amount") == 75_000


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("forged signature", "signature_mismatch"),
        ("payment of another order", "payment_not_of_order"),
        ("not a registration", "not_a_registration"),
        ("another customer's registration", "order_of_another_customer"),
        ("another Razorpay customer's payment", "token_of_another_customer"),
    ],
)
def test_an_answer_that_does_not_check_out_gives_no_token(case: str, code: str) -> None:
    rzp, gateway, customer = registrar()
    other = gateway.create_customer(
        customer_id="asha", email="asha@example.com", name="Asha", idempotency_key="c:asha"
    )
    order = begin(gateway, customer)
    answer = authorise(gateway, order)
    tenure_customer = "ravi"
    if case == "forged signature":
        answer = replace(answer, signature="0" * 64)
    elif case == "payment of another order":
        elsewhere = authorise(gateway, begin(gateway, customer, reference="another"))
        signature = checkout_signature("sandbox_secret", answer.order_id, elsewhere.payment_id)
        answer = replace(answer, payment_id=elsewhere.payment_id, signature=signature)
    elif case == "not a registration":
        plain = gateway._call("POST", "/orders", {"amount": 100, "currency": "INR"})
        answer = authorise(gateway, replace(order, order_id=plain["id"]))
    elif case == "another customer's registration":
        tenure_customer = "asha"
    else:
        answer = authorise(
            gateway, replace(begin(gateway, customer, reference="x"), provider_customer_id=other)
        )
    asked = len(rzp.requests)

    with pytest.raises(UnverifiedCheckoutError) as refused:
        gateway.verify_mandate(
            answer, provider_customer_id=customer, tenure_customer_id=tenure_customer
        )

    assert refused.value.code == code
    if case == "forged signature":
        assert len(rzp.requests) == asked  # refused before Razorpay is asked anything


def test_a_token_made_for_one_customer_cannot_be_attached_to_another() -> None:
    rzp, gateway, customer = registrar()
    other = gateway.create_customer(
        customer_id="asha", email="asha@example.com", name="Asha", idempotency_key="c:asha"
    )
    answer = authorise(gateway, begin(gateway, customer))
    token = rzp.payments[answer.payment_id]["token_id"]

    with pytest.raises(InvalidRequestError):
        gateway.attach_payment_method(
            provider_customer_id=other, payment_method=token, idempotency_key="attach"
        )
