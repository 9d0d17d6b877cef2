"""Razorpay webhooks (India): the `X-Razorpay-Signature` check and the parser.

From Razorpay's public docs (razorpay.com/docs/webhooks/, …/webhooks/faqs/, payload
samples under …/webhooks/payloads/): the signature is HEX(HMAC-SHA256(webhook secret, raw
body)), sent in `X-Razorpay-Signature`; `X-Razorpay-Event-Id` names the event and stays the
same when a delivery is retried (the exactly-once key). The body is
`{"entity": "event", "event": "payment.captured", "contains": [...], "payload": {"payment":
{"entity": {...}}}, "created_at": <unix seconds>}`; amounts are in the currency's subunits
(paise). There is no timestamp in the signature, so no replay window: a replay is caught by
the event-id marker (30 days; Razorpay retries for 24 h and replays on request for 15 days).
After a secret change, Razorpay signs retries of older events with the old secret: both stay
configured during the rollover.
"""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import DisputeStatus, RefundStatus
from tenure.webhooks.errors import MalformedEventError, MalformedHeaderError, SignatureError
from tenure.webhooks.jsonbody import amount, currency, ident, integer, load_object, moment, text
from tenure.webhooks.model import (
    DisputeFacts,
    PaymentFacts,
    ProviderEvent,
    ProviderEventKind,
    RefundFacts,
    RefundTotalFacts,
    body_event_id,
)

NAME = "razorpay"
SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"
_HEX_SHA256 = 64
MAX_ATTEMPT = 9999  # as for Stripe: Tenure numbers attempts from 1
# The purpose the card page's Checkout writes on a new mandate's registration payment
# (razorpay_gateway.MANDATE_PURPOSE).
REGISTRATION = "mandate"

_PAYMENT_OUTCOME = {
    "payment.captured": ChargeOutcome.SUCCEEDED,
    "payment.failed": ChargeOutcome.DECLINED,
    "payment.authorized": ChargeOutcome.PENDING,  # authorised, not captured yet
}
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "created": RefundStatus.PENDING,
    "processed": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.processed", "refund.failed"})
# Razorpay's dispute statuses; `closed` ends a dispute without a loss (details given, or
# the payment refunded), so dunning treats it like a win.
_DISPUTE_STATUS = {
    "open": DisputeStatus.NEEDS_RESPONSE,
    "action_required": DisputeStatus.NEEDS_RESPONSE,
    "under_review": DisputeStatus.UNDER_REVIEW,
    "won": DisputeStatus.WON,
    "closed": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}
_DISPUTE_EVENTS = frozenset(
    {"payment.dispute.created", *(f"payment.dispute.{s}" for s in _DISPUTE_STATUS)}
)


def expected_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign(
    body: bytes, secret: str, timestamp: int = 0, event_id: str | None = None
) -> dict[str, str]:
    """The headers of a delivery of `body` (tests, replay); `timestamp` is unused (Razorpay
    signs the body alone)."""
    headers = {SIGNATURE_HEADER: expected_signature(body, secret)}
    headers[EVENT_ID_HEADER] = event_id or body_event_id(body)
    return headers


def verify(body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: int) -> None:
    """Raise unless the body is signed with one of `secrets`. The event-id header is not
    signed, so it is checked here too: it becomes a key, and only an id may."""
    given_id = headers.get(EVENT_ID_HEADER)
    if given_id is not None and ident(given_id) is None:
        raise MalformedHeaderError("X-Razorpay-Event-Id is not an event id")
    signature = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not signature:
        raise SignatureError("missing X-Razorpay-Signature header")
    if len(signature) != _HEX_SHA256:
        raise SignatureError("X-Razorpay-Signature is not an HMAC-SHA256 hex digest")
    given = signature.lower().encode()
    matches = [hmac.compare_digest(expected_signature(body, s).encode(), given) for s in secrets]
    if not any(matches):
        raise SignatureError("no signature matches the body")


def parse(body: bytes, headers: Mapping[str, str] | None = None) -> ProviderEvent:
    event = load_object(body)
    event_type = text(event, "event")
    payload = event.get("payload")
    if event.get("entity") != "event" or event_type is None or "created_at" not in event:
        raise MalformedEventError("not a Razorpay event (entity, event and created_at)")
    occurred_at = moment(event.get("created_at"))
    if occurred_at is None:
        raise MalformedEventError("the event's created_at is not a unix time from 1970 to 2100")
    if not isinstance(payload, dict):
        raise MalformedEventError("not a Razorpay event (payload is required)")
    event_id = event_id_of(body, headers) or body_event_id(body)
    base = ProviderEvent(NAME, event_id, event_type, ProviderEventKind.IGNORED, occurred_at)
    if event_type in _PAYMENT_OUTCOME:
        payment = _entity(payload, "payment")
        return replace(
            base, kind=ProviderEventKind.PAYMENT_UPDATED, payment=_payment(payment, event_type)
        )
    if event_type in _REFUND_EVENTS:
        refund = _refund(_entity(payload, "refund"), occurred_at)
        if refund is None:
            return base
        total = None
        if isinstance(payload.get("payment"), dict):
            payment = _entity(payload, "payment")
            refunded = amount(payment, "amount_refunded")
            if refunded is not None:
                invoice_id, attempt = _notes(payment)
                total = RefundTotalFacts(
                    ident(payment.get("id")),
                    refunded,
                    (),
                    invoice_id,
                    attempt,
                    currency=currency(payment),
                )
        return replace(
            base, kind=ProviderEventKind.REFUND_UPDATED, refund=refund, refund_total=total
        )
    if event_type in _DISPUTE_EVENTS:
        dispute = _dispute(_entity(payload, "dispute"), event_type)
        return (
            replace(base, kind=ProviderEventKind.DISPUTE_UPDATED, dispute=dispute)
            if dispute
            else base
        )
    return base


def event_id_of(body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The event id the delivery's header gives (checked by `verify`), if any."""
    return ident((headers or {}).get(EVENT_ID_HEADER))


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any]:
    wrapper = payload.get(name)
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    if not isinstance(entity, dict) or ident(entity.get("id")) is None:
        raise MalformedEventError(f"the event has no {name} entity with an id")
    return entity


def _notes(entity: dict[str, Any]) -> tuple[str | None, int | None]:
    notes = entity.get("notes")  # an object, or [] when empty
    if not isinstance(notes, dict):
        return None, None
    attempt = integer(notes.get("tenure_attempt"), 1, MAX_ATTEMPT)
    return ident(notes.get("tenure_invoice_id")), attempt


def _payment(entity: dict[str, Any], event_type: str) -> PaymentFacts:
    outcome = _PAYMENT_OUTCOME[event_type]
    decline = None
    if outcome is ChargeOutcome.DECLINED:
        decline = text(entity, "error_reason") or text(entity, "error_code") or "payment_failed"
    invoice_id, attempt = _notes(entity)
    notes = entity.get("notes")
    notes = notes if isinstance(notes, dict) else {}  # [] when empty
    registration = notes.get("tenure_purpose") == REGISTRATION
    return PaymentFacts(
        str(entity["id"]),
        outcome,
        decline,
        invoice_id,
        attempt,
        # A registration's notes name Tenure's customer: where its record would be.
        customer_id=ident(notes.get("tenure_customer_id")) if registration else None,
        order_id=ident(entity.get("order_id")),
        registration=registration,
    )


def _refund(entity: dict[str, Any], at: datetime) -> RefundFacts | None:
    status = _REFUND_STATUS.get(text(entity, "status") or "")
    minor = amount(entity, "amount")
    if status is None or minor is None:
        return None
    return RefundFacts(
        str(entity["id"]), ident(entity.get("payment_id")), minor, currency(entity), status, at
    )


def _dispute(entity: dict[str, Any], event_type: str) -> DisputeFacts | None:
    provider_status = text(entity, "status") or event_type.rsplit(".", 1)[1]
    status = _DISPUTE_STATUS.get(provider_status)
    minor = amount(entity, "amount")
    if status is None or minor is None:
        return None
    return DisputeFacts(
        str(entity["id"]),
        ident(entity.get("payment_id")),
        minor,
        currency(entity),
        status,
        provider_status,
    )
