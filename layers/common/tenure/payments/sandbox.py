"""The sandbox payment provider: a deterministic, Stripe-shaped stand-in for Stripe.

It honours Stripe's public test cards when they are charged, hands out Stripe-shaped
objects (`cus_…`, `pi_…`, `ch_…`, `re_…`) and records the events Stripe would send
(`evt_…`, signed with `sign`), so the webhook handler can be fed exactly what Stripe sends.
Everything is derived from idempotency keys and content, and time comes from an injected
clock: two sandboxes given the same calls produce the same ids, objects and events.

One documented divergence from Stripe: every test card attaches to a customer (Stripe
refuses some at attach time); its behaviour applies when it is charged, so a scenario can
switch a customer to a failing card.

Its parts: the test cards (sandbox_cards), a payment as held, packed and charged
(sandbox_payments), idempotency keys (sandbox_keys) and injected faults (sandbox_faults).
"""

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments import stripe_objects
from tenure.payments.gateway import (
    CardDetails,
    InvalidRequestError,
    PaymentAuthentication,
    PaymentResult,
    ProviderUnavailableError,
    StoredServerError,
)
from tenure.payments.sandbox_cards import (
    ASYNC_DECLINE_CODE,
    ASYNC_LAST4,
    ASYNC_METHODS,
    CARD_EXPIRY,
    TEST_CARDS,
    TestCard,
    behaviour,
    card_details,
    payment_method_for,
)
from tenure.payments.sandbox_faults import FaultKind, FaultOn, Faults
from tenure.payments.sandbox_keys import KEY_KEPT_SECONDS, SavedAnswers, StoredError
from tenure.payments.sandbox_payments import (
    Instant,
    Packed,
    Payment,
    PaymentPacker,
    details_of,
    epoch,
    fail,
    fresh_id,
    listed,
    method_object,
    refund_value,
    succeed,
)
from tenure.payments.stripe_objects import sign, signed_delivery

__all__ = [
    "ASYNC_METHODS",
    "KEY_KEPT_SECONDS",
    "SETTLE_AFTER_SECONDS",
    "TEST_CARDS",
    "FaultKind",
    "FaultOn",
    "Instant",
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


class UnknownPaymentMethodError(ValueError):
    pass


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
        # A payment is a Payment while it may change, and Packed once `pack_finished` has
        # put it away; a read unpacks it again. Both keep their place in this dict's order.
        self._payments: dict[str, Payment | Packed] = {}
        self._unpacked: set[str] = set()  # the ids held as Payment, for `pack_finished`
        self._packer = PaymentPacker()
        # The payments still settling, so a settlement pass need not look through them all.
        self._unsettled: dict[str, Payment] = {}
        self._customers: dict[str, stripe_objects.StripeObject] = {}
        self._refunds: dict[str, stripe_objects.StripeObject] = {}
        self._keys = SavedAnswers()
        self._faults = Faults()
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
        self._faults.add(kind, times, on)

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
            cus_id = fresh_id("cus", idempotency_key, self._customers)
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
        fault = self._faults.before("erase")
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
        fault = self._faults.before("phone")
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
            return details_of(method)

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
        fault = self._faults.before("create")

        def create() -> str:
            metadata = stripe_objects.payment_metadata(
                invoice_id, attempt, subscription_id, tenure_customer_id
            )
            self._new_payment(
                payment_id, amount, customer_id, payment_method, metadata, idempotency_key
            )
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
        self._faults.after(fault, "create", created)
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
        fault = self._faults.before("pay")

        def pay() -> PaymentResult | StoredError:
            metadata = stripe_objects.payment_metadata(
                invoice_id, attempt, subscription_id, tenure_customer_id
            )
            payment = self._new_payment(
                payment_id, amount, customer_id, payment_method, metadata, idempotency_key
            )
            result = self._confirm(payment, idempotency_key)
            if fault == "server_error":
                return StoredError(f"sandbox: pay under {idempotency_key} failed with a 500")
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
        if isinstance(answer, StoredError):
            raise StoredServerError(answer.message, code="api_error")
        self._faults.after(fault, "pay", payment_id)
        return answer

    def _new_payment(
        self,
        payment_id: str,
        amount: Money,
        customer_id: str,
        payment_method: str,
        metadata: dict[str, str],
        key: str,
    ) -> Payment:
        """A payment intent made (not yet confirmed) and its `created` event recorded."""
        intent = stripe_objects.payment_intent(
            id=payment_id,
            amount=stripe_objects.stripe_amount(amount),
            currency=amount.currency,
            customer=customer_id,  # Tenure's id until the services map it to a cus_ id
            payment_method=payment_method,
            payment_method_type="sepa_debit" if payment_method in ASYNC_LAST4 else "card",
            metadata=metadata,
            created=self._now(),
        )
        payment = self._payments[payment_id] = Payment(intent)
        self._unpacked.add(payment_id)
        self._emit("payment_intent.created", intent, key)
        return payment

    def find_payment(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        attempt: int,
        created_from: datetime,
        created_until: datetime,
    ) -> PaymentResult | None:
        fault = self._faults.before("find")
        if fault is not None:  # a read changes nothing: a timeout is only a lost answer
            raise ProviderUnavailableError("sandbox: list of payments timed out", code="timeout")
        low, high = epoch(created_from), epoch(created_until)
        self.lists += 1
        self.requests["find_payment"] += 1
        for payment_id, held in self._payments.items():
            if listed(held, customer_id, (low, high), invoice_id, str(attempt)):
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
        fault = self._faults.before("confirm")
        payment = self._payment(payment_id)
        params = ("payment_intents.confirm", payment_id)
        result = self._idempotent(
            idempotency_key, params, lambda: self._confirm(payment, idempotency_key)
        )
        self._faults.after(fault, "confirm", payment_id)
        return result

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        self._count(payment_id, "retrieve_payment")
        fault = self._faults.before("retrieve")
        payment = self._payment(payment_id)
        # The provider settles on its own time, whether or not anyone asks.
        if payment.settles_at is not None and payment.settles_at <= self._now():
            self._settle(payment)
        self._faults.after(fault, "retrieve", payment_id)
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
        at = self._now() if now is None else epoch(now)
        due = [
            p for p in self._unsettled.values() if p.settles_at is not None and p.settles_at <= at
        ]
        due.sort(key=lambda p: (p.settles_at or 0, p.intent["id"]))
        for payment in due:
            self._settle(payment)
        return [stripe_objects.payment_result(p.intent) for p in due]

    def refund(self, *, payment_id: str, amount: Money | None, idempotency_key: str) -> str:
        self._count(payment_id, "refund")
        fault = self._faults.before("refund")
        payment = self._payment(payment_id)
        params = ("refunds.create", payment_id, amount)
        made = self._idempotent(
            idempotency_key, params, lambda: self._refund(payment, amount, idempotency_key)
        )
        self._faults.after(fault, "refund", payment_id)  # a timeout: refunded, the answer lost
        return made

    # -- Stripe-side objects (for the webhook work and tests) ----------------------------------
    def payment_intent(self, payment_id: str) -> stripe_objects.StripeObject:
        return self._payment(payment_id).intent

    def charge_for(self, payment_id: str) -> stripe_objects.StripeObject | None:
        return self._payment(payment_id).charge

    # -- internals ----------------------------------------------------------------------------
    def _now(self) -> int:
        return 0 if self._clock is None else epoch(self._clock())

    def _count(self, payment_id: str, operation: str) -> None:
        self.calls[payment_id] = self.calls.get(payment_id, 0) + 1
        self.requests[operation] += 1
        self.payment_requests[(payment_id, operation)] += 1

    def _payment(self, payment_id: str) -> Payment:
        held = self._payments.get(payment_id)
        if held is None:
            raise InvalidRequestError(
                f"No such payment_intent: '{payment_id}'", code="resource_missing", param="intent"
            )
        if isinstance(held, Packed):
            held = self._payments[payment_id] = self._packer.unpack(held, self._event_counts)
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
            if isinstance(payment, Payment) and payment.settles_at is None:
                self._payments[payment_id] = self._packer.pack(payment, self._event_counts)
                packed += 1
        self._unpacked = {i for i in self._unpacked if isinstance(self._payments[i], Payment)}
        return packed

    def _idempotent[T](self, key: str, params: tuple[object, ...], perform: Callable[[], T]) -> T:
        # Like Stripe (tenure.payments.sandbox_keys): the first response is saved and replayed.
        self._keys.forget_old(self._now)
        return self._keys.answer(key, params, perform, self._now)

    def _payment_id(self, key: str) -> str:
        """The payment a request under `key` is about: the one its saved answer made, else a
        new one's (the first under this key, or another after the key was forgotten)."""
        self._keys.forget_old(self._now)
        ids = [stripe_objects.object_id("pi", key)]
        while ids[-1] in self._payments:
            ids.append(stripe_objects.object_id("pi", key, "again", len(ids)))
        return ids[-2] if key in self._keys and len(ids) > 1 else ids[-1]

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
        return method_object(payment_method, customer, self._now(), strict=strict, expiry=expiry)

    def _confirm(self, payment: Payment, key: str) -> PaymentResult:
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
            succeed(payment, method, charge_id, now, key, self._emit)
        else:
            fail(payment, method, charge_id, decline_code or "card_declined", now, key, self._emit)
        return stripe_objects.payment_result(intent)

    def _confirm_present(self, payment: Payment, key: str) -> PaymentResult:
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
        succeed(payment, method, charge_id, now, key, self._emit)
        return stripe_objects.payment_result(intent)

    def _settle(self, payment: Payment) -> None:
        at = payment.settles_at
        assert at is not None
        payment.settles_at = None
        self._unsettled.pop(str(payment.intent["id"]), None)
        intent = payment.intent
        method = self._method_object(str(intent["payment_method"]), intent["customer"])
        charge_id = str(intent["latest_charge"])
        if intent["payment_method"] == ASYNC_METHODS["sandbox_async_succeeds"]:
            succeed(payment, method, charge_id, at, None, self._emit)
        else:
            fail(payment, method, charge_id, ASYNC_DECLINE_CODE, at, None, self._emit)

    def _refund(self, payment: Payment, amount: Money | None, key: str) -> str:
        value = refund_value(payment, amount)
        charge = payment.charge
        assert charge is not None  # refund_value refuses a payment without one
        refund_id = fresh_id("re", key, self._refunds)
        now = self._now()
        refund = stripe_objects.refund(id=refund_id, charge=charge, amount=value, created=now)
        self._refunds[refund_id] = refund
        charge["amount_refunded"] = int(charge["amount_refunded"]) + value
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].append(refund)
        self._emit("refund.created", refund, key, now)
        self._emit("charge.refunded", charge, key, now)
        return refund_id
