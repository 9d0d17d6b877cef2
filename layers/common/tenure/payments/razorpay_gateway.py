"""The Razorpay adapter: recurring payments on a saved token (a card or UPI mandate), over
Razorpay's REST API with the standard library's HTTP client, injected so tests and the
sandbox bring their own transport.

One debit, as Razorpay's recurring-payments guides describe it (razorpay.com/docs, "Create
subsequent payments", cards and UPI alike):
1. an order for the amount (`POST /v1/orders`, `payment_capture: true`), whose `notes` carry
   Tenure's invoice, attempt and customer and whose `receipt` is derived from the invoice and
   attempt, so it names the one business action;
2. a recurring payment on that order (`POST /v1/payments/create/recurring` with the order,
   the token, the provider customer, `recurring: "1"`), with the same notes, so that the
   `payment.*` webhooks name the invoice and attempt;
3. its state read back (`GET /v1/payments/{id}`).

Idempotency. Razorpay takes an idempotency key on refunds only (`X-Refund-Idempotency`).
Orders and payments get theirs from the receipt: before creating an order, the adapter looks
for one with the attempt's receipt (`GET /v1/orders?receipt=`), and before paying it, for a
payment already made on it (`GET /v1/orders/{id}/payments`); a replay therefore finds the
first order and its payment instead of making new ones, and an order found with another
amount, currency or key is an `IdempotencyConflictError`. A request whose answer was lost is
reconciled the same way (`find_payment`). What could not be confirmed in the public docs:
whether `receipt` is unique per account (it is documented as the merchant's own reference,
at most 40 characters, so the adapter never relies on uniqueness: it reads before writing).

Outcomes: `captured` succeeded; `failed` declined with Razorpay's `error_reason` (else its
`error_code`); `authorized` and `created` pending (bank mandates settle hours later, and the
`payment.captured`/`payment.failed` webhook settles the attempt). Errors: connection failures,
timeouts, 5xx and 409 (a concurrent request with the same refund key) are retried with
backoff, then `ProviderUnavailableError`; 429 through the retries is `RateLimitedError`;
other 4xx are `InvalidRequestError` with Razorpay's error code; a 400 that names the payment
it failed (`error.metadata.payment_id`) is a decline, not an error.

A debit the customer must authenticate (above the mandate's no-authentication limit) is an
order that waits for them: `payment_authentication` gives what Razorpay Checkout needs to let
them pay it (the key id, the order, its amount, their prefill), and `verify_checkout` checks
what Checkout's handler hands back (`razorpay_payment_id`, `razorpay_order_id`,
`razorpay_signature`): the signature is HEX(HMAC-SHA256(key secret, "order_id|payment_id"))
as Razorpay's "Verify payment signature" step describes it, and the payment is then read back
from Razorpay, so its state is Razorpay's word, not the browser's.

A new mandate is registered in Checkout too: `begin_mandate` makes the registration order
(₹1, `method`, `customer_id`, `token {max_amount, expire_at, frequency}`) that Checkout opens
with `recurring: 1`, and `verify_mandate` checks its answer as above, then that the order is a
registration Tenure made for this customer and the payment this Razorpay customer's, before
it hands back the new token. Stripe's way of saving a card (`create_setup_intent`) has no
Razorpay counterpart and raises `InvalidRequestError("not_supported")`.
"""

import base64
import hashlib
import hmac
import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import (
    CardDetails,
    CheckoutAnswer,
    CheckoutOrder,
    IdempotencyConflictError,
    InvalidRequestError,
    MandateTerms,
    PaymentAuthentication,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
    ReportedRegistration,
    UnverifiedCheckoutError,
    VerifiedMandate,
)
from tenure.payments.rate_limit import Throttle

logger = logging.getLogger(__name__)

API_BASE = "https://api.razorpay.com/v1"
RECEIPT_MAX = 40  # Razorpay's limit on an order's receipt
# Razorpay's own words for a refund key reused with another body (the docs give no code of
# its own: the error is a plain BAD_REQUEST_ERROR).
_KEY_REUSED = "different request with the same idempotency key"
_RETRIED = frozenset({409, 429})
# What the waiting order keeps for the server's own use (the mandate's token and Razorpay's
# customer): never handed to the customer's browser.
_SERVER_NOTES = frozenset({"tenure_token", "tenure_provider_customer"})
# A registration order costs the customer ₹1 (100 paise), Razorpay's smallest order: its
# payment is the authorisation that makes the token.
REGISTRATION_AMOUNT = 100
# A new registration order is made when the last one of the same reference was paid (or made
# with other terms); past this many for one reference something else is wrong.
REGISTRATION_TRIES = 10
MANDATE_PURPOSE = "mandate"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


# Sends one request and returns the answer, whatever its status; raises OSError (timeouts
# included) when there is no answer.
Transport = Callable[[HttpRequest, float], HttpResponse]


def urllib_transport(request: HttpRequest, timeout: float) -> HttpResponse:
    """The standard library's HTTPS client (no dependency beyond the runtime)."""
    outgoing = urllib.request.Request(
        request.url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as answer:
            return HttpResponse(answer.status, answer.read(), dict(answer.headers))
    except urllib.error.HTTPError as refused:
        return HttpResponse(refused.code, refused.read(), dict(refused.headers or {}))


def receipt_for(invoice_id: str, attempt: int) -> str:
    """The order receipt of one attempt: derived from the invoice and attempt only (the
    business action), within Razorpay's 40 characters whatever the invoice id's length."""
    digest = hashlib.sha256(f"{invoice_id}:{attempt}".encode()).hexdigest()
    return f"tnr_{digest[: RECEIPT_MAX - 4]}"


def refund_key(idempotency_key: str) -> str:
    """A refund key Razorpay accepts (at least 10 characters of letters, digits, - and _),
    the same for the same Tenure key."""
    return "tnr-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def checkout_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    """Razorpay's signature of a Checkout payment: HMAC-SHA256 of "order_id|payment_id"
    under the key secret, in hex."""
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(key_secret.encode(), message, hashlib.sha256).hexdigest()


def mandate_receipt(reference: str, n: int) -> str:
    """The receipt of the n-th registration order made for `reference` (within 40)."""
    digest = hashlib.sha256(f"{reference}:{n}".encode()).hexdigest()
    return f"mnd_{digest[: RECEIPT_MAX - 4]}"


def _registration(
    terms: MandateTerms, provider_customer_id: str, receipt: str, notes: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "amount": REGISTRATION_AMOUNT,
        "currency": terms.max_amount.currency,
        "method": terms.method,
        "customer_id": provider_customer_id,
        "receipt": receipt,
        "payment_capture": True,
        "token": {
            "max_amount": terms.max_amount.amount_minor,
            "expire_at": int(terms.expire_at.timestamp()),
            "frequency": terms.frequency,
        },
        "notes": dict(notes),
    }


def payment_result(payment: Mapping[str, Any]) -> PaymentResult:
    """A Razorpay payment entity as Tenure's outcome."""
    status = str(payment.get("status") or "")
    payment_id = str(payment.get("id") or "")
    if status in ("captured", "refunded"):
        return PaymentResult(payment_id, ChargeOutcome.SUCCEEDED)
    if status == "failed":
        reason = payment.get("error_reason") or payment.get("error_code") or "payment_failed"
        return PaymentResult(payment_id, ChargeOutcome.DECLINED, str(reason))
    if status in ("authorized", "created"):
        return PaymentResult(payment_id, ChargeOutcome.PENDING)
    return PaymentResult(payment_id, ChargeOutcome.UNKNOWN)


def _notes(
    invoice_id: str,
    attempt: int,
    key: str,
    subscription_id: str | None,
    tenure_customer_id: str | None,
) -> dict[str, str]:
    # Razorpay keeps notes as strings (at most 15 of 256 characters): the webhook parser
    # reads `tenure_invoice_id` and `tenure_attempt` back from the payment.
    notes = {"tenure_invoice_id": invoice_id, "tenure_attempt": str(attempt), "tenure_key": key}
    if subscription_id:
        notes["tenure_subscription_id"] = subscription_id
    if tenure_customer_id:
        notes["tenure_customer_id"] = tenure_customer_id
    return notes


# The phone an erased customer's Razorpay record is left with: no one's number.
ERASED_CONTACT = "0000000000"


class RazorpayGateway:
    """PaymentGateway on Razorpay. `transport`, `sleep` and `rng` are injected so that tests
    run instantly and deterministically; `throttle` paces every HTTP attempt."""

    name = "razorpay"

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        *,
        transport: Transport = urllib_transport,
        base_url: str = API_BASE,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        timeout_seconds: float = 30.0,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        throttle: Throttle | None = None,
    ) -> None:
        if not key_id or not key_secret:
            raise ValueError("Razorpay needs a key id and a key secret")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        token = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
        self._auth = f"Basic {token}"
        self._key_id, self._key_secret = key_id, key_secret
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._max_retries = max_retries
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._timeout = timeout_seconds
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._throttle = throttle
        # Email and phone are required on every recurring payment; a customer's change only
        # through this adapter (update_phone, erase_customer), so a container reads them once.
        self._contacts: dict[str, tuple[str, str]] = {}

    # -- customers and tokens -------------------------------------------------------------------
    def create_customer(
        self,
        *,
        customer_id: str,
        email: str,
        name: str | None,
        idempotency_key: str,
        contact: str | None = None,
    ) -> str:
        # `fail_existing: "0"` hands back the customer already made with these details: what
        # a retried creation needs, as Razorpay takes no key here.
        body = {
            "name": name or email,
            "email": email,
            "fail_existing": "0",
            "notes": {"tenure_customer_id": customer_id},
        }
        if contact:  # Razorpay asks for a phone on recurring payments: the customer's own
            body["contact"] = contact
        return str(self._call("POST", "/customers", body)["id"])

    def erase_customer(
        self, *, provider_customer_id: str, email: str, name: str, idempotency_key: str
    ) -> str:
        """Razorpay has no customer deletion: the customer is edited instead. Its names
        allow letters, digits and spaces but no hyphen, and a contact needs 8 digits or
        more, so the pseudonym's hyphen becomes a space and the phone a row of zeros (the
        pseudonym email keeps the email-and-contact pair unique, as Razorpay requires).
        A PUT of the same values: asking again changes nothing more."""
        body = {"name": name.replace("-", " "), "email": email, "contact": ERASED_CONTACT}
        self._call("PUT", f"/customers/{_seg(provider_customer_id)}", body)
        self._contacts.pop(provider_customer_id, None)
        return provider_customer_id

    def update_phone(
        self, *, provider_customer_id: str, phone: str | None, idempotency_key: str
    ) -> str:
        """Edit the customer's `contact` (a PUT: the same value twice changes nothing more).
        Razorpay keeps a contact on every customer that pays on a mandate and reads it on
        each recurring payment, so a removed phone leaves Razorpay's as it was: only an
        erasure overwrites it."""
        if phone is not None:
            self._call("PUT", f"/customers/{_seg(provider_customer_id)}", {"contact": phone})
            self._contacts.pop(provider_customer_id, None)  # the next debit reads the new one
        return provider_customer_id

    def attach_payment_method(
        self, *, provider_customer_id: str, payment_method: str, idempotency_key: str
    ) -> CardDetails:
        """Razorpay's tokens are made by the mandate's authorisation (in its Checkout): this
        reads the token, refuses one that cannot be charged, and says what may be shown."""
        token = self._call(
            "GET", f"/customers/{_seg(provider_customer_id)}/tokens/{_seg(payment_method)}"
        )
        recurring = token.get("recurring_details") or {}
        if not token.get("recurring") or recurring.get("status") not in (None, "confirmed"):
            raise InvalidRequestError(
                "the token is not a confirmed recurring mandate", code="token_not_confirmed"
            )
        return _token_details(token)

    def create_setup_intent(self, *, provider_customer_id: str, idempotency_key: str) -> str:
        raise InvalidRequestError(
            "Razorpay mandates are authorised in Razorpay Checkout", code="not_supported"
        )

    def payment_authentication(self, payment_id: str) -> PaymentAuthentication:
        """What Checkout needs to let the customer pay the order that waits for them. Only
        an order made for the customer (`create_payment`) waits: a recurring payment already
        made is not authenticated afterwards."""
        if not payment_id.startswith("order_"):
            raise InvalidRequestError(
                "only an order waits for the customer's authentication", code="not_supported"
            )
        order = self._call("GET", f"/orders/{_seg(payment_id)}")
        notes = order.get("notes") or {}
        notes = notes if isinstance(notes, dict) else {}
        provider_customer = notes.get("tenure_provider_customer")
        email, contact = self._contact(str(provider_customer)) if provider_customer else ("", "")
        return PaymentAuthentication(
            payment_id=str(order["id"]),
            client_secret="",
            payment_method=notes.get("tenure_token"),
            checkout=CheckoutOrder(
                key_id=self._key_id,
                order_id=str(order["id"]),
                amount=Money(int(order["amount"]), str(order["currency"])),
                # The token and provider customer are the server's business, not the page's;
                # the rest names the invoice and attempt on the payment Checkout makes.
                notes={
                    k: str(v)
                    for k, v in notes.items()
                    if k.startswith("tenure_") and k not in _SERVER_NOTES
                },
                provider_customer_id=str(provider_customer) if provider_customer else None,
                email=email,
                contact=contact,
            ),
        )

    def verify_checkout(self, answer: CheckoutAnswer) -> PaymentResult:
        """The outcome of a payment the customer made in Checkout, once its signature is
        Razorpay's and Razorpay says the payment is the order's. The signature is checked
        before anything is asked of Razorpay: a forged answer costs no request."""
        return payment_result(self._verified_payment(answer))

    def _verified_payment(self, answer: CheckoutAnswer) -> dict[str, Any]:
        expected = checkout_signature(self._key_secret, answer.order_id, answer.payment_id)
        if not hmac.compare_digest(expected.encode(), answer.signature.strip().lower().encode()):
            raise UnverifiedCheckoutError(
                "the checkout's signature is not Razorpay's", code="signature_mismatch"
            )
        payment = self._call("GET", f"/payments/{_seg(answer.payment_id)}")
        if payment.get("order_id") != answer.order_id:
            raise UnverifiedCheckoutError(
                "the payment is not the order's", code="payment_not_of_order"
            )
        return payment

    # -- a new mandate ---------------------------------------------------------------------------
    def begin_mandate(
        self,
        *,
        provider_customer_id: str,
        tenure_customer_id: str,
        terms: MandateTerms,
        reference: str,
    ) -> CheckoutOrder:
        """The registration order Checkout opens with `recurring: 1` so that the customer
        authorises a new mandate on these terms (Razorpay's "create an authorisation
        transaction": `method`, `customer_id`, `token {max_amount, expire_at, frequency}`).
        `reference` names the one registration the caller means (the same reference reuses
        its unpaid order with the same terms, as a reloaded page should); a paid order, or
        one with other terms, is passed over for the next."""
        notes = {
            "tenure_customer_id": tenure_customer_id,
            "tenure_purpose": MANDATE_PURPOSE,
            "tenure_mandate_method": terms.method,
            "tenure_mandate_max": str(terms.max_amount.amount_minor),
        }
        for n in range(REGISTRATION_TRIES):
            receipt = mandate_receipt(reference, n)
            found = self._orders_with_receipt(receipt)
            if not found:
                order = self._call(
                    "POST", "/orders", _registration(terms, provider_customer_id, receipt, notes)
                )
                break
            order = found[0]
            paid = order.get("status") == "paid" or int(order.get("amount_paid") or 0) > 0
            if not paid and (order.get("notes") or {}) == notes:
                break
        else:
            raise IdempotencyConflictError(
                "every registration order of this reference is used", code="receipt_reused"
            )
        email, contact = self._contact(provider_customer_id)
        return CheckoutOrder(
            key_id=self._key_id,
            order_id=str(order["id"]),
            amount=Money(int(order["amount"]), str(order["currency"])),
            notes={"tenure_customer_id": tenure_customer_id, "tenure_purpose": MANDATE_PURPOSE},
            provider_customer_id=provider_customer_id,
            email=email,
            contact=contact,
        )

    def verify_mandate(
        self, answer: CheckoutAnswer, *, provider_customer_id: str, tenure_customer_id: str
    ) -> VerifiedMandate:
        """The token a registration payment made (and that payment), once Checkout's answer
        is Razorpay's (the signature, before any request), its payment the order's, the
        order a registration Tenure made for this customer, and the payment this Razorpay
        customer's and authorised. UnverifiedCheckoutError otherwise: nothing in the
        answer is believed."""
        payment = self._verified_payment(answer)
        order = self._call("GET", f"/orders/{_seg(answer.order_id)}")
        if _registered_customer(order) != tenure_customer_id:
            raise UnverifiedCheckoutError(
                "the order registers another customer's mandate", code="order_of_another_customer"
            )
        if payment.get("customer_id") != provider_customer_id:
            raise UnverifiedCheckoutError(
                "the payment is another Razorpay customer's", code="token_of_another_customer"
            )
        token = payment.get("token_id")
        if payment.get("status") not in ("captured", "authorized") or not token:
            raise UnverifiedCheckoutError(
                "the registration payment made no mandate", code="mandate_not_authorised"
            )
        return VerifiedMandate(
            token=str(token),
            payment_id=answer.payment_id,
            order_id=answer.order_id,
            amount=Money(int(payment.get("amount") or 0), str(payment.get("currency") or "INR")),
        )

    def reported_registration(self, payment_id: str) -> ReportedRegistration:
        """A registration payment Razorpay reported by webhook (its answer never reached the
        card page), believed only as Razorpay tells it when asked: the payment, read back,
        was made on an order; that order, read back, is a registration Tenure made (its own
        notes name the purpose and the Tenure customer); the payment is captured, so its
        rupee was taken. UnverifiedCheckoutError otherwise: the webhook's notes alone prove
        nothing."""
        payment = self._call("GET", f"/payments/{_seg(payment_id)}")
        order_id = payment.get("order_id")
        if not order_id:
            raise UnverifiedCheckoutError("the payment was made on no order", code="no_order")
        order = self._call("GET", f"/orders/{_seg(str(order_id))}")
        tenure_customer_id = _registered_customer(order)
        if not tenure_customer_id:
            raise UnverifiedCheckoutError(
                "the registration names no Tenure customer", code="not_a_registration"
            )
        if payment.get("status") != "captured":
            raise UnverifiedCheckoutError(
                "the registration payment is not captured", code="registration_not_captured"
            )
        token = payment.get("token_id")
        return ReportedRegistration(
            tenure_customer_id=tenure_customer_id,
            provider_customer_id=str(payment.get("customer_id") or ""),
            payment_id=str(payment.get("id") or payment_id),
            order_id=str(order_id),
            amount=Money(int(payment.get("amount") or 0), str(payment.get("currency") or "INR")),
            token=str(token) if token else None,
        )

    # -- payments ---------------------------------------------------------------------------------
    def create_payment(
        self,
        *,
        amount: Money,
        customer_id: str,
        payment_method: str,
        invoice_id: str,
        attempt: int,
        idempotency_key: str,
        subscription_id: str | None = None,
        tenure_customer_id: str | None = None,
    ) -> str:
        """The attempt's order (no money moves); its id stands for the payment until
        `confirm_payment` makes the recurring payment on it."""
        notes = _notes(invoice_id, attempt, idempotency_key, subscription_id, tenure_customer_id)
        notes |= {"tenure_token": payment_method, "tenure_provider_customer": customer_id}
        return str(self._order(amount, invoice_id, attempt, notes)["id"])

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        if not payment_id.startswith("order_"):
            return self.retrieve_payment(payment_id)
        order = self._call("GET", f"/orders/{_seg(payment_id)}")
        made = self._order_payments(payment_id)
        if made:
            return payment_result(made[-1])
        notes = order.get("notes") or {}
        return self._pay(order, str(notes["tenure_provider_customer"]), str(notes["tenure_token"]))

    def create_and_confirm_payment(
        self,
        *,
        amount: Money,
        customer_id: str,
        payment_method: str,
        invoice_id: str,
        attempt: int,
        idempotency_key: str,
        subscription_id: str | None = None,
        tenure_customer_id: str | None = None,
    ) -> PaymentResult:
        notes = _notes(invoice_id, attempt, idempotency_key, subscription_id, tenure_customer_id)
        order = self._order(amount, invoice_id, attempt, notes)
        made = self._order_payments(str(order["id"]))
        if made:  # a replay: the first request's payment, not a second one
            return payment_result(made[-1])
        return self._pay(order, customer_id, payment_method)

    def find_payment(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        attempt: int,
        created_from: datetime,
        created_until: datetime,
    ) -> PaymentResult | None:
        lo, hi = int(created_from.timestamp()), int(created_until.timestamp())
        found = [
            payment
            for order in self._orders_with_receipt(receipt_for(invoice_id, attempt))
            for payment in self._order_payments(str(order["id"]))
            if _names(payment, invoice_id, attempt)
            and lo <= int(payment.get("created_at", 0)) <= hi
        ]
        return payment_result(found[-1]) if found else None

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        if payment_id.startswith("order_"):
            made = self._order_payments(payment_id)
            return (
                payment_result(made[-1])
                if made
                else PaymentResult(payment_id, ChargeOutcome.UNKNOWN)
            )
        return payment_result(self._call("GET", f"/payments/{_seg(payment_id)}"))

    def refund(self, *, payment_id: str, amount: Money | None, idempotency_key: str) -> str:
        body: dict[str, Any] = {"speed": "normal"}
        if amount is not None:
            body["amount"] = amount.amount_minor
        refund = self._call(
            "POST",
            f"/payments/{_seg(payment_id)}/refund",
            body,
            headers={"X-Refund-Idempotency": refund_key(idempotency_key)},
        )
        return str(refund["id"])

    # -- orders and payments ---------------------------------------------------------------------
    def _order(
        self, amount: Money, invoice_id: str, attempt: int, notes: dict[str, str]
    ) -> dict[str, Any]:
        receipt = receipt_for(invoice_id, attempt)
        for order in self._orders_with_receipt(receipt):
            asked = (amount.amount_minor, amount.currency)
            same = (order.get("amount"), order.get("currency")) == asked
            if not same or (order.get("notes") or {}).get("tenure_key") != notes["tenure_key"]:
                raise IdempotencyConflictError(
                    f"order {order.get('id')} was made for this attempt with other parameters",
                    code="receipt_reused",
                )
            return order
        body = {
            "amount": amount.amount_minor,
            "currency": amount.currency,
            "receipt": receipt,
            "payment_capture": True,
            "notes": notes,
        }
        return self._call("POST", "/orders", body)

    def _orders_with_receipt(self, receipt: str) -> list[dict[str, Any]]:
        found = self._call("GET", "/orders", query={"receipt": receipt})
        return list(found.get("items") or [])

    def _order_payments(self, order_id: str) -> list[dict[str, Any]]:
        """The order's payments, oldest first."""
        found = self._call("GET", f"/orders/{_seg(order_id)}/payments")
        return sorted(found.get("items") or [], key=lambda p: (p.get("created_at", 0), p["id"]))

    def _pay(self, order: Mapping[str, Any], customer_id: str, token: str) -> PaymentResult:
        email, contact = self._contact(customer_id)
        body = {
            "email": email,
            "contact": contact,
            "amount": order["amount"],
            "currency": order["currency"],
            "order_id": order["id"],
            "customer_id": customer_id,
            "token": token,
            "recurring": "1",
            "notes": {k: v for k, v in (order.get("notes") or {}).items() if k != "tenure_token"},
        }
        try:
            made = self._call("POST", "/payments/create/recurring", body, declines=True)
        except _Declined as declined:
            return declined.result
        return self.retrieve_payment(str(made["razorpay_payment_id"]))

    def _contact(self, customer_id: str) -> tuple[str, str]:
        if customer_id not in self._contacts:
            found = self._call("GET", f"/customers/{_seg(customer_id)}")
            self._contacts[customer_id] = (
                str(found.get("email") or ""),
                str(found.get("contact") or ""),
            )
        return self._contacts[customer_id]

    # -- HTTP, retries and errors -----------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        declines: bool = False,
    ) -> dict[str, Any]:
        url = self._base + path + (f"?{urlencode(query)}" if query else "")
        sent = {"Authorization": self._auth, "Accept": "application/json"}
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent |= dict(headers or {})
        request = HttpRequest(
            method, url, sent, json.dumps(body).encode() if body is not None else None
        )
        last_status: int | None = None
        for attempt in range(self._max_retries + 1):
            if attempt:
                self._sleep(self._delay(attempt))
            if self._throttle is not None:
                self._throttle.acquire()
            try:
                answer = self._transport(request, self._timeout)
            except OSError as exc:
                logger.warning(
                    "razorpay unreachable", extra={"path": path, "error": type(exc).__name__}
                )
                last_status = None
                continue
            if answer.status < 400:
                return _json_object(answer.body)
            if answer.status in _RETRIED or answer.status >= 500:
                last_status = answer.status
                continue
            raise _refusal(answer, declines)
        if last_status == 429:
            raise RateLimitedError("Razorpay kept refusing: too many requests", code="rate_limited")
        raise ProviderUnavailableError(
            f"Razorpay gave no answer to {method} {path.split('/')[1]}"
            + (f" (HTTP {last_status})" if last_status else ""),
            code=str(last_status) if last_status else None,
        )

    def _delay(self, attempt: int) -> float:
        # Exponential backoff with full jitter, as for Stripe.
        return self._rng.uniform(0, min(self._max_delay, self._base_delay * 2 ** (attempt - 1)))


class _Declined(Exception):
    """A 400 that names the payment it failed: the recurring payment was made, and declined."""

    def __init__(self, result: PaymentResult) -> None:
        super().__init__(result.decline_code)
        self.result = result


def _refusal(answer: HttpResponse, declines: bool) -> Exception:
    try:
        error = _json_object(answer.body).get("error") or {}
    except ProviderUnavailableError:
        error = {}
    code = str(error.get("code") or f"http_{answer.status}")
    description = str(error.get("description") or "refused")
    metadata = error.get("metadata") or {}
    if declines and isinstance(metadata, dict) and metadata.get("payment_id"):
        reason = error.get("reason")
        reason = reason if isinstance(reason, str) and reason not in ("", "NA") else code
        return _Declined(PaymentResult(str(metadata["payment_id"]), ChargeOutcome.DECLINED, reason))
    if _KEY_REUSED in description.lower():
        return IdempotencyConflictError(description, code=code)
    field_name = error.get("field")
    return InvalidRequestError(
        description, code=code, param=field_name if isinstance(field_name, str) else None
    )


def _registered_customer(order: Mapping[str, Any]) -> str | None:
    """The Tenure customer a registration order was made for, as its notes (set by
    `begin_mandate`) say; UnverifiedCheckoutError for an order that is no registration."""
    notes = order.get("notes") or {}
    notes = notes if isinstance(notes, dict) else {}
    if notes.get("tenure_purpose") != MANDATE_PURPOSE:
        raise UnverifiedCheckoutError(
            "the order is not a mandate's registration", code="not_a_registration"
        )
    customer = notes.get("tenure_customer_id")
    return str(customer) if customer else None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError as exc:
        raise ProviderUnavailableError("Razorpay answered with something other than JSON") from exc
    if not isinstance(parsed, dict):
        raise ProviderUnavailableError("Razorpay answered with something other than an object")
    return parsed


def _seg(value: str) -> str:
    """An id as one path segment: nothing in it can reach another endpoint."""
    return quote(value, safe="")


def _names(payment: Mapping[str, Any], invoice_id: str, attempt: int) -> bool:
    notes = payment.get("notes") or {}
    return isinstance(notes, dict) and (
        notes.get("tenure_invoice_id"),
        str(notes.get("tenure_attempt")),
    ) == (invoice_id, str(attempt))


def _token_details(token: Mapping[str, Any]) -> CardDetails:
    max_amount = token.get("max_amount")
    if token.get("method") == "upi":
        vpa = token.get("vpa") or {}
        username = str(vpa.get("username") or "")
        details = CardDetails(brand="upi", last4=username[-4:], exp_month=None, exp_year=None)
        details["mandate_kind"] = "upi"
    else:
        card = token.get("card") or {}
        details = CardDetails(
            brand=str(card.get("network") or "card").lower(),
            last4=str(card.get("last4") or ""),
            exp_month=_int(card.get("expiry_month")),
            exp_year=_int(card.get("expiry_year")),
        )
        details["mandate_kind"] = "card"
    if isinstance(max_amount, int) and max_amount > 0:
        details["mandate_max_amount"] = max_amount
    return details


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
