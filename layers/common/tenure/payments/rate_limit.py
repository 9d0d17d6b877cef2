"""Pacing of payment-provider calls: a token bucket per Lambda container, and a gateway that
takes a token before every call it forwards.

Why per container, and how the deployment's budget is split (docs/payments.md, "Provider
rate limit"): the renewals charger runs at most `max_concurrency` invocations at once (the
SQS event source's MaximumConcurrency) and each invocation works its batch one message at a
time, so at most that many buckets drain at the same moment. Giving each container
`budget / max_concurrency` tokens per second keeps the sum under the budget without any
shared state (no DynamoDB counter on the money path, no extra request per call).

The bucket holds ONE token by default. Buckets cannot see each other, and a warm container
that sat idle between batches would otherwise start every batch with a full bucket: with
a capacity of one, the fleet can run ahead of the budget by at most one call per busy
container.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, Protocol

from tenure.domain.money import Money
from tenure.payments.gateway import (
    CardDetails,
    PaymentAuthentication,
    PaymentGateway,
    PaymentResult,
)


class Throttle(Protocol):
    """Something that holds a provider call back until it may be sent."""

    def acquire(self) -> float:
        """Block until one call may go; returns the seconds waited."""
        ...


def per_container_rate(budget_per_s: float, max_concurrency: int) -> float:
    """Calls per second for one container, so that `max_concurrency` busy containers stay
    within `budget_per_s` together."""
    if budget_per_s <= 0:
        raise ValueError("the provider rate limit must be positive")
    if max_concurrency < 1:
        raise ValueError("the maximum concurrency must be at least 1")
    return budget_per_s / max_concurrency


class TokenBucket:
    """`rate` tokens per second, at most `capacity` kept. Each call takes one token; a call
    that finds none reserves the next one and waits for it, so callers are served in the
    order they asked and waiting is computed from the clock, never polled.

    `clock` (monotonic seconds) and `sleep` are injected: tests run on simulated time.
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if capacity < 1:
            raise ValueError("capacity must hold at least one token")  # else nothing ever goes
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()
        self.waited_s = 0.0  # total wait handed out, for logs and benchmarks

    def reserve(self) -> float:
        """Take a token, borrowing it from the future when none is left; returns the seconds
        the caller must wait before sending (0 when a token was there)."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.waited_s += wait
            return wait

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            # Outside the lock: the token is already ours, other callers reserve behind it.
            self._sleep(wait)
        return wait


class RateLimitedGateway:
    """A PaymentGateway that takes a token from `throttle` before each call it forwards.

    Calls, results and errors pass through unchanged. Public methods beyond the port that
    the adapter's class offers (the sandbox's `confirm_on_session`, and its test controls)
    are forwarded too, each behind a token, so capability checks against runtime-checkable
    protocols see what the adapter can do. Plain attributes are not forwarded.

    For adapters whose port call is exactly one provider request (the sandbox). The Stripe
    adapter takes its throttle itself, before every HTTP attempt, because one port call
    can be several requests there (retries, the read after a confirm met an unexpected
    state).
    """

    def __init__(self, inner: PaymentGateway, throttle: Throttle) -> None:
        self._inner = inner
        self._throttle = throttle
        self.name = inner.name
        # Set on the instance, not served by __getattr__: runtime-checkable protocols look
        # attributes up statically (inspect.getattr_static) and would miss dynamic ones.
        for attribute in dir(type(inner)):
            if attribute.startswith("_") or hasattr(RateLimitedGateway, attribute):
                continue
            method = getattr(inner, attribute)
            if callable(method):
                setattr(self, attribute, self._paced(method))

    @property
    def inner(self) -> PaymentGateway:
        return self._inner

    @property
    def throttle(self) -> Throttle:
        return self._throttle

    def create_customer(
        self,
        *,
        customer_id: str,
        email: str,
        name: str | None,
        idempotency_key: str,
        contact: str | None = None,
    ) -> str:
        self._throttle.acquire()
        # The contact is passed on only when given: an inner gateway may predate it.
        extra = {"contact": contact} if contact else {}
        return self._inner.create_customer(
            customer_id=customer_id,
            email=email,
            name=name,
            idempotency_key=idempotency_key,
            **extra,
        )

    def attach_payment_method(
        self, *, provider_customer_id: str, payment_method: str, idempotency_key: str
    ) -> CardDetails:
        self._throttle.acquire()
        return self._inner.attach_payment_method(
            provider_customer_id=provider_customer_id,
            payment_method=payment_method,
            idempotency_key=idempotency_key,
        )

    def erase_customer(
        self, *, provider_customer_id: str, email: str, name: str, idempotency_key: str
    ) -> str:
        self._throttle.acquire()
        return self._inner.erase_customer(
            provider_customer_id=provider_customer_id,
            email=email,
            name=name,
            idempotency_key=idempotency_key,
        )

    def update_phone(
        self, *, provider_customer_id: str, phone: str | None, idempotency_key: str
    ) -> str:
        self._throttle.acquire()
        return self._inner.update_phone(
            provider_customer_id=provider_customer_id, phone=phone, idempotency_key=idempotency_key
        )

    def create_setup_intent(self, *, provider_customer_id: str, idempotency_key: str) -> str:
        self._throttle.acquire()
        return self._inner.create_setup_intent(
            provider_customer_id=provider_customer_id, idempotency_key=idempotency_key
        )

    def payment_authentication(self, payment_id: str) -> PaymentAuthentication:
        self._throttle.acquire()
        return self._inner.payment_authentication(payment_id)

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
        self._throttle.acquire()
        return self._inner.create_payment(
            amount=amount,
            customer_id=customer_id,
            payment_method=payment_method,
            invoice_id=invoice_id,
            attempt=attempt,
            idempotency_key=idempotency_key,
            subscription_id=subscription_id,
            tenure_customer_id=tenure_customer_id,
        )

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
        self._throttle.acquire()
        return self._inner.create_and_confirm_payment(
            amount=amount,
            customer_id=customer_id,
            payment_method=payment_method,
            invoice_id=invoice_id,
            attempt=attempt,
            idempotency_key=idempotency_key,
            subscription_id=subscription_id,
            tenure_customer_id=tenure_customer_id,
        )

    def find_payment(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        attempt: int,
        created_from: datetime,
        created_until: datetime,
    ) -> PaymentResult | None:
        self._throttle.acquire()
        return self._inner.find_payment(
            customer_id=customer_id,
            invoice_id=invoice_id,
            attempt=attempt,
            created_from=created_from,
            created_until=created_until,
        )

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        self._throttle.acquire()
        return self._inner.confirm_payment(payment_id, idempotency_key=idempotency_key)

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        self._throttle.acquire()
        return self._inner.retrieve_payment(payment_id)

    def refund(self, *, payment_id: str, amount: Money | None, idempotency_key: str) -> str:
        self._throttle.acquire()
        return self._inner.refund(
            payment_id=payment_id, amount=amount, idempotency_key=idempotency_key
        )

    def _paced(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def paced(*args: Any, **kwargs: Any) -> Any:
            self._throttle.acquire()
            return method(*args, **kwargs)

        return paced
