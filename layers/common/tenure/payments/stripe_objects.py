"""Stripe-shaped objects and webhook signatures, without the SDK: what the sandbox emits, and
how both adapters read a PaymentIntent.

The builders return plain dicts with the same keys as Stripe's own example objects
(`fixtures3.json` in stripe/openapi; the sandbox tests compare them), so the webhook handler
and the Stripe adapter can be exercised with sandbox output as if it came from Stripe.
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money, ProviderAmountError, to_stripe_amount
from tenure.payments.gateway import InvalidRequestError, PaymentResult
from tenure.pretty_json import pretty

# The API version the installed SDK (stripe 16.x) pins; events carry the account's version.
API_VERSION = "2026-10-28.endive"

StripeObject = dict[str, Any]
_MAX_CODE = 255  # Stripe's error and decline codes are short snake_case words


def object_id(prefix: str, *parts: object) -> str:
    """A Stripe-looking id (`pi_…`, `ch_…`) derived from content, so runs are reproducible."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()
    return f"{prefix}_{digest[:24]}"


def payment_metadata(
    invoice_id: str, attempt: int, subscription_id: str | None, customer_id: str | None
) -> dict[str, str]:
    """What Tenure writes on its PaymentIntents. Stripe repeats it on the intent's events
    and copies it to the charge, so a webhook names what it concerns without a lookup."""
    metadata = {"tenure_invoice_id": invoice_id, "tenure_attempt": str(attempt)}
    if subscription_id:
        metadata["tenure_subscription_id"] = subscription_id
    if customer_id:
        metadata["tenure_customer_id"] = customer_id
    return metadata


def stripe_amount(money: Money) -> int:
    """The integer Stripe takes for `money`; an amount Stripe cannot take exactly (KWD not
    ending in 0, say) is refused before anything is sent, as Stripe itself would."""
    try:
        return to_stripe_amount(money)
    except ProviderAmountError as error:
        raise InvalidRequestError(str(error), code="invalid_amount", param="amount") from None


# -- reading ----------------------------------------------------------------------------------
def payment_result(intent: Mapping[str, Any]) -> PaymentResult:
    """Tenure's outcome for a PaymentIntent, from its status and last payment error.

    - succeeded -> SUCCEEDED; processing (and requires_capture, unused) -> PENDING;
    - requires_action, or a failure whose code is `authentication_required` (off-session
      3-D Secure) -> AUTHENTICATION_REQUIRED: the customer must confirm on-session;
    - requires_payment_method or canceled after a failure -> DECLINED with the issuer's
      decline code (or the error code when there is none);
    - requires_confirmation, or requires_payment_method with no failure -> UNKNOWN: never
      confirmed, so confirming it (with the same key) is safe.
    """
    payment_id = str(intent["id"])
    status = intent.get("status")
    # A webhook's copy is only JSON: an error that is not an object, or codes that are not
    # strings, are read as absent rather than trusted.
    found = intent.get("last_payment_error")
    error: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    code = _code(error.get("decline_code")) or _code(error.get("code"))
    if status == "succeeded":
        return PaymentResult(payment_id, ChargeOutcome.SUCCEEDED)
    if status in ("processing", "requires_capture"):
        return PaymentResult(payment_id, ChargeOutcome.PENDING)
    if status == "requires_action" or "authentication_required" in (
        error.get("code"),
        error.get("decline_code"),
    ):
        return PaymentResult(
            payment_id, ChargeOutcome.AUTHENTICATION_REQUIRED, code or "authentication_required"
        )
    if status in ("requires_payment_method", "canceled") and error:
        return PaymentResult(payment_id, ChargeOutcome.DECLINED, code)
    if status == "canceled":
        return PaymentResult(payment_id, ChargeOutcome.DECLINED, "canceled")
    return PaymentResult(payment_id, ChargeOutcome.UNKNOWN)


def _code(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_CODE else None


def _json_copy(value: Any) -> Any:
    """A copy of a JSON document (dicts, lists and scalars) sharing nothing mutable with it:
    Stripe's objects are such documents, and copy.deepcopy spent a tenth of a simulation
    working out how to copy each of their strings and numbers."""
    if isinstance(value, dict):
        # Text, numbers and null are kept as they are, without a call each.
        return {
            key: item if type(item) in _SHARED else _json_copy(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) in _SHARED else _json_copy(item) for item in value]
    return value


_SHARED = frozenset({str, int, float, bool, type(None)})  # immutable: a copy may share them


# -- webhooks ---------------------------------------------------------------------------------
def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """A `Stripe-Signature` header: HMAC-SHA256 of `{t}.{payload}` with the endpoint secret."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_payload(event: Mapping[str, Any]) -> bytes:
    """The body of a webhook delivery, as Stripe sends it (pretty-printed JSON): the bytes
    of `json.dumps(event, indent=2)`, written without the standard encoder's generators
    (with an indent it runs in pure Python, and was a tenth of a simulation's time)."""
    return pretty(event).encode()


def signed_delivery(
    event: Mapping[str, Any], secret: str, timestamp: int | None = None
) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` header of one delivery (signed at `timestamp`,
    the event's creation time unless told)."""
    body = event_payload(event)
    return body, sign(body, secret, int(event["created"]) if timestamp is None else timestamp)


# -- building ---------------------------------------------------------------------------------
_ADDRESS: StripeObject = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}

_DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card has been declined.",
    "stolen_card": "Your card has been declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
    "debit_failed": "The bank debit failed.",
}
# Stripe reports these as their own error code; other issuer declines are `card_declined`.
_OWN_ERROR_CODES = frozenset(
    {"expired_card", "incorrect_cvc", "incorrect_number", "processing_error", "debit_failed"}
)


def decline_error(
    decline_code: str, *, charge_id: str | None, payment_method: StripeObject | None
) -> StripeObject:
    """A `last_payment_error` / card error body for an issuer decline."""
    if decline_code == "authentication_required":
        code = "authentication_required"
    elif decline_code in _OWN_ERROR_CODES:
        code = decline_code
    else:
        code = "card_declined"
    return {
        "advice_code": None,
        "charge": charge_id,
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}",
        "message": _DECLINE_MESSAGES.get(decline_code, "Your card was declined."),
        "network_decline_code": None,
        "payment_method": _json_copy(payment_method),
        "type": "card_error",
    }


def customer(
    *, id: str, email: str | None, name: str | None, metadata: dict[str, str], created: int
) -> StripeObject:
    return {
        "address": dict(_ADDRESS),
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "id": id,
        "invoice_prefix": id.removeprefix("cus_")[:8].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata),
        "name": name,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def card_payment_method(
    *,
    id: str,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
    customer: str | None,
    created: int,
) -> StripeObject:
    card = {
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "display_brand": brand,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": object_id("fp", id)[3:19],
        "funding": "credit",
        "generated_from": None,
        "last4": last4,
        "networks": {"available": [brand], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
        "regulated_status": "unregulated",
    }
    return _payment_method("card", card, id=id, customer=customer, created=created)


def debit_payment_method(
    *, id: str, last4: str, customer: str | None, created: int
) -> StripeObject:
    """A bank-debit method (shaped like a SEPA Direct Debit): it settles days later."""
    debit = {
        "bank_code": "37040044",
        "branch_code": None,
        "country": "DE",
        "fingerprint": object_id("fp", id)[3:19],
        "generated_from": {"charge": None, "setup_attempt": None},
        "last4": last4,
    }
    return _payment_method("sepa_debit", debit, id=id, customer=customer, created=created)


def _payment_method(
    type: str, details: StripeObject, *, id: str, customer: str | None, created: int
) -> StripeObject:
    # Stripe keeps a method's own details under a key named after its type, among the
    # fields every type shares (in the order of Stripe's fixtures).
    return {
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": dict(_ADDRESS),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        type: details,
        "created": created,
        "customer": customer,
        "id": id,
        "livemode": False,
        "metadata": {},
        "object": "payment_method",
        "type": type,
        "customer_account": None,
    }


def payment_intent(
    *,
    id: str,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str,
    payment_method_type: str,
    metadata: dict[str, str],
    created: int,
) -> StripeObject:
    """A PaymentIntent created with a payment method and `confirm=false`."""
    return {
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "never", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{id}_secret_{object_id('cs', id)[3:]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency.lower(),
        "customer": customer,
        "description": None,
        "id": id,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_action": None,
        "object": "payment_intent",
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": [payment_method_type],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_confirmation",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
        "excluded_payment_method_types": None,
        "customer_account": None,
        "managed_payments": None,
    }


def charge(
    *,
    id: str,
    intent: Mapping[str, Any],
    payment_method: Mapping[str, Any],
    status: str,
    error: Mapping[str, Any] | None,
    created: int,
) -> StripeObject:
    """The Charge a confirmation made: `succeeded`, `pending` (bank debits) or `failed`."""
    succeeded = status == "succeeded"
    amount = int(intent["amount"])
    method_type = str(payment_method["type"])
    details = _json_copy(dict(payment_method[method_type]))
    for key in ("display_brand", "generated_from", "networks", "three_d_secure_usage"):
        details.pop(key, None)
    if method_type == "card":
        details.update(
            {
                "amount_authorized": amount if succeeded else None,
                "network": details["brand"],
                "network_token": {"used": False},
                "three_d_secure": None,
                "mandate": None,
                "authorization_code": "123456" if succeeded else None,
                "network_transaction_id": None,
                "extended_authorization": {"status": "disabled"},
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "multicapture": {"status": "unavailable"},
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "transaction_link_id": None,
            }
        )
    if error is None:
        outcome_type = "authorized"
        network_status = "approved_by_network"
        seller_message = "Payment complete."
        reason = None
    else:
        outcome_type = "issuer_declined"
        network_status = "declined_by_network"
        seller_message = "The bank did not return any further details with this decline."
        reason = error.get("decline_code")
    return {
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": object_id("txn", id) if succeeded else None,
        "billing_details": _json_copy(payment_method["billing_details"]),
        "calculated_statement_descriptor": "TENURE",
        "captured": succeeded,
        "created": created,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": error.get("code") if error else None,
        "failure_message": error.get("message") if error else None,
        "fraud_details": {},
        "id": id,
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "object": "charge",
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": network_status if status != "pending" else None,
            "reason": reason,
            "seller_message": seller_message,
            "type": outcome_type,
        },
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": {method_type: details, "type": method_type},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "data": [],
            "has_more": False,
            "object": "list",
            "url": f"/v1/charges/{id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
    }


def refund(*, id: str, charge: Mapping[str, Any], amount: int, created: int) -> StripeObject:
    method_type = charge["payment_method_details"]["type"]
    return {
        "amount": amount,
        "balance_transaction": object_id("txn", id),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "destination_details": {method_type: {"type": "refund"}, "type": method_type},
        "id": id,
        "metadata": {},
        "object": "refund",
        "payment_intent": charge["payment_intent"],
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
        "customer": charge["customer"],
        "customer_account": None,
        "payment_method": charge["payment_method"],
    }


def event(
    *,
    id: str,
    type: str,
    obj: Mapping[str, Any],
    created: int,
    idempotency_key: str | None = None,
    previous_attributes: Mapping[str, Any] | None = None,
) -> StripeObject:
    """An Event carrying a snapshot of `obj` as it was when the event happened."""
    data: StripeObject = {"object": _json_copy(dict(obj))}
    if previous_attributes is not None:
        data["previous_attributes"] = _json_copy(dict(previous_attributes))
    return {
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "id": id,
        "livemode": False,
        "object": "event",
        "pending_webhooks": 1,
        "request": {
            "id": object_id("req", idempotency_key) if idempotency_key else None,
            "idempotency_key": idempotency_key,
        },
        "type": type,
    }
