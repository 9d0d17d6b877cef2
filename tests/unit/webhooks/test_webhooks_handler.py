"""POST /webhooks/{provider} through the real handler: answers, and nothing changed on refusal."""

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from webhooks_harness import OLD_SECRET, SECRET, Endpoint, Shop

from tenure.domain.invoices import InvoiceStatus
from tenure.webhooks import razorpay_events, stripe_events
from tenure.webhooks.model import body_event_id
from tenure.webhooks.providers import PROVIDERS
from tenure_local.runtime import functions

HOUR = timedelta(hours=1)


def pending_debit(shop: Shop) -> tuple[str, dict[str, Any]]:
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    return invoice_id, shop.last("payment_intent.succeeded")


def untouched(shop: Shop, commits: int) -> bool:
    return shop.repo.commits == commits and not shop.repo.markers


def test_a_signed_event_is_applied_and_answered_200(endpoint: Endpoint, shop: Shop) -> None:
    invoice_id, succeeded = pending_debit(shop)
    status, body = endpoint.send(succeeded)
    assert (status, body) == (200, {"received": True, "result": "applied"})
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    assert endpoint.send(succeeded) == (200, {"received": True, "result": "duplicate"})


def test_the_previous_secret_still_works_during_a_rollover(endpoint: Endpoint, shop: Shop) -> None:
    _, succeeded = pending_debit(shop)
    assert endpoint.send(succeeded, secret=OLD_SECRET)[0] == 200


def test_the_tolerance_uses_the_injected_clock_not_the_machines(
    endpoint: Endpoint, shop: Shop
) -> None:
    _, succeeded = pending_debit(shop)  # the shop's clock is in March 2026, whatever today is
    commits = shop.repo.commits
    assert endpoint.send(succeeded, at=shop.clock.now() - timedelta(seconds=301))[0] == 400
    assert endpoint.send(succeeded, at=shop.clock.now() + timedelta(seconds=301))[0] == 400
    assert untouched(shop, commits)
    assert endpoint.send(succeeded, at=shop.clock.now() - timedelta(seconds=300))[0] == 200


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "tampered body", "missing header", "old timestamp", "future timestamp"],
)
def test_a_bad_delivery_is_a_400_with_a_short_reason_and_changes_nothing(
    endpoint: Endpoint, shop: Shop, case: str
) -> None:
    _, succeeded = pending_debit(shop)
    commits = shop.repo.commits
    body = json.dumps(succeeded).encode()
    now = int(shop.clock.now().timestamp())
    headers = stripe_events.sign(body, SECRET, now)
    if case == "wrong secret":
        headers = stripe_events.sign(body, "whsec_attacker", now)
    elif case == "tampered body":
        body = body.replace(b'"succeeded"', b'"canceled"')
    elif case == "missing header":
        headers = {}
    elif case == "old timestamp":
        headers = stripe_events.sign(body, SECRET, now - 3600)
    else:
        headers = stripe_events.sign(body, SECRET, now + 3600)
    status, answer = endpoint.post(body, headers)
    assert status == 400
    assert answer["error"] == "invalid_signature"
    assert len(answer["message"]) < 80 and "pi_" not in answer["message"]
    assert untouched(shop, commits)


def only_rejection_recorded(shop: Shop, commits: int, key: str) -> bool:
    return shop.repo.commits == commits + 1 and list(shop.repo.markers) == [key]


def test_malformed_json_with_a_valid_signature_is_recorded_as_rejected_and_acknowledged(
    endpoint: Endpoint, shop: Shop
) -> None:
    body = b'{"id": "evt_1", "type": '
    commits = shop.repo.commits
    status, answer = endpoint.post(body, stripe_events.sign(body, SECRET, _now(shop)))
    assert (status, answer["result"]) == (200, "rejected")
    assert answer["reason"] == "body is not JSON: Expecting value at line 1 column 25"
    key = "webhook-rejected:stripe:" + body_event_id(body)  # no readable id: the body's digest
    assert only_rejection_recorded(shop, commits, key)


def test_a_signed_event_of_a_shape_tenure_cannot_read_is_recorded_under_its_id_once(
    endpoint: Endpoint, shop: Shop
) -> None:
    _, succeeded = pending_debit(shop)
    succeeded["created"] = 10**20  # out of any range a date can hold
    commits = shop.repo.commits
    first = endpoint.send(succeeded)
    assert first == (
        200,
        {
            "received": True,
            "result": "rejected",
            "reason": "the event's created is not a unix time from 1970 to 2100",
        },
    )
    assert only_rejection_recorded(shop, commits, f"webhook-rejected:stripe:{succeeded['id']}")
    assert endpoint.send(succeeded) == first  # the provider's resend changes nothing more
    assert only_rejection_recorded(shop, commits, f"webhook-rejected:stripe:{succeeded['id']}")


def test_a_parser_bug_on_a_signed_event_is_recorded_as_rejected_not_a_500(
    endpoint: Endpoint, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(body: bytes, headers: object = None) -> object:
        raise TypeError("a parser bug")

    stripe = PROVIDERS["stripe"]
    monkeypatch.setitem(PROVIDERS, "stripe", replace(stripe, parse=broken))
    _, succeeded = pending_debit(shop)
    commits = shop.repo.commits
    status, answer = endpoint.send(succeeded)
    assert (status, answer["result"], answer["reason"]) == (
        200,
        "rejected",
        "the event cannot be read",
    )
    assert "bug" not in json.dumps(answer)
    assert only_rejection_recorded(shop, commits, f"webhook-rejected:stripe:{succeeded['id']}")


def test_an_unsigned_malformed_body_is_a_400_and_records_nothing(
    endpoint: Endpoint, shop: Shop
) -> None:
    commits = shop.repo.commits
    event = functions.http_event("POST", "/webhooks/stripe", headers={}, raw_body=b"{}")
    event["body"], event["isBase64Encoded"] = "not base64!", True
    response = functions.invoke("webhooks", event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "malformed_event"
    assert untouched(shop, commits)


def test_the_signature_is_checked_before_the_body_is_parsed(endpoint: Endpoint) -> None:
    status, answer = endpoint.post(b"not json at all", {"stripe-signature": "t=1,v1=00"})
    assert (status, answer["error"]) == (400, "invalid_signature")


def test_a_body_over_256_kb_is_a_413_before_anything_else(endpoint: Endpoint, shop: Shop) -> None:
    body = b'{"pad": "' + b"x" * (256 * 1024) + b'"}'
    status, answer = endpoint.post(body, stripe_events.sign(body, SECRET, _now(shop)))
    assert (status, answer["error"]) == (413, "payload_too_large")
    assert endpoint.post(body, {})[0] == 413


def test_an_unknown_type_is_acknowledged_and_ignored(endpoint: Endpoint, shop: Shop) -> None:
    event = {"id": "evt_x", "object": "event", "type": "issuing_card.shipped", "created": 1}
    event["data"] = {"object": {"id": "ic_1"}}
    commits = shop.repo.commits
    assert endpoint.send(event) == (200, {"received": True, "result": "ignored"})
    assert untouched(shop, commits)


def test_an_unknown_provider_is_a_404(endpoint: Endpoint) -> None:
    status, answer = endpoint.post(b"{}", {}, provider="paypal")
    assert (status, answer["error"]) == (404, "unknown_provider")


def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes(
    endpoint: Endpoint, shop: Shop
) -> None:
    _, succeeded = pending_debit(shop)
    body = json.dumps(succeeded).encode()
    status, _ = endpoint.post(body, stripe_events.sign(body, SECRET, _now(shop)), base64=True)
    assert status == 200


def test_an_internal_failure_is_a_500_so_the_provider_retries(
    endpoint: Endpoint, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, succeeded = pending_debit(shop)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the table is on fire")

    monkeypatch.setattr(functions.load_module("webhooks"), "apply_provider_event", broken)
    status, answer = endpoint.send(succeeded)
    assert (status, answer["error"]) == (500, "internal_error")
    assert "fire" not in json.dumps(answer)
    monkeypatch.undo()


def test_no_configured_secret_is_a_503_so_nothing_is_lost(
    endpoint: Endpoint, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENURE_STRIPE_WEBHOOK_SECRET")
    _, succeeded = pending_debit(shop)
    status, answer = endpoint.send(succeeded)
    assert (status, answer["error"]) == (503, "webhook_secret_not_configured")


def test_razorpay_through_the_same_endpoint(endpoint: Endpoint, shop: Shop) -> None:
    body = json.dumps(
        {
            "entity": "event",
            "event": "payment.captured",
            "contains": ["payment"],
            "payload": {"payment": {"entity": {"id": "pay_1", "amount": 100, "notes": []}}},
            "created_at": _now(shop),
        }
    ).encode()
    headers = razorpay_events.sign(body, "rzp_test_secret", event_id="evt_rzp_1")
    assert endpoint.post(body, headers, provider="razorpay") == (
        200,
        {"received": True, "result": "unmatched"},
    )
    bad = razorpay_events.sign(body, "rzp_wrong")
    assert endpoint.post(body, bad, provider="razorpay")[0] == 400


def _now(shop: Shop) -> int:
    return int(shop.clock.now().timestamp())


def test_a_signed_razorpay_event_tenure_cannot_read_is_recorded_under_its_header_id(
    endpoint: Endpoint, shop: Shop
) -> None:
    body = json.dumps(
        {"entity": "event", "event": "payment.captured", "created_at": 10**20, "payload": {}}
    ).encode()
    commits = shop.repo.commits
    headers = razorpay_events.sign(body, "rzp_test_secret", event_id="evt_rzp_9")
    status, answer = endpoint.post(body, headers, provider="razorpay")
    assert (status, answer["result"]) == (200, "rejected")
    assert only_rejection_recorded(shop, commits, "webhook-rejected:razorpay:evt_rzp_9")


def test_a_razorpay_event_id_header_that_is_no_id_is_a_400_and_changes_nothing(
    endpoint: Endpoint, shop: Shop
) -> None:
    body = b'{"entity": "event"}'
    commits = shop.repo.commits
    headers = razorpay_events.sign(body, "rzp_test_secret", event_id="evt " + "x" * 300)
    status, answer = endpoint.post(body, headers, provider="razorpay")
    assert (status, answer["error"]) == (400, "malformed_header")
    assert untouched(shop, commits)
