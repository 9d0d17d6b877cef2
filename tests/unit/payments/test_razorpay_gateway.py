"""The Razorpay adapter: one order and one recurring payment per attempt, replays that
make nothing twice, Razorpay's answers mapped to Tenure's outcomes and typed errors."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import (
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
)
from tenure.payments.razorpay_gateway import (
    HttpRequest,
    HttpResponse,
    RazorpayGateway,
    payment_result,
    receipt_for,
)
from tenure.payments.razorpay_sandbox import DEFAULT_MANDATE_MAX, RazorpaySandbox, token_for

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)
RUPEES_499 = Money(49900, "INR")


def sandbox() -> tuple[RazorpaySandbox, RazorpayGateway, str]:
    rzp = RazorpaySandbox(clock=lambda: T0)
    gateway = rzp.gateway()
    customer = gateway.create_customer(
        customer_id="ravi", email="ravi@example.com", name="Ravi", idempotency_key="customer:ravi"
    )
    return rzp, gateway, customer


def charge(gateway: RazorpayGateway, customer: str, token: str, **kw: Any) -> PaymentResult:
    args: dict[str, Any] = {
        "amount": RUPEES_499,
        "customer_id": customer,
        "payment_method": token,
        "invoice_id": "in_1",
        "attempt": 1,
        "idempotency_key": "charge:in_1:1:create",
        "subscription_id": "sub-1",
        "tenure_customer_id": "ravi",
    }
    return gateway.create_and_confirm_payment(**(args | kw))


def test_a_debit_on_a_upi_mandate_is_one_order_and_one_captured_recurring_payment() -> None:
    rzp, gateway, customer = sandbox()
    result = charge(gateway, customer, "token_upi_success")
    assert result.outcome is ChargeOutcome.SUCCEEDED
    [order] = rzp.orders.values()
    [payment] = rzp.payments.values()
    assert order["receipt"] == receipt_for("in_1", 1) and len(order["receipt"]) <= 40
    assert (payment["id"], payment["order_id"], payment["token_id"]) == (
        result.payment_id,
        order["id"],
        "token_upi_success",
    )
    # The notes the webhooks match the invoice by, on the order and on the payment.
    for entity in (order, payment):
        assert entity["notes"]["tenure_invoice_id"] == "in_1"
        assert entity["notes"]["tenure_attempt"] == "1"
        assert entity["notes"]["tenure_customer_id"] == "ravi"
    assert [e["type"] for e in rzp.events] == ["payment.captured"]


def test_a_debit_on_failure_at_razorpay_is_declined_with_razorpays_reason() -> None:
    rzp, gateway, customer = sandbox()
    result = charge(gateway, customer, token_for("failure@razorpay") or "")
    assert (result.outcome, result.decline_code) == (ChargeOutcome.DECLINED, "payment_failed")
    assert [e["type"] for e in rzp.events] == ["payment.failed"]


def test_a_replayed_attempt_makes_no_second_order_nor_payment() -> None:
    rzp, gateway, customer = sandbox()
    first = charge(gateway, customer, "token_card_visa")
    again = charge(gateway, customer, "token_card_visa")
    assert again == first
    assert (len(rzp.orders), len(rzp.payments)) == (1, 1)


def test_a_replayed_declined_attempt_answers_the_decline_without_debiting_again() -> None:
    rzp, gateway, customer = sandbox()
    first = charge(gateway, customer, "token_upi_failure")
    assert charge(gateway, customer, "token_upi_failure") == first
    assert len(rzp.payments) == 1


def test_the_same_attempt_asked_for_another_amount_is_an_idempotency_conflict() -> None:
    rzp, gateway, customer = sandbox()
    charge(gateway, customer, "token_card_visa")
    with pytest.raises(IdempotencyConflictError):
        charge(gateway, customer, "token_card_visa", amount=Money(59900, "INR"))
    assert len(rzp.payments) == 1


def test_a_debit_over_the_mandates_maximum_is_refused_and_moves_nothing() -> None:
    rzp, gateway, customer = sandbox()
    with pytest.raises(InvalidRequestError) as refused:
        charge(gateway, customer, "token_card_visa", amount=Money(DEFAULT_MANDATE_MAX + 100, "INR"))
    assert refused.value.code == "BAD_REQUEST_ERROR" and refused.value.param == "amount"
    assert not rzp.payments


def test_a_lost_answer_is_found_by_the_attempts_notes_in_its_time_range() -> None:
    _, gateway, customer = sandbox()
    made = charge(gateway, customer, "token_upi_success")
    window = {"created_from": T0 - timedelta(minutes=5), "created_until": T0 + timedelta(hours=1)}
    found = gateway.find_payment(customer_id=customer, invoice_id="in_1", attempt=1, **window)
    assert found == made
    assert (
        gateway.find_payment(customer_id=customer, invoice_id="in_1", attempt=2, **window) is None
    )
    late = {"created_from": T0 + timedelta(hours=2), "created_until": T0 + timedelta(hours=3)}
    assert gateway.find_payment(customer_id=customer, invoice_id="in_1", attempt=1, **late) is None


def test_an_order_created_but_never_paid_is_unknown_until_confirmed_once() -> None:
    rzp, gateway, customer = sandbox()
    order_id = gateway.create_payment(
        amount=RUPEES_499, customer_id=customer, payment_method="token_card_visa",
        invoice_id="in_1", attempt=1, idempotency_key="charge:in_1:1:create",
    )  # fmt: skip
    assert not rzp.payments  # no money moved
    assert gateway.retrieve_payment(order_id).outcome is ChargeOutcome.UNKNOWN
    confirmed = gateway.confirm_payment(order_id, idempotency_key="charge:in_1:1:confirm")
    again = gateway.confirm_payment(order_id, idempotency_key="charge:in_1:1:confirm")
    assert confirmed.outcome is ChargeOutcome.SUCCEEDED and again == confirmed
    assert len(rzp.payments) == 1
    assert gateway.retrieve_payment(confirmed.payment_id) == confirmed


def test_a_refund_carries_razorpays_idempotency_header_and_is_made_once() -> None:
    rzp, gateway, customer = sandbox()
    paid = charge(gateway, customer, "token_card_visa")
    key = "refund:in_1:1"
    first = gateway.refund(
        payment_id=paid.payment_id, amount=Money(10000, "INR"), idempotency_key=key
    )
    again = gateway.refund(
        payment_id=paid.payment_id, amount=Money(10000, "INR"), idempotency_key=key
    )
    assert first == again and len(rzp.refunds) == 1
    assert rzp.payments[paid.payment_id]["amount_refunded"] == 10000
    with pytest.raises(IdempotencyConflictError):
        gateway.refund(payment_id=paid.payment_id, amount=Money(5000, "INR"), idempotency_key=key)
    assert [e["type"] for e in rzp.events][-2:] == ["refund.created", "refund.processed"]


def test_a_refund_that_fails_at_razorpay_gives_the_payment_its_money_back_once() -> None:
    rzp, gateway, customer = sandbox()
    paid = charge(gateway, customer, "token_card_visa")
    payment = rzp.payments[paid.payment_id]
    made = [
        gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:in_1:1")
    ]
    assert (payment["status"], payment["refund_status"]) == ("refunded", "full")

    rzp.fail_refund(made[0])
    rzp.fail_refund(made[0])  # failed already: nothing more

    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == (
        "captured",
        0,
        None,
    )
    assert rzp.refunds[made[0]]["status"] == "failed"
    [told] = [e for e in rzp.events if e["type"] == "refund.failed"]
    entities = told["body"]["payload"]
    assert entities["refund"]["entity"]["status"] == "failed"
    assert entities["payment"]["entity"]["amount_refunded"] == 0
    # What is left can be refunded again: a partial refund, then its failure leaves the rest.
    again = gateway.refund(
        payment_id=paid.payment_id, amount=Money(100, "INR"), idempotency_key="refund:in_1:2"
    )
    gateway.refund(
        payment_id=paid.payment_id, amount=Money(200, "INR"), idempotency_key="refund:in_1:3"
    )
    rzp.fail_refund(again)
    assert (payment["amount_refunded"], payment["refund_status"]) == (200, "partial")


def test_a_upi_token_is_shown_as_upi_with_its_mandate() -> None:
    _, gateway, customer = sandbox()
    details = gateway.attach_payment_method(
        provider_customer_id=customer, payment_method="token_upi_success", idempotency_key="a"
    )
    assert (details["brand"], details["exp_month"]) == ("upi", None)
    assert (details.get("mandate_kind"), details.get("mandate_max_amount")) == (
        "upi",
        DEFAULT_MANDATE_MAX,
    )


def test_a_card_token_is_shown_by_network_last4_and_expiry() -> None:
    _, gateway, customer = sandbox()
    details = gateway.attach_payment_method(
        provider_customer_id=customer, payment_method="token_card_visa", idempotency_key="a"
    )
    assert (details["brand"], details["last4"], details.get("mandate_kind")) == (
        "visa",
        "1007",
        "card",
    )
    assert details["exp_year"] is not None


def test_an_unknown_token_is_refused() -> None:
    _, gateway, customer = sandbox()
    with pytest.raises(InvalidRequestError):
        gateway.attach_payment_method(
            provider_customer_id=customer, payment_method="token_nope", idempotency_key="a"
        )


def test_saving_a_card_from_tenures_pages_is_not_supported() -> None:
    _, gateway, customer = sandbox()
    with pytest.raises(InvalidRequestError) as refused:
        gateway.create_setup_intent(provider_customer_id=customer, idempotency_key="k")
    assert refused.value.code == "not_supported"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("captured", ChargeOutcome.SUCCEEDED),
        ("refunded", ChargeOutcome.SUCCEEDED),
        ("failed", ChargeOutcome.DECLINED),
        ("authorized", ChargeOutcome.PENDING),
        ("created", ChargeOutcome.PENDING),
        ("something_new", ChargeOutcome.UNKNOWN),
    ],
)
def test_razorpay_payment_statuses_map_to_tenures_outcomes(
    status: str, outcome: ChargeOutcome
) -> None:
    assert payment_result({"id": "pay_1", "status": status}).outcome is outcome


def test_a_failed_payment_without_a_reason_is_declined_by_its_error_code() -> None:
    result = payment_result({"id": "pay_1", "status": "failed", "error_code": "GATEWAY_ERROR"})
    assert result.decline_code == "GATEWAY_ERROR"


# -- a scripted Razorpay, for answers the sandbox never gives ---------------------------------
class Scripted:
    """Answers each request with the next scripted answer (an HttpResponse or an OSError)."""

    def __init__(self, *answers: HttpResponse | OSError) -> None:
        self.answers = list(answers)
        self.sent: list[HttpRequest] = []

    def __call__(self, request: HttpRequest, timeout: float) -> HttpResponse:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer


def reply(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode())


def scripted(
    *answers: HttpResponse | OSError, retries: int = 2
) -> tuple[Scripted, RazorpayGateway]:
    transport = Scripted(*answers)
    gateway = RazorpayGateway(
        "rzp_test_k", "s3cret", transport=transport, max_retries=retries, sleep=lambda _: None
    )
    return transport, gateway


def test_every_request_is_authenticated_with_the_key_id_and_secret() -> None:
    transport, gateway = scripted(reply(200, {"id": "pay_1", "status": "captured"}))
    gateway.retrieve_payment("pay_1")
    assert transport.sent[0].headers["Authorization"] == "Basic cnpwX3Rlc3RfazpzM2NyZXQ="


def test_a_server_error_is_retried_and_then_answers() -> None:
    transport, gateway = scripted(
        reply(503, {}), OSError("reset"), reply(200, {"id": "pay_1", "status": "captured"})
    )
    assert gateway.retrieve_payment("pay_1").outcome is ChargeOutcome.SUCCEEDED
    assert len(transport.sent) == 3


def test_no_answer_through_the_retries_is_unavailable_never_a_decline() -> None:
    _, gateway = scripted(TimeoutError("slow"), reply(500, {}), reply(502, {}))
    with pytest.raises(ProviderUnavailableError):
        gateway.retrieve_payment("pay_1")


def test_too_many_requests_through_the_retries_is_rate_limited() -> None:
    _, gateway = scripted(reply(429, {}), reply(429, {}), reply(429, {}))
    with pytest.raises(RateLimitedError):
        gateway.retrieve_payment("pay_1")


def test_a_bad_request_is_refused_with_razorpays_code_and_field_without_retrying() -> None:
    error = {"code": "BAD_REQUEST_ERROR", "description": "token is invalid", "field": "token"}
    transport, gateway = scripted(reply(400, {"error": error}))
    with pytest.raises(InvalidRequestError) as refused:
        gateway.retrieve_payment("pay_1")
    assert (refused.value.code, refused.value.param) == ("BAD_REQUEST_ERROR", "token")
    assert len(transport.sent) == 1


def test_a_recurring_payment_refused_naming_its_payment_is_a_decline() -> None:
    order = {"id": "order_1", "amount": 49900, "currency": "INR", "notes": {}}
    error = {
        "code": "BAD_REQUEST_ERROR",
        "description": "Payment failed",
        "reason": "insufficient_funds",
        "metadata": {"payment_id": "pay_9", "order_id": "order_1"},
    }
    _, gateway = scripted(
        reply(200, {"items": []}),  # no order with this receipt yet
        reply(200, order),
        reply(200, {"items": []}),  # no payment on it yet
        reply(200, {"id": "cust_1", "email": "r@example.com", "contact": "9000090000"}),
        reply(400, {"error": error}),
    )
    result = charge(gateway, "cust_1", "token_x")
    assert result == PaymentResult("pay_9", ChargeOutcome.DECLINED, "insufficient_funds")


def test_an_answer_that_is_not_json_is_unknown() -> None:
    _, gateway = scripted(HttpResponse(200, b"<html>"))
    with pytest.raises(ProviderUnavailableError):
        gateway.retrieve_payment("pay_1")


def test_a_gateway_needs_its_key_id_and_secret() -> None:
    with pytest.raises(ValueError, match="key id and a key secret"):
        RazorpayGateway("", "secret")


# -- erasure -----------------------------------------------------------------------------------
def test_an_erasure_edits_the_customer_as_razorpay_has_no_deletion() -> None:
    rzp, gateway, customer = sandbox()
    gateway.erase_customer(
        provider_customer_id=customer,
        email="erased-0123456789abcdef@invalid",
        name="erased-0123456789abcdef",
        idempotency_key="erase:ravi",
    )
    held = rzp.customers[customer]
    # Razorpay's names take no hyphen, and its contacts need 8 digits: no one's number.
    assert (held["name"], held["email"], held["contact"]) == (
        "erased 0123456789abcdef",
        "erased-0123456789abcdef@invalid",
        "0000000000",
    )
    assert ("PUT", f"/customers/{customer}") in rzp.requests


def test_an_erasure_asked_twice_leaves_the_customer_as_the_first_did() -> None:
    rzp, gateway, customer = sandbox()
    for _ in range(2):
        gateway.erase_customer(
            provider_customer_id=customer, email="e-1@invalid", name="e-1", idempotency_key="k"
        )
    assert (rzp.customers[customer]["name"], rzp.customers[customer]["email"]) == (
        "e 1",
        "e-1@invalid",
    )


def test_an_erasure_razorpay_does_not_answer_is_unavailable_not_refused() -> None:
    _, gateway = scripted(reply(503, {}), reply(503, {}), reply(503, {}))
    with pytest.raises(ProviderUnavailableError):
        gateway.erase_customer(
            provider_customer_id="cust_1", email="e@invalid", name="e-1", idempotency_key="k"
        )
