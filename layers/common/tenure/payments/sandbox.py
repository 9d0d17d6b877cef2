"""The sandbox payment provider: a deterministic, Stripe-shaped stand-in for Stripe.

It honours Stripe's public test cards when they are charged, hands out Stripe-shaped
objects (`cus_…`, `pi_…`, `ch_…`, `re_…`) and records the events Stripe would send
(`evt_…`, signed with `sign`), so the webhook handler can be fed exactly what Stripe sends.
Everything is derived from idempotency keys and content, and time comes from an injected
clock: two sandboxes given the same calls produce the same ids, objects and events.

One documented divergence from Stripe: every test card attaches to a customer (Stripe
refuses some at attach time); its behaviour applies when it is charged, so a scenario can
switch a customer to a failing card.
"""

import pickle
import zlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments import stripe_objects
from tenure.payments.gateway import (
    CardDetails,
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentAuthentication,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
    StoredServerError,
)
from tenure.payments.sandbox_cards import (
    ASYNC_DECLINE_CODE,
    ASYNC_LAST4,
    ASYNC_METHODS,
    BY_METHOD,
    CARD_EXPIRY,
    TEST_CARDS,
    TestCard,
    behaviour,
    card_details,
    payment_method_for,
)
from tenure.payments.stripe_objects import sign, signed_delivery

__all__ = [
    "ASYNC_METHODS",
    "SETTLE_AFTER_SECONDS",
    "TEST_CARDS",
    "SandboxGateway",
    "TestCard",
    "UnknownPaymentMethodError",
    "card_details",
    "payment_method_for",
    "sign",
    "signed_delivery",
]


# "A few hours", like a bank debit: confirm says pending, this long later it settles.
SETTLE_AFTER_SECONDS = 4 * 3600
# Stripe forgets an idempotency key 24 hours after its first request: the same request sent
# again after that is a new request (a payment made again, under a new id).
KEY_KEPT_SECONDS = 24 * 3600

FaultKind = Literal["timeout", "rate_limit", "server_error"]
FaultOn = Literal["create", "confirm", "retrieve", "pay", "find", "refund", "erase", "phone"]
_FAULT_KINDS = ("timeout", "rate_limit", "server_error")
_FAULT_ON = ("create", "confirm", "retrieve", "pay", "find", "refund", "erase", "phone")
Instant = int | datetime


class UnknownPaymentMethodError(ValueError):
    pass


@dataclass(slots=True)
class _Payment:
    intent: stripe_objects.StripeObject
    charge: stripe_objects.StripeObject | None = None
    confirmed: bool = False
    settles_at: int | None = None  # async methods: when the debit settles


@dataclass(frozen=True, slots=True)
class _Packed:
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


@dataclass(slots=True)
class _Fault:
    kind: FaultKind
    on: FaultOn
    times: int


@dataclass(frozen=True, slots=True)
class _Saved:
    params: tuple[object, ...]
    response: object
    at: int  # when it was saved (the sandbox's clock): forgotten KEY_KEPT_SECONDS after


@dataclass(frozen=True, slots=True)
class _StoredError:
    """A 5xx saved as a key's first answer: Stripe replays it to every retry of the key."""

    message: str


_T = TypeVar("_T")


class SandboxGateway:
    """A deterministic stand-in for Stripe: same idempotency key, same answer (for 24 hours
    of its clock: then, as Stripe, it forgets the key, and the request is a new one).

    `clock` returns the current time (epoch seconds or a datetime) for `created` stamps
    and settling; without one every timestamp is 0. Tests read `confirmations` (times money
    was asked to move), `calls` (gateway calls per payment id), `lists` (list requests,
    which name no payment), `requests` (payment requests by operation, lists included),
    `payment_requests` (by payment and operation; a list counts for the payment it found)
    and `events` (what Stripe would have sent, oldest first).
    """

    name = "sandbox"

    def __init__(self, clock: Callable[[], Instant] | None = None) -> None:
        self._clock = clock
        # A payment is a _Payment while it may change, and _Packed once `pack_finished` has
        # put it away; a read unpacks it again. Both keep their place in this dict's order.
        self._payments: dict[str, _Payment | _Packed] = {}
        self._unpacked: set[str] = set()  # the ids held as _Payment, for `pack_finished`
        self._zdict: bytes | None = None  # the first packed payment: the others resemble it
        # The payments still settling, so a settlement pass need not look through them all.
        self._unsettled: dict[str, _Payment] = {}
        self._customers: dict[str, stripe_objects.StripeObject] = {}
        self._refunds: dict[str, stripe_objects.StripeObject] = {}
        self._saved: dict[str, _Saved] = {}
        self._saved_order: deque[str] = deque()  # the keys in `_saved`, oldest first
        self._faults: list[_Fault] = []
        self._event_counts: Counter[tuple[str, str]] = Counter()
        self.events: list[stripe_objects.StripeObject] = []
        self.calls: dict[str, int] = {}
        self.confirmations = 0  # how many times money was asked to move (tests read it)
        self.lists = 0  # list requests (`find_payment`): not counted per payment id
        self.requests: Counter[str] = Counter()  # payment requests by operation
        self.payment_requests: Counter[tuple[str, str]] = Counter()  # by payment, operation
        self._next_expiry: dict[str, tuple[int, int]] = {}
        self.erasures: list[str] = []  # customers erased, in order (tests read it)
        self.phone_updates: list[tuple[str, str | None]] = []  # (customer, phone), in order

    def next_card_expires(self, payment_method: str, month: int, year: int) -> None:
        """The next time this test card is attached, it carries this expiry (as if the
        customer typed it; Stripe's test cards take any future date). Sandbox-only."""
        self._next_expiry[payment_method] = (month, year)

    # -- fault injection --------------------------------------------------------------------
    def fail_next(self, kind: FaultKind, times: int = 1, on: FaultOn = "confirm") -> None:
        """Make the next `times` calls of `on` fail.

        A timeout fails AFTER the call took effect (money moved, the caller never heard):
        the case reconciliation exists for. A rate limit fails BEFORE anything happens.
        A server error (on `pay`) also fails after the call took effect, and is saved as the
        key's answer, as Stripe saves a 500: the same request replayed gets the 500 again.
        Faults queue in order per operation.
        """
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        if on not in _FAULT_ON:
            raise ValueError(f"faults apply to {', '.join(_FAULT_ON)}, not {on!r}")
        if kind == "server_error" and on != "pay":
            raise ValueError("a saved server error applies to pay only")
        if times < 1:
            raise ValueError("times must be >= 1")
        self._faults.append(_Fault(kind, on, times))

    def _next_fault(self, on: FaultOn) -> FaultKind | None:
        for fault in self._faults:
            if fault.on == on:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault.kind
        return None

    def _before(self, on: FaultOn) -> FaultKind | None:
        fault = self._next_fault(on)
        if fault == "rate_limit":
            raise RateLimitedError(f"sandbox: too many requests ({on})", code="rate_limit")
        return fault

    @staticmethod
    def _after(fault: FaultKind | None, on: FaultOn, payment_id: str) -> None:
        if fault == "timeout":
            raise ProviderUnavailableError(
                f"sandbox: {on} of {payment_id} timed out after it took effect", code="timeout"
            )

    # -- customers and payment methods --------------------------------------------------------
    def create_customer(
        self,
        *,
        customer_id: str,
        email: str,
        name: str | None,
        idempotency_key: str,
        contact: str | None = None,
    ) -> str:
        def create() -> str:
            cus_id = _fresh_id("cus", idempotency_key, self._customers)
            customer = stripe_objects.customer(
                id=cus_id,
                email=email,
                name=name,
                metadata={"tenure_customer_id": customer_id},
                created=self._now(),
            )
            self._customers[cus_id] = customer
            self._emit("customer.created", customer, idempotency_key)
            return cus_id

        params = ("customers.create", customer_id, email, name)
        return self._idempotent(idempotency_key, params, create)

    def erase_customer(
        self, *, provider_customer_id: str, email: str, name: str, idempotency_key: str
    ) -> str:
        """As Stripe's customer update: the pseudonym replaces the name and email, and the
        phone, address, shipping and description are unset. A timeout fails after the
        update took effect; a customer the sandbox does not hold is left alone (gone)."""
        fault = self._before("erase")
        found = self._customers.get(provider_customer_id)
        if found is not None:
            found.update(
                name=name, email=email, phone=None, address=None, shipping=None, description=None
            )
            self.erasures.append(provider_customer_id)
        if fault == "timeout":
            raise ProviderUnavailableError(
                f"sandbox: erase of {provider_customer_id} timed out after it took effect",
                code="timeout",
            )
        return provider_customer_id

    def update_phone(
        self, *, provider_customer_id: str, phone: str | None, idempotency_key: str
    ) -> str:
        """As Stripe's customer update of `phone` (None unsets it). A timeout fails after
        the update took effect; a customer the sandbox does not hold is refused, as Stripe
        refuses an unknown id."""
        fault = self._before("phone")
        found = self._customers.get(provider_customer_id)
        if found is None:
            raise InvalidRequestError(
                f"No such customer: '{provider_customer_id}'", code="resource_missing"
            )
        found.update(phone=phone)
        self.phone_updates.append((provider_customer_id, phone))
        if fault == "timeout":
            raise ProviderUnavailableError(
                f"sandbox: phone of {provider_customer_id} timed out after it took effect",
                code="timeout",
            )
        return provider_customer_id

    def customer(self, provider_customer_id: str) -> stripe_objects.StripeObject:
        """The customer as Stripe would show it (tests read it)."""
        return self._customers[provider_customer_id]

    def attach_payment_method(
        self, *, provider_customer_id: str, payment_method: str, idempotency_key: str
    ) -> CardDetails:
        def attach() -> CardDetails:
            if provider_customer_id not in self._customers:
                raise InvalidRequestError(
                    f"No such customer: '{provider_customer_id}'",
                    code="resource_missing",
                    param="customer",
                )
            expiry = self._next_expiry.pop(payment_method, CARD_EXPIRY)
            method = self._method_object(
                payment_method, provider_customer_id, strict=True, expiry=expiry
            )
            self._emit("payment_method.attached", method, idempotency_key)
            return _details(method)

        params = ("payment_methods.attach", provider_customer_id, payment_method)
        return self._idempotent(idempotency_key, params, attach)

    def create_setup_intent(self, *, provider_customer_id: str, idempotency_key: str) -> str:
        def create() -> str:
            if provider_customer_id not in self._customers:
                raise InvalidRequestError(
                    f"No such customer: '{provider_customer_id}'",
                    code="resource_missing",
                    param="customer",
                )
            seti = stripe_objects.object_id("seti", idempotency_key)
            return f"{seti}_secret_{stripe_objects.object_id('cs', seti)[3:]}"

        params = ("setup_intents.create", provider_customer_id)
        return self._idempotent(idempotency_key, params, create)

    # -- payments -----------------------------------------------------------------------------
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
        payment_id = self._payment_id(idempotency_key)
        self._count(payment_id, "create_payment")
        fault = self._before("create")

        def create() -> str:
            intent = stripe_objects.payment_intent(
                id=payment_id,
                amount=stripe_objects.stripe_amount(amount),
                currency=amount.currency,
                customer=customer_id,  # Tenure's id until the services map it to a cus_ id
                payment_method=payment_method,
                payment_method_type="sepa_debit" if payment_method in ASYNC_LAST4 else "card",
                metadata=stripe_objects.payment_metadata(
                    invoice_id, attempt, subscription_id, tenure_customer_id
                ),
                created=self._now(),
            )
            self._payments[payment_id] = _Payment(intent)
            self._unpacked.add(payment_id)
            self._emit("payment_intent.created", intent, idempotency_key)
            return payment_id

        params = (
            "payment_intents.create",
            amount,
            customer_id,
            payment_method,
            invoice_id,
            attempt,
        )
        created = self._idempotent(idempotency_key, params, create)
        self._after(fault, "create", created)
        return created

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
        # The same id and events as a create then a confirm under this key: one request.
        payment_id = self._payment_id(idempotency_key)
        self._count(payment_id, "create_and_confirm_payment")
        fault = self._before("pay")

        def pay() -> PaymentResult | _StoredError:
            intent = stripe_objects.payment_intent(
                id=payment_id,
                amount=stripe_objects.stripe_amount(amount),
                currency=amount.currency,
                customer=customer_id,
                payment_method=payment_method,
                payment_method_type="sepa_debit" if payment_method in ASYNC_LAST4 else "card",
                metadata=stripe_objects.payment_metadata(
                    invoice_id, attempt, subscription_id, tenure_customer_id
                ),
                created=self._now(),
            )
            payment = self._payments[payment_id] = _Payment(intent)
            self._unpacked.add(payment_id)
            self._emit("payment_intent.created", intent, idempotency_key)
            result = self._confirm(payment, idempotency_key)
            if fault == "server_error":
                return _StoredError(f"sandbox: pay under {idempotency_key} failed with a 500")
            return result

        params = (
            "payment_intents.create+confirm",
            amount,
            customer_id,
            payment_method,
            invoice_id,
            attempt,
        )
        answer = self._idempotent(idempotency_key, params, pay)
        if isinstance(answer, _StoredError):
            raise StoredServerError(answer.message, code="api_error")
        self._after(fault, "pay", payment_id)
        return answer

    def find_payment(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        attempt: int,
        created_from: datetime,
        created_until: datetime,
    ) -> PaymentResult | None:
        fault = self._before("find")
        if fault is not None:  # a read changes nothing: a timeout is only a lost answer
            raise ProviderUnavailableError("sandbox: list of payments timed out", code="timeout")
        low, high = _epoch(created_from), _epoch(created_until)
        self.lists += 1
        self.requests["find_payment"] += 1
        for payment_id, held in self._payments.items():
            if isinstance(held, _Packed):
                matches = (
                    held.customer == customer_id
                    and low <= held.created <= high
                    and held.invoice_id == invoice_id
                    and held.attempt == str(attempt)
                )
            else:
                metadata = held.intent["metadata"]
                matches = (
                    held.intent["customer"] == customer_id
                    and low <= int(held.intent["created"]) <= high
                    and metadata.get("tenure_invoice_id") == invoice_id
                    and metadata.get("tenure_attempt") == str(attempt)
                )
            if matches:
                payment = self._payment(payment_id)
                intent = payment.intent
                if payment.settles_at is not None and payment.settles_at <= self._now():
                    self._settle(payment)
                # A list names no payment; the one it found is what it was about.
                self.payment_requests[(str(intent["id"]), "find_payment")] += 1
                return stripe_objects.payment_result(intent)
        return None

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        self._count(payment_id, "confirm_payment")
        fault = self._before("confirm")
        payment = self._payment(payment_id)
        params = ("payment_intents.confirm", payment_id)
        result = self._idempotent(
            idempotency_key, params, lambda: self._confirm(payment, idempotency_key)
        )
        self._after(fault, "confirm", payment_id)
        return result

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        self._count(payment_id, "retrieve_payment")
        fault = self._before("retrieve")
        payment = self._payment(payment_id)
        # The provider settles on its own time, whether or not anyone asks.
        if payment.settles_at is not None and payment.settles_at <= self._now():
            self._settle(payment)
        self._after(fault, "retrieve", payment_id)
        return stripe_objects.payment_result(payment.intent)

    def payment_authentication(self, payment_id: str) -> PaymentAuthentication:
        intent = self._payment(payment_id).intent
        return PaymentAuthentication(
            payment_id, str(intent["client_secret"]), str(intent["payment_method"])
        )

    def confirm_on_session(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        """The customer, present, confirms a payment that needed authentication (sandbox only:
        with Stripe, Stripe.js does this in the browser). The authentication-required test
        card then succeeds; any other card behaves as when it was charged."""
        self._count(payment_id, "confirm_on_session")
        payment = self._payment(payment_id)
        params = ("payment_intents.confirm_on_session", payment_id)
        return self._idempotent(
            idempotency_key, params, lambda: self._confirm_present(payment, idempotency_key)
        )

    def settle_pending(self, now: Instant | None = None) -> list[PaymentResult]:
        """Settle the async payments whose few hours have passed by `now` (default: the
        clock), recording their events; returns their final outcomes, oldest first."""
        at = self._now() if now is None else _epoch(now)
        due = [
            p for p in self._unsettled.values() if p.settles_at is not None and p.settles_at <= at
        ]
        due.sort(key=lambda p: (p.settles_at or 0, p.intent["id"]))
        for payment in due:
            self._settle(payment)
        return [stripe_objects.payment_result(p.intent) for p in due]

    def refund(self, *, payment_id: str, amount: Money | None, idempotency_key: str) -> str:
        self._count(payment_id, "refund")
        fault = self._before("refund")
        payment = self._payment(payment_id)
        params = ("refunds.create", payment_id, amount)
        made = self._idempotent(
            idempotency_key, params, lambda: self._refund(payment, amount, idempotency_key)
        )
        self._after(fault, "refund", payment_id)  # a timeout: refunded, the answer lost
        return made

    # -- Stripe-side objects (for the webhook work and tests) ----------------------------------
    def payment_intent(self, payment_id: str) -> stripe_objects.StripeObject:
        return self._payment(payment_id).intent

    def charge_for(self, payment_id: str) -> stripe_objects.StripeObject | None:
        return self._payment(payment_id).charge

    # -- internals ----------------------------------------------------------------------------
    def _now(self) -> int:
        return 0 if self._clock is None else _epoch(self._clock())

    def _count(self, payment_id: str, operation: str) -> None:
        self.calls[payment_id] = self.calls.get(payment_id, 0) + 1
        self.requests[operation] += 1
        self.payment_requests[(payment_id, operation)] += 1

    def _payment(self, payment_id: str) -> _Payment:
        held = self._payments.get(payment_id)
        if held is None:
            raise InvalidRequestError(
                f"No such payment_intent: '{payment_id}'", code="resource_missing", param="intent"
            )
        if isinstance(held, _Packed):
            held = self._payments[payment_id] = self._unpack(held)
            self._unpacked.add(payment_id)
        return held

    def pack_finished(self) -> int:
        """Keep every payment that is not waiting to settle compactly until it is read again
        (a year of 10,000 customers held about a gigabyte of intents and charges); returns
        how many were packed. Answers do not change, but an intent or charge handed out
        before is no longer the sandbox's own: read it again after this."""
        packed = 0
        for payment_id in sorted(self._unpacked):
            payment = self._payments[payment_id]
            if isinstance(payment, _Payment) and payment.settles_at is None:
                self._payments[payment_id] = self._pack(payment)
                packed += 1
        self._unpacked = {i for i in self._unpacked if isinstance(self._payments[i], _Payment)}
        return packed

    def _pack(self, payment: _Payment) -> _Packed:
        # Pickled, not JSON: it keeps what JSON would not (tuples, the charge sharing objects
        # with the intent), so unpacking gives back exactly what was packed.
        counts = self._event_counts
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
        return _Packed(
            customer=intent["customer"],
            created=int(intent["created"]),
            invoice_id=metadata.get("tenure_invoice_id"),
            attempt=metadata.get("tenure_attempt"),
            blob=squeeze.compress(raw) + squeeze.flush(),
        )

    def _unpack(self, packed: _Packed) -> _Payment:
        assert self._zdict is not None
        swell = zlib.decompressobj(zdict=self._zdict)
        intent, charge, confirmed, emitted = pickle.loads(
            swell.decompress(packed.blob) + swell.flush()
        )
        self._event_counts.update(dict(emitted))
        return _Payment(intent, charge, confirmed)

    def _idempotent(self, key: str, params: tuple[object, ...], perform: Callable[[], _T]) -> _T:
        # Like Stripe: the first response is saved and replayed; a refused request (bad
        # parameters) is not saved; the same key with other parameters is an error.
        self._forget_old_keys()
        saved = self._saved.get(key)
        if saved is not None:
            if saved.params != params:
                raise IdempotencyConflictError(
                    f"Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with ({key})"
                )
            return saved.response  # type: ignore[return-value]
        response = perform()
        self._saved[key] = _Saved(params, response, self._now())
        self._saved_order.append(key)
        return response

    def _forget_old_keys(self) -> None:
        """Drops the saved answers KEY_KEPT_SECONDS old, as Stripe prunes its keys."""
        order, saved = self._saved_order, self._saved
        if not order:
            return
        cutoff = self._now() - KEY_KEPT_SECONDS
        while order and saved[order[0]].at <= cutoff:
            del saved[order.popleft()]

    def _payment_id(self, key: str) -> str:
        """The payment a request under `key` is about: the one its saved answer made, else a
        new one's (the first under this key, or another after the key was forgotten)."""
        self._forget_old_keys()
        ids = [stripe_objects.object_id("pi", key)]
        while ids[-1] in self._payments:
            ids.append(stripe_objects.object_id("pi", key, "again", len(ids)))
        return ids[-2] if key in self._saved and len(ids) > 1 else ids[-1]

    def _emit(
        self,
        type: str,
        obj: stripe_objects.StripeObject,
        idempotency_key: str | None,
        at: int | None = None,
    ) -> None:
        n = self._event_counts[(type, obj["id"])]
        self._event_counts[(type, obj["id"])] += 1
        self.events.append(
            stripe_objects.event(
                id=stripe_objects.object_id("evt", type, obj["id"], n),
                type=type,
                obj=obj,
                created=self._now() if at is None else at,
                idempotency_key=idempotency_key,
            )
        )

    def _method_object(
        self,
        payment_method: str,
        customer: str | None,
        *,
        strict: bool = False,
        expiry: tuple[int, int] = CARD_EXPIRY,
    ) -> stripe_objects.StripeObject:
        created = self._now()
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

    def _confirm(self, payment: _Payment, key: str) -> PaymentResult:
        intent = payment.intent
        if payment.confirmed:
            # Confirmed before under another key: report, move nothing.
            return stripe_objects.payment_result(intent)
        payment.confirmed = True
        self.confirmations += 1
        now = self._now()
        method_id = str(intent["payment_method"])
        method = self._method_object(method_id, intent["customer"])
        charge_id = stripe_objects.object_id("ch", intent["id"])
        intent["latest_charge"] = charge_id
        if method_id in ASYNC_LAST4:
            payment.charge = stripe_objects.charge(
                id=charge_id, intent=intent, payment_method=method, status="pending", error=None,
                created=now,
            )  # fmt: skip
            intent["status"] = "processing"
            payment.settles_at = now + SETTLE_AFTER_SECONDS
            self._unsettled[str(intent["id"])] = payment
            self._emit("charge.pending", payment.charge, key)
            self._emit("payment_intent.processing", intent, key)
            return stripe_objects.payment_result(intent)
        outcome, decline_code = behaviour(method_id)
        if outcome is ChargeOutcome.SUCCEEDED:
            self._succeed(payment, method, charge_id, now, key)
        else:
            self._fail(payment, method, charge_id, decline_code or "card_declined", now, key)
        return stripe_objects.payment_result(intent)

    def _confirm_present(self, payment: _Payment, key: str) -> PaymentResult:
        intent = payment.intent
        if intent["status"] in ("succeeded", "processing") or not payment.confirmed:
            return stripe_objects.payment_result(
                intent
            )  # settled, or never tried off-session: no step-up
        outcome, _ = behaviour(str(intent["payment_method"]))
        if outcome is not ChargeOutcome.AUTHENTICATION_REQUIRED:
            return stripe_objects.payment_result(intent)  # a decline stays a decline
        self.confirmations += 1
        now = self._now()
        method = self._method_object(str(intent["payment_method"]), intent["customer"])
        intent["last_payment_error"] = None
        charge_id = stripe_objects.object_id("ch", intent["id"], "on_session")
        intent["latest_charge"] = charge_id
        self._succeed(payment, method, charge_id, now, key)
        return stripe_objects.payment_result(intent)

    def _succeed(
        self,
        payment: _Payment,
        method: stripe_objects.StripeObject,
        charge_id: str,
        at: int,
        key: str | None,
    ) -> None:
        intent = payment.intent
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        payment.charge = stripe_objects.charge(
            id=charge_id, intent=intent, payment_method=method, status="succeeded", error=None,
            created=at,
        )  # fmt: skip
        self._emit("charge.succeeded", payment.charge, key, at)
        self._emit("payment_intent.succeeded", intent, key, at)

    def _fail(
        self,
        payment: _Payment,
        method: stripe_objects.StripeObject,
        charge_id: str,
        decline_code: str,
        at: int,
        key: str | None,
    ) -> None:
        intent = payment.intent
        error = stripe_objects.decline_error(
            decline_code, charge_id=charge_id, payment_method=method
        )
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = error
        payment.charge = stripe_objects.charge(
            id=charge_id, intent=intent, payment_method=method, status="failed", error=error,
            created=at,
        )  # fmt: skip
        self._emit("charge.failed", payment.charge, key, at)
        self._emit("payment_intent.payment_failed", intent, key, at)

    def _settle(self, payment: _Payment) -> None:
        at = payment.settles_at
        assert at is not None
        payment.settles_at = None
        self._unsettled.pop(str(payment.intent["id"]), None)
        intent = payment.intent
        method = self._method_object(str(intent["payment_method"]), intent["customer"])
        charge_id = str(intent["latest_charge"])
        if intent["payment_method"] == ASYNC_METHODS["sandbox_async_succeeds"]:
            self._succeed(payment, method, charge_id, at, None)
        else:
            self._fail(payment, method, charge_id, ASYNC_DECLINE_CODE, at, None)

    def _refund(self, payment: _Payment, amount: Money | None, key: str) -> str:
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
            value = left
        else:
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
        refund_id = _fresh_id("re", key, self._refunds)
        now = self._now()
        refund = stripe_objects.refund(id=refund_id, charge=charge, amount=value, created=now)
        self._refunds[refund_id] = refund
        charge["amount_refunded"] = int(charge["amount_refunded"]) + value
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].append(refund)
        self._emit("refund.created", refund, key, now)
        self._emit("charge.refunded", charge, key, now)
        return refund_id


def _details(method: stripe_objects.StripeObject) -> CardDetails:
    kind = str(method["type"])
    data: dict[str, Any] = method[kind]
    return CardDetails(
        brand=str(data.get("brand", kind)),
        last4=str(data["last4"]),
        exp_month=data.get("exp_month"),
        exp_year=data.get("exp_year"),
    )


def _fresh_id(prefix: str, key: str, taken: dict[str, Any]) -> str:
    """The id of an object made under `key`: derived from it, or, when the key was used
    again after Stripe forgot it, derived from it and how many were made before."""
    made = stripe_objects.object_id(prefix, key)
    again = 0
    while made in taken:
        again += 1
        made = stripe_objects.object_id(prefix, key, "again", again)
    return made


def _epoch(instant: Instant) -> int:
    return int(instant.timestamp()) if isinstance(instant, datetime) else int(instant)
