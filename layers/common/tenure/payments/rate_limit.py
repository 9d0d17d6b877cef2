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
from functools import wraps
from typing import Any, Concatenate, Protocol, overload

from tenure.payments.gateway import PaymentGateway


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


def _paced_call[**P, R](throttle: Throttle, method: Callable[P, R]) -> Callable[P, R]:
    """`method`, taking a token from `throttle` before each call."""

    @wraps(method)
    def paced(*args: P.args, **kwargs: P.kwargs) -> R:
        throttle.acquire()
        return method(*args, **kwargs)

    return paced


class _Paced[**P, R]:
    """A port method of RateLimitedGateway, forwarded to the inner gateway's behind a token.

    Typed by the port's own method (`PaymentGateway.x`), so that the wrapper is checked
    against the port as if each method were spelt out; a class attribute, so that
    runtime-checkable protocols find it statically."""

    def __init__(self, port_method: Callable[Concatenate[Any, P], R]) -> None:
        # Only its name is kept: the call goes to the inner gateway's method of that name.
        self._name = port_method.__name__

    @overload
    def __get__(self, wrapper: None, owner: type) -> "_Paced[P, R]": ...
    @overload
    def __get__(
        self, wrapper: "RateLimitedGateway", owner: type | None = None
    ) -> Callable[P, R]: ...
    def __get__(
        self, wrapper: "RateLimitedGateway | None", owner: type | None = None
    ) -> "Callable[P, R] | _Paced[P, R]":
        if wrapper is None:  # looked up on the class
            return self
        method: Callable[P, R] = getattr(wrapper.inner, self._name)
        paced = _paced_call(wrapper.throttle, method)
        vars(wrapper)[self._name] = paced  # made once: later lookups find it on the instance
        return paced


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
                setattr(self, attribute, _paced_call(throttle, method))

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

    # The rest of the port: each a token, then the call as it came (arguments, answer and
    # errors unchanged).
    attach_payment_method = _Paced(PaymentGateway.attach_payment_method)
    erase_customer = _Paced(PaymentGateway.erase_customer)
    update_phone = _Paced(PaymentGateway.update_phone)
    create_setup_intent = _Paced(PaymentGateway.create_setup_intent)
    payment_authentication = _Paced(PaymentGateway.payment_authentication)
    create_payment = _Paced(PaymentGateway.create_payment)
    create_and_confirm_payment = _Paced(PaymentGateway.create_and_confirm_payment)
    find_payment = _Paced(PaymentGateway.find_payment)
    confirm_payment = _Paced(PaymentGateway.confirm_payment)
    retrieve_payment = _Paced(PaymentGateway.retrieve_payment)
    refund = _Paced(PaymentGateway.refund)
