"""Razorpay, from its public docs: X-Razorpay-Signature over the raw body, its payload shapes."""

import hashlib
import hmac
import json
from typing import Any

import pytest

from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import DisputeStatus, RefundStatus
from tenure.webhooks import razorpay_events
from tenure.webhooks.errors import MalformedEventError, MalformedHeaderError, SignatureError
from tenure.webhooks.model import ProviderEventKind

SECRET = "rzp_webhook_secret"

# The payment.captured sample of razorpay.com/docs/webhooks/payloads/payments (trimmed of
# fields Tenure does not read; the shape and names are Razorpay's).
CAPTURED: dict[str, Any] = {
    "account_id": "acc_BFQ7uQEaa7j2z7",
    "contains": ["payment"],
    "created_at": 1691735748,
    "entity": "event",
    "event": "payment.captured",
    "payload": {
        "payment": {
            "entity": {
                "amount": 100,
                "amount_refunded": 0,
                "captured": True,
                "card_id": "card_DESp9fNnu0RoNc",
                "created_at": 1567674797,
                "currency": "SGD",
                "entity": "payment",
                "error_code": "",
                "error_reason": None,
                "id": "pay_DESp9bgForNoUd",
                "method": "card",
                "notes": [],
                "status": "captured",
            }
        }
    },
}
# The refund.processed sample shape (refund plus the payment it refunds).
REFUND_PROCESSED: dict[str, Any] = {
    "entity": "event",
    "account_id": "acc_C22WOuBW79sh0n",
    "event": "refund.processed",
    "contains": ["refund", "payment"],
    "payload": {
        "refund": {
            "entity": {
                "id": "rfnd_Heax5rxucwf2aS",
                "entity": "refund",
                "amount": 4000,
                "currency": "INR",
                "payment_id": "pay_HeGCvvjQIAjsvZ",
                "notes": [],
                "created_at": 1627528610,
                "status": "processed",
            }
        },
        "payment": {
            "entity": {
                "id": "pay_HeGCvvjQIAjsvZ",
                "entity": "payment",
                "amount": 4000,
                "currency": "INR",
                "status": "refunded",
                "amount_refunded": 4000,
                "refund_status": "full",
                "notes": {"tenure_invoice_id": "in_1", "tenure_attempt": "1"},
            }
        },
    },
    "created_at": 1627528610,
}
# payment.dispute.lost, with the dispute entity's fields from razorpay.com/docs/api/disputes.
DISPUTE_LOST: dict[str, Any] = {
    "entity": "event",
    "event": "payment.dispute.lost",
    "contains": ["payment", "dispute"],
    "payload": {
        "dispute": {
            "entity": {
                "id": "disp_Esz7KAitoYM7PJ",
                "entity": "dispute",
                "payment_id": "pay_EsyWjHrfzb59eR",
                "amount": 10000,
                "currency": "INR",
                "amount_deducted": 10000,
                "reason_code": "pre_arbitration",
                "respond_by": 1590604200,
                "status": "lost",
                "phase": "chargeback",
                "created_at": 1590059211,
            }
        }
    },
    "created_at": 1590059300,
}


def body_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    body = body_of(CAPTURED)
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert razorpay_events.sign(body, SECRET)["x-razorpay-signature"] == expected
    razorpay_events.verify(body, {"x-razorpay-signature": expected}, [SECRET], 0)
    razorpay_events.verify(body, {"x-razorpay-signature": expected.upper()}, [SECRET], 0)


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-razorpay-signature": ""}, {"x-razorpay-signature": "abc"}],
)
def test_a_missing_or_malformed_signature_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        razorpay_events.verify(body_of(CAPTURED), headers, [SECRET], 0)


def test_a_tampered_body_or_another_secret_is_rejected() -> None:
    body = body_of(CAPTURED)
    headers = razorpay_events.sign(body, SECRET)
    with pytest.raises(SignatureError):
        razorpay_events.verify(body + b" ", headers, [SECRET], 0)
    with pytest.raises(SignatureError):
        razorpay_events.verify(body, headers, ["another"], 0)


def test_the_old_secret_still_verifies_retries_after_a_change() -> None:
    body = body_of(CAPTURED)
    headers = razorpay_events.sign(body, "old_secret")
    razorpay_events.verify(body, headers, ["new_secret", "old_secret"], 0)


def test_a_captured_payment_is_a_success_named_by_its_event_id_header() -> None:
    parsed = razorpay_events.parse(body_of(CAPTURED), {"x-razorpay-event-id": "Gb5kMCdcAZ8jJ8"})
    assert (parsed.provider, parsed.event_id, parsed.kind) == (
        "razorpay",
        "Gb5kMCdcAZ8jJ8",
        ProviderEventKind.PAYMENT_UPDATED,
    )
    assert parsed.payment is not None
    assert (parsed.payment.payment_id, parsed.payment.outcome) == (
        "pay_DESp9bgForNoUd",
        ChargeOutcome.SUCCEEDED,
    )
    assert int(parsed.occurred_at.timestamp()) == CAPTURED["created_at"]


def test_without_the_event_id_header_the_same_body_is_the_same_event() -> None:
    first = razorpay_events.parse(body_of(CAPTURED))
    assert first.event_id == razorpay_events.parse(body_of(CAPTURED)).event_id
    other = dict(CAPTURED, created_at=CAPTURED["created_at"] + 1)
    assert razorpay_events.parse(body_of(other)).event_id != first.event_id


def test_a_failed_payment_carries_its_reason() -> None:
    failed = json.loads(json.dumps(CAPTURED))
    failed["event"] = "payment.failed"
    failed["payload"]["payment"]["entity"].update(
        status="failed", error_code="BAD_REQUEST_ERROR", error_reason="payment_declined"
    )
    facts = razorpay_events.parse(body_of(failed)).payment
    assert facts is not None
    assert (facts.outcome, facts.decline_code) == (ChargeOutcome.DECLINED, "payment_declined")


def test_a_processed_refund_and_the_payments_refunded_total() -> None:
    parsed = razorpay_events.parse(body_of(REFUND_PROCESSED))
    assert parsed.kind is ProviderEventKind.REFUND_UPDATED
    assert parsed.refund is not None and parsed.refund_total is not None
    assert (parsed.refund.amount, parsed.refund.status, parsed.refund.payment_id) == (
        4000,
        RefundStatus.SUCCEEDED,
        "pay_HeGCvvjQIAjsvZ",
    )
    assert (parsed.refund_total.amount_refunded, parsed.refund_total.invoice_id) == (4000, "in_1")


def test_a_lost_dispute() -> None:
    parsed = razorpay_events.parse(body_of(DISPUTE_LOST))
    assert parsed.kind is ProviderEventKind.DISPUTE_UPDATED and parsed.dispute is not None
    assert (parsed.dispute.status, parsed.dispute.payment_id) == (
        DisputeStatus.LOST,
        "pay_EsyWjHrfzb59eR",
    )


def test_a_created_dispute_is_open() -> None:
    created = json.loads(json.dumps(DISPUTE_LOST))
    created["event"] = "payment.dispute.created"
    created["payload"]["dispute"]["entity"]["status"] = "open"
    parsed = razorpay_events.parse(body_of(created))
    assert parsed.dispute is not None and parsed.dispute.status is DisputeStatus.NEEDS_RESPONSE


def test_other_events_are_ignored() -> None:
    order_paid = dict(CAPTURED, event="order.paid")
    assert razorpay_events.parse(body_of(order_paid)).kind is ProviderEventKind.IGNORED


@pytest.mark.parametrize(
    "doc",
    [
        {"event": "payment.captured"},
        {"entity": "event", "event": "payment.captured", "created_at": 1, "payload": []},
        {"entity": "event", "event": "payment.captured", "created_at": 1, "payload": {}},
    ],
)
def test_a_body_that_is_not_a_razorpay_event_is_malformed(doc: dict[str, Any]) -> None:
    with pytest.raises(MalformedEventError):
        razorpay_events.parse(body_of(doc))


@pytest.mark.parametrize("created_at", [-1, 4102444800, 10**20, "\u0663", "\u00b2", 1.5, None])
def test_an_event_time_out_of_range_or_not_ascii_digits_is_malformed(created_at: Any) -> None:
    with pytest.raises(MalformedEventError, match="created_at is not a unix time"):
        razorpay_events.parse(body_of(dict(CAPTURED, created_at=created_at)))


@pytest.mark.parametrize("event_id", ["e" * 256, "evt 1", "evt_\u0663", ""])
def test_an_event_id_header_that_cannot_be_a_key_is_refused_before_the_signature(
    event_id: str,
) -> None:
    body = body_of(CAPTURED)
    headers = razorpay_events.sign(body, SECRET) | {"x-razorpay-event-id": event_id}
    with pytest.raises(MalformedHeaderError):
        razorpay_events.verify(body, headers, [SECRET], 0)


@pytest.mark.parametrize("amount", [-1, 10**40, "\u00b2", 2.5])
def test_a_refund_amount_that_is_not_whole_minor_units_is_malformed(amount: Any) -> None:
    doc = json.loads(json.dumps(REFUND_PROCESSED))
    doc["payload"]["refund"]["entity"]["amount"] = amount
    with pytest.raises(MalformedEventError, match="amount is not a whole number"):
        razorpay_events.parse(body_of(doc))


def test_a_refund_currency_that_is_not_three_letters_is_malformed() -> None:
    doc = json.loads(json.dumps(REFUND_PROCESSED))
    doc["payload"]["refund"]["entity"]["currency"] = "\u0663\u0663\u0663"
    with pytest.raises(MalformedEventError, match="currency is not a three-letter code"):
        razorpay_events.parse(body_of(doc))
