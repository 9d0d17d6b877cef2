"""What the sandbox provider holds of a payment, and the Stripe objects it makes for one.

A payment is a `Payment` while it may change, and `Packed` once it is finished and put away
(`PaymentPacker`): a year of 10,000 customers held about a gigabyte of intents and charges.
"""

import pickle
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.domain.money import Money
from tenure.payments import stripe_objects
from tenure.payments.gateway import CardDetails, InvalidRequestError
from tenure.payments.sandbox_cards import ASYNC_LAST4, BY_METHOD, CARD_EXPIRY

Instant = int | datetime
# How the sandbox records an event: type, object, idempotency key, when (None: now).
Emit = Callable[[str, stripe_objects.StripeObject, str | None, int | None], None]


@dataclass(slots=True)
class Payment:
    intent: stripe_objects.StripeObject
    charge: stripe_objects.StripeObject | None = None
    confirmed: bool = False
    settles_at: int | None = None  # async methods: when the debit settles


@dataclass(frozen=True, slots=True)
class Packed:
    """A finished payment kept small: its intent and charge compressed, plus what a list
    of the customer's payments matches on, so that listing unpacks only the one it finds."""

    customer: object
    created: int
    invoice_id: object
    attempt: object
    blob: bytes


# The events Stripe sends about a payment's intent and about its charge: while a payment is
# packed, how many of each it has had is packed with it (the event ids count them).
_INTENT_EVENTS = (
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)
_CHARGE_EVENTS = ("charge.pending", "charge.succeeded", "charge.failed", "charge.refunded")


class PaymentPacker:
    """Packs payments compressed against the first one packed (the others resemble it)."""

    def __init__(self) -> None:
        self._zdict: bytes | None = None

    def pack(self, payment: Payment, counts: Counter[tuple[str, str]]) -> Packed:
        """`payment` packed, with its events' counts taken out of `counts`."""
        # Pickled, not JSON: it keeps what JSON would not (tuples, the charge sharing objects
        # with the intent), so unpacking gives back exactly what was packed.
        intent_id = payment.intent["id"]
        keys = [(event, intent_id) for event in _INTENT_EVENTS]
        if payment.charge is not None:
            keys += [(event, payment.charge["id"]) for event in _CHARGE_EVENTS]
        emitted = [(key, counts.pop(key)) for key in keys if key in counts]
        raw = pickle.dumps((payment.intent, payment.charge, payment.confirmed, emitted), protocol=5)
        if self._zdict is None:
            self._zdict = raw
        squeeze = zlib.compressobj(zdict=self._zdict)
        intent = payment.intent
        metadata = intent["metadata"]
        return Packed(
            customer=intent["customer"],
            created=int(intent["created"]),
            invoice_id=metadata.get("tenure_invoice_id"),
            attempt=metadata.get("tenure_attempt"),
            blob=squeeze.compress(raw) + squeeze.flush(),
        )

    def unpack(self, packed: Packed, counts: Counter[tuple[str, str]]) -> Payment:
        """The payment `packed` holds, its events' counts put back into `counts`."""
        assert self._zdict is not None
        swell = zlib.decompressobj(zdict=self._zdict)
        intent, charge, confirmed, emitted = pickle.loads(
            swell.decompress(packed.blob) + swell.flush()
        )
        counts.update(dict(emitted))
        return Payment(intent, charge, confirmed)


def listed(
    held: Payment | Packed,
    customer_id: str,
    created: tuple[int, int],
    invoice_id: str,
    attempt: str,
) -> bool:
    """Whether a list of payments by customer, `created` range (inclusive) and Tenure's
    invoice and attempt (the intent's metadata) holds this one; a packed payment is matched
    without unpacking it."""
    low, high = created
    if isinstance(held, Packed):
        return (
            held.customer == customer_id
            and low <= held.created <= high
            and held.invoice_id == invoice_id
            and held.attempt == attempt
        )
    metadata = held.intent["metadata"]
    return (
        held.intent["customer"] == customer_id
        and low <= int(held.intent["created"]) <= high
        and metadata.get("tenure_invoice_id") == invoice_id
        and metadata.get("tenure_attempt") == attempt
    )


def method_object(
    payment_method: str,
    customer: str | None,
    created: int,
    *,
    strict: bool = False,
    expiry: tuple[int, int] = CARD_EXPIRY,
) -> stripe_objects.StripeObject:
    """The PaymentMethod a test card (or debit) id stands for; `strict`: an unknown id is
    refused, as Stripe refuses to attach one."""
    if payment_method in ASYNC_LAST4:
        return stripe_objects.debit_payment_method(
            id=payment_method,
            last4=ASYNC_LAST4[payment_method],
            customer=customer,
            created=created,
        )
    card = BY_METHOD.get(payment_method)
    if card is None and strict:
        raise InvalidRequestError(
            f"No such PaymentMethod: '{payment_method}'",
            code="resource_missing",
            param="payment_method",
        )
    return stripe_objects.card_payment_method(
        id=payment_method,
        brand=card.brand if card else "unknown",
        last4=card.number[-4:] if card else "0000",
        exp_month=expiry[0],
        exp_year=expiry[1],
        customer=customer,
        created=created,
    )


def details_of(method: stripe_objects.StripeObject) -> CardDetails:
    kind = str(method["type"])
    data: dict[str, Any] = method[kind]
    return CardDetails(
        brand=str(data.get("brand", kind)),
        last4=str(data["last4"]),
        exp_month=data.get("exp_month"),
        exp_year=data.get("exp_year"),
    )


def succeed(
    payment: Payment,
    method: stripe_objects.StripeObject,
    charge_id: str,
    at: int,
    key: str | None,
    emit: Emit,
) -> None:
    """The charge succeeded: the intent and its new charge say so, and Stripe's events."""
    intent = payment.intent
    intent["status"] = "succeeded"
    intent["amount_received"] = intent["amount"]
    payment.charge = stripe_objects.charge(
        id=charge_id, intent=intent, payment_method=method, status="succeeded", error=None,
        created=at,
    )  # fmt: skip
    emit("charge.succeeded", payment.charge, key, at)
    emit("payment_intent.succeeded", intent, key, at)


def fail(
    payment: Payment,
    method: stripe_objects.StripeObject,
    charge_id: str,
    decline_code: str,
    at: int,
    key: str | None,
    emit: Emit,
) -> None:
    """The charge was declined with `decline_code`: the intent and its new charge say so,
    and Stripe's events."""
    intent = payment.intent
    error = stripe_objects.decline_error(decline_code, charge_id=charge_id, payment_method=method)
    intent["status"] = "requires_payment_method"
    intent["last_payment_error"] = error
    payment.charge = stripe_objects.charge(
        id=charge_id, intent=intent, payment_method=method, status="failed", error=error,
        created=at,
    )  # fmt: skip
    emit("charge.failed", payment.charge, key, at)
    emit("payment_intent.payment_failed", intent, key, at)


def refund_value(payment: Payment, amount: Money | None) -> int:
    """The minor units a refund of `amount` (None: what is left) takes from the payment's
    charge, refused as Stripe refuses it: no successful charge, nothing left, another
    currency, or more than is left."""
    charge = payment.charge
    intent = payment.intent
    if charge is None or intent["status"] != "succeeded":
        raise InvalidRequestError(
            f"PaymentIntent {intent['id']} has no successful charge to refund",
            code="payment_intent_unexpected_state",
        )
    left = int(charge["amount"]) - int(charge["amount_refunded"])
    if left == 0:
        raise InvalidRequestError(
            f"Charge {charge['id']} has already been refunded", code="charge_already_refunded"
        )
    if amount is None:
        return left
    if amount.currency.lower() != charge["currency"]:
        raise InvalidRequestError(
            f"refund currency {amount.currency} differs from the payment's",
            code="parameter_invalid",
            param="amount",
        )
    value = stripe_objects.stripe_amount(amount)
    if value <= 0 or value > left:
        raise InvalidRequestError(
            f"Refund amount ({value}) is greater than unrefunded amount on charge ({left})",
            code="amount_too_large",
            param="amount",
        )
    return value


def fresh_id(prefix: str, key: str, taken: dict[str, Any]) -> str:
    """The id of an object made under `key`: derived from it, or, when the key was used
    again after Stripe forgot it, derived from it and how many were made before."""
    made = stripe_objects.object_id(prefix, key)
    again = 0
    while made in taken:
        again += 1
        made = stripe_objects.object_id(prefix, key, "again", again)
    return made


def epoch(instant: Instant) -> int:
    return int(instant.timestamp()) if isinstance(instant, datetime) else int(instant)
