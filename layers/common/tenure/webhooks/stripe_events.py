"""Stripe webhooks: the `Stripe-Signature` check and the parser into provider-neutral facts.

Signature (docs.stripe.com/webhooks#verify-manually; stripe-python `WebhookSignature`):
the header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (other schemes such as `v0` are
ignored); the expected value is HEX(HMAC-SHA256(endpoint secret, "<t>." + raw body)); the
delivery is genuine when any `v1` equals it for any of the endpoint's current secrets
(several during a rollover), compared in constant time; `t` must be within 300 s of now.
"""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import DisputeStatus, RefundStatus
from tenure.domain.money import from_stripe_amount
from tenure.payments.stripe_objects import payment_result
from tenure.webhooks.errors import MalformedEventError, SignatureError
from tenure.webhooks.jsonbody import (
    amount,
    currency,
    ident,
    integer,
    load_object,
    moment,
    ref,
    text,
)
from tenure.webhooks.model import (
    DisputeFacts,
    PaymentFacts,
    PaymentMethodFacts,
    ProviderEvent,
    ProviderEventKind,
    RefundFacts,
    RefundTotalFacts,
)

NAME = "stripe"
SIGNATURE_HEADER = "stripe-signature"
TOLERANCE_SECONDS = 300  # Stripe's default (stripe-python Webhook.DEFAULT_TOLERANCE)
_MAX_HEADER = 4096  # a real header is ~150 characters; anything this long is not Stripe's
_SCHEME = "v1"
_MAX_TIMESTAMP_DIGITS = 15  # unix seconds have 10 digits until the year 2286
MAX_ATTEMPT = 9999  # Tenure numbers a charge's attempts from 1; never this many

PAYMENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.processing",
    }
)
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
DISPUTE_EVENTS = frozenset(
    {"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"}
)
HANDLED = (
    PAYMENT_EVENTS
    | REFUND_EVENTS
    | DISPUTE_EVENTS
    | {
        "charge.refunded",
        "payment_method.attached",
        "payment_method.automatically_updated",
        "payment_method.detached",
        "setup_intent.succeeded",
        "customer.deleted",
    }
)

_REFUND_STATUS = {s.value: s for s in RefundStatus}
# Stripe's dispute statuses onto Tenure's four. An inquiry closed without a chargeback
# (`warning_closed`), a prevented one, and one closed by refunding the charge end with the
# money not lost to the dispute: closed in the business's favour for dunning's purposes.
_DISPUTE_STATUS = {
    "warning_needs_response": DisputeStatus.NEEDS_RESPONSE,
    "needs_response": DisputeStatus.NEEDS_RESPONSE,
    "warning_under_review": DisputeStatus.UNDER_REVIEW,
    "under_review": DisputeStatus.UNDER_REVIEW,
    "won": DisputeStatus.WON,
    "warning_closed": DisputeStatus.WON,
    "prevented": DisputeStatus.WON,
    "charge_refunded": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}


# -- signatures --------------------------------------------------------------------------------
def expected_signature(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The headers of a fresh delivery of `body` signed at `timestamp` (tests, replay)."""
    return {SIGNATURE_HEADER: f"t={timestamp},v1={expected_signature(body, secret, timestamp)}"}


def _header_parts(header: str) -> tuple[int, list[str]]:
    """The timestamp and the `v1` signatures. Parts without `=` and other schemes are
    skipped, as Stripe's libraries do; the timestamp must be one run of ASCII digits (int()
    alone would take '٣', '1_000' or ' 1', and raise on '²'), given once."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None:
                raise SignatureError("Stripe-Signature has more than one timestamp")
            given = integer(value, 0, 10**_MAX_TIMESTAMP_DIGITS - 1)
            if given is None:
                raise SignatureError("Stripe-Signature has no valid timestamp")
            timestamp = given
        elif key == _SCHEME and value:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("Stripe-Signature has no timestamp")
    if not signatures:
        raise SignatureError("Stripe-Signature has no v1 signature")
    return timestamp, signatures


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless `body` is signed by Stripe with one of `secrets` within
    `tolerance` seconds of `now` (either side: a timestamp from the future is as suspect as
    an old one)."""
    header = headers.get(SIGNATURE_HEADER)
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    if len(header) > _MAX_HEADER:
        raise SignatureError("Stripe-Signature header is too long")
    timestamp, signatures = _header_parts(header)
    expected = [expected_signature(body, secret, timestamp).encode() for secret in secrets]
    # Every pair is compared, in constant time, so timing tells nothing about which matched.
    matches = [hmac.compare_digest(e, s.encode()) for e in expected for s in signatures]
    if not any(matches):
        raise SignatureError("no signature matches the body")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp is outside the {tolerance} s tolerance")


# -- parsing -----------------------------------------------------------------------------------
def parse(body: bytes, headers: Mapping[str, str] | None = None) -> ProviderEvent:
    """A verified Stripe event body as a ProviderEvent (unknown types: kind IGNORED)."""
    event = load_object(body)
    event_id, event_type = ident(event.get("id")), text(event, "type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if event_id is None or event_type is None:
        raise MalformedEventError("not a Stripe event (id and type are required)")
    occurred_at = moment(event.get("created"))
    if occurred_at is None:
        raise MalformedEventError("the event's created is not a unix time from 1970 to 2100")
    if not isinstance(obj, dict):
        raise MalformedEventError("not a Stripe event (data.object is required)")
    base = ProviderEvent(NAME, event_id, event_type, ProviderEventKind.IGNORED, occurred_at)
    if event_type not in HANDLED:
        return base
    previous = data.get("previous_attributes") if isinstance(data, dict) else None
    return _facts(base, obj, previous if isinstance(previous, dict) else {})


def event_id(body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The event's id when the body has a readable one (to record a rejected event by)."""
    try:
        return ident(load_object(body).get("id"))
    except MalformedEventError:
        return None


def _require_id(obj: dict[str, Any], kind: str) -> str:
    object_id = ident(obj.get("id"))
    if object_id is None:
        raise MalformedEventError(f"the event's {kind} has no id")
    return object_id


def _metadata(obj: dict[str, Any]) -> tuple[str | None, int | None]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return None, None
    attempt = integer(metadata.get("tenure_attempt"), 1, MAX_ATTEMPT)
    return ident(metadata.get("tenure_invoice_id")), attempt


def _owners(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """The subscription and Tenure customer a PaymentIntent's metadata names, if any."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return None, None
    return ident(metadata.get("tenure_subscription_id")), ident(metadata.get("tenure_customer_id"))


def _facts(base: ProviderEvent, obj: dict[str, Any], previous: dict[str, Any]) -> ProviderEvent:
    kind = base.type
    if kind in PAYMENT_EVENTS:
        payment_id = _require_id(obj, "payment_intent")
        result = payment_result({**obj, "id": payment_id})
        invoice_id, attempt = _metadata(obj)
        sub_id, owner = _owners(obj)
        outcome, decline = result.outcome, result.decline_code
        facts = PaymentFacts(payment_id, outcome, decline, invoice_id, attempt, sub_id, owner)
        if result.outcome is ChargeOutcome.UNKNOWN:
            facts = replace(facts, outcome=ChargeOutcome.PENDING, decline_code=None)
        return replace(base, kind=ProviderEventKind.PAYMENT_UPDATED, payment=facts)
    if kind in REFUND_EVENTS:
        refund = _refund(obj, base.occurred_at)
        return (
            replace(base, kind=ProviderEventKind.REFUND_UPDATED, refund=refund) if refund else base
        )
    if kind == "charge.refunded":
        return replace(
            base, kind=ProviderEventKind.PAYMENT_REFUNDED, refund_total=_refund_total(obj, base)
        )
    if kind in DISPUTE_EVENTS:
        dispute = _dispute(obj)
        return (
            replace(base, kind=ProviderEventKind.DISPUTE_UPDATED, dispute=dispute)
            if dispute
            else base
        )
    if kind == "setup_intent.succeeded":
        method_id = ref(obj.get("payment_method"))
        if method_id is None:
            return base  # nothing was saved: nothing for Tenure to do
        method = PaymentMethodFacts(method_id, ref(obj.get("customer")))
        return replace(base, kind=ProviderEventKind.PAYMENT_METHOD_ADDED, payment_method=method)
    if kind == "customer.deleted":
        customer_id = _require_id(obj, "customer")
        metadata = obj.get("metadata")
        tenure_id = metadata.get("tenure_customer_id") if isinstance(metadata, dict) else None
        return replace(
            base,
            kind=ProviderEventKind.CUSTOMER_DELETED,
            provider_customer_id=customer_id,
            tenure_customer_id=ident(tenure_id),
        )
    method = _payment_method(obj, previous)
    if kind == "payment_method.attached":
        return replace(base, kind=ProviderEventKind.PAYMENT_METHOD_ADDED, payment_method=method)
    if kind == "payment_method.automatically_updated":
        return replace(base, kind=ProviderEventKind.PAYMENT_METHOD_UPDATED, payment_method=method)
    return replace(base, kind=ProviderEventKind.PAYMENT_METHOD_DETACHED, payment_method=method)


def _minor(obj: dict[str, Any], key: str) -> tuple[int | None, str]:
    """An amount in Tenure's minor units (Stripe counts a few currencies differently)."""
    value, code = amount(obj, key), currency(obj)
    if value is None or not code:
        return value, code
    try:
        money = from_stripe_amount(value, code)
    except ValueError as exc:
        # Messages name a currency code or an amount, both already checked to be short.
        raise MalformedEventError(f"the event's {key} cannot be read: {exc}") from None
    return money.amount_minor, money.currency


def _refund(obj: dict[str, Any], at: datetime) -> RefundFacts | None:
    refund_id = _require_id(obj, "refund")
    status = _REFUND_STATUS.get(text(obj, "status") or "")
    minor, code = _minor(obj, "amount")
    if status is None or minor is None:
        return None  # a status Tenure does not know yet: acknowledged, ignored
    return RefundFacts(refund_id, ref(obj.get("payment_intent")), minor, code, status, at)


def _refund_total(obj: dict[str, Any], base: ProviderEvent) -> RefundTotalFacts:
    _require_id(obj, "charge")
    refunded, code = _minor(obj, "amount_refunded")
    if refunded is None:
        raise MalformedEventError("the event's charge has no amount_refunded")
    listed = obj.get("refunds")
    items = listed.get("data") if isinstance(listed, dict) else None
    dicts = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    refunds = tuple(r for r in (_refund(i, base.occurred_at) for i in dicts) if r is not None)
    invoice_id, attempt = _metadata(obj)
    _, owner = _owners(obj)
    return RefundTotalFacts(
        ref(obj.get("payment_intent")), refunded, refunds, invoice_id, attempt, owner, code
    )


def _dispute(obj: dict[str, Any]) -> DisputeFacts | None:
    dispute_id = _require_id(obj, "dispute")
    provider_status = text(obj, "status") or ""
    status = _DISPUTE_STATUS.get(provider_status)
    minor, code = _minor(obj, "amount")
    if status is None or minor is None:
        return None
    payment_id = ref(obj.get("payment_intent"))
    return DisputeFacts(dispute_id, payment_id, minor, code, status, provider_status)


def _payment_method(obj: dict[str, Any], previous: dict[str, Any]) -> PaymentMethodFacts:
    method_id = _require_id(obj, "payment_method")
    # A detached method no longer names its customer; the event's previous_attributes does.
    customer = ref(obj.get("customer")) or ref(previous.get("customer"))
    details = obj.get(str(obj.get("type"))) if isinstance(obj.get("type"), str) else None
    card: dict[str, Any] = details if isinstance(details, dict) else {}
    last4 = card.get("last4")
    return PaymentMethodFacts(
        method_id,
        customer,
        text(card, "brand"),
        last4
        if isinstance(last4, str) and integer(last4) is not None and len(last4) == 4
        else None,
        integer(card.get("exp_month"), 1, 12),
        integer(card.get("exp_year"), 1, 9999),
    )
