"""Provider pacing: the token bucket on simulated time, the gateway wrapper that takes a token
per call, and the composition root's split of the deployment's budget among containers."""

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure import bootstrap
from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments import stripe_gateway
from tenure.payments.gateway import (
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentGateway,
    ProviderUnavailableError,
    RateLimitedError,
)
from tenure.payments.rate_limit import RateLimitedGateway, TokenBucket, per_container_rate
from tenure.payments.sandbox import SandboxGateway
from tenure.services.self_service import ConfirmsOnSession
from tenure.settings import Settings

PORT_METHODS = sorted(
    name
    for name, member in vars(PaymentGateway).items()
    if inspect.isfunction(member) and not name.startswith("_")
)


class SimulatedTime:
    """A monotonic clock whose sleep moves time forward instantly, recording each wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def a_bucket(rate: float, capacity: float = 1.0) -> tuple[TokenBucket, SimulatedTime]:
    time = SimulatedTime()
    return TokenBucket(rate, capacity, clock=time.clock, sleep=time.sleep), time


def never_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s for real")


class CountingThrottle:
    def __init__(self, log: list[str] | None = None) -> None:
        self.taken = 0
        self.log = log if log is not None else []

    def acquire(self) -> float:
        self.taken += 1
        self.log.append("token")
        return 0.0


class RecordingGateway:
    """Answers every method with a sentinel, or raises `error`, recording what it was sent."""

    name = "recording"

    def __init__(self, log: list[str], error: Exception | None = None) -> None:
        self.log = log
        self.error = error
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.log.append(method)
            self.calls.append((method, args, kwargs))
            if self.error is not None:
                raise self.error
            return ("answer of", method)

        return call


def arguments_for(method: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One distinct object per parameter of the port's method, positional or keyword as the
    port declares it."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(getattr(PaymentGateway, method)).parameters.values():
        if param.name == "self":
            continue
        value = object()
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    return tuple(args), kwargs


@pytest.fixture(autouse=True)
def fresh_bootstrap() -> Iterator[None]:
    bootstrap.use(None)
    yield
    bootstrap.use(None)


# -- the bucket -------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=200),
    capacity=st.integers(min_value=1, max_value=5),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=120),
)
def test_no_window_of_simulated_time_lets_more_than_rate_times_t_plus_capacity_calls_through(
    rate: float, capacity: int, gaps: list[float]
) -> None:
    # Given callers arriving at arbitrary gaps, each waiting for its token
    bucket, time = a_bucket(rate, capacity)
    sent: list[float] = []
    for gap in gaps:
        time.advance(gap)
        bucket.acquire()
        sent.append(time.now)
    # Then in every window [first, last] the calls sent number at most rate * t + capacity
    for i, start in enumerate(sent):
        for j in range(i, len(sent)):
            assert j - i + 1 <= rate * (sent[j] - start) + capacity + 1e-6


def test_a_burst_of_calls_is_spaced_one_token_apart_by_computed_waits() -> None:
    # Given a bucket of 16 calls/s holding one token, on simulated time
    bucket, time = a_bucket(16)
    # When 5 calls come at once
    waits = [bucket.acquire() for _ in range(5)]
    # Then the first goes at once and each next one waits exactly 1/16 s more, never polling
    assert waits == pytest.approx([0, 1 / 16, 1 / 16, 1 / 16, 1 / 16])
    assert time.sleeps == pytest.approx([1 / 16] * 4)
    assert time.now == pytest.approx(1000 + 4 / 16)
    assert bucket.waited_s == pytest.approx(4 / 16)


def test_callers_reserving_at_the_same_instant_wait_in_turn() -> None:
    bucket = TokenBucket(10, clock=lambda: 50.0, sleep=never_sleep)
    assert [bucket.reserve() for _ in range(4)] == pytest.approx([0, 0.1, 0.2, 0.3])


def test_a_bucket_with_tokens_does_not_sleep() -> None:
    time = SimulatedTime()
    bucket = TokenBucket(2, capacity=3, clock=time.clock, sleep=never_sleep)
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0]


def test_idle_time_refills_the_bucket_only_up_to_its_capacity() -> None:
    # Given a bucket of 3 tokens, emptied
    bucket, time = a_bucket(rate=1, capacity=3)
    for _ in range(3):
        bucket.acquire()
    # When it sits idle ten times longer than it takes to refill
    time.advance(30)
    # Then three calls go at once, and the fourth waits a full second
    assert [bucket.acquire() for _ in range(4)] == pytest.approx([0, 0, 0, 1])


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    now = [10.0]
    bucket = TokenBucket(1, clock=lambda: now[0], sleep=never_sleep)
    assert bucket.reserve() == 0
    now[0] = 5.0
    assert bucket.reserve() == pytest.approx(1)


@pytest.mark.parametrize(("rate", "capacity"), [(0, 1), (-1, 1), (5, 0.5)])
def test_a_bucket_that_could_never_let_a_call_through_is_refused(
    rate: float, capacity: float
) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, capacity)


def test_the_budget_is_split_evenly_so_every_busy_container_together_stays_within_it() -> None:
    assert per_container_rate(80, 5) == 16
    assert per_container_rate(100, 3) * 3 == pytest.approx(100)
    with pytest.raises(ValueError):
        per_container_rate(80, 0)
    with pytest.raises(ValueError):
        per_container_rate(0, 5)


# -- the wrapper ------------------------------------------------------------------------------
def test_the_port_has_the_methods_the_wrapper_spells_out() -> None:
    assert PORT_METHODS == [
        "attach_payment_method",
        "confirm_payment",
        "create_and_confirm_payment",
        "create_customer",
        "create_payment",
        "create_setup_intent",
        "erase_customer",
        "find_payment",
        "payment_authentication",
        "refund",
        "retrieve_payment",
        "update_phone",
    ]
    for method in PORT_METHODS:
        assert method in vars(RateLimitedGateway), method


@pytest.mark.parametrize("method", PORT_METHODS)
def test_every_port_method_takes_a_token_then_forwards_its_arguments_and_answer(
    method: str,
) -> None:
    # Given a wrapped gateway
    log: list[str] = []
    inner = RecordingGateway(log)
    throttle = CountingThrottle(log)
    gateway = RateLimitedGateway(inner, throttle)
    args, kwargs = arguments_for(method)
    # When the method is called
    answer = getattr(gateway, method)(*args, **kwargs)
    # Then one token was taken before the call, which got the same arguments and answered
    assert log == ["token", method]
    assert inner.calls == [(method, args, kwargs)]
    assert answer == ("answer of", method)


@pytest.mark.parametrize("method", PORT_METHODS)
@pytest.mark.parametrize(
    "error",
    [
        RateLimitedError("429 through all retries", code="rate_limit"),
        ProviderUnavailableError("timed out"),
        InvalidRequestError("no such payment", code="resource_missing", param="id"),
        IdempotencyConflictError("key reused"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_port_method_raises_the_adapters_error_unchanged(
    method: str, error: Exception
) -> None:
    throttle = CountingThrottle()
    gateway = RateLimitedGateway(RecordingGateway([], error), throttle)
    args, kwargs = arguments_for(method)
    with pytest.raises(type(error)) as raised:
        getattr(gateway, method)(*args, **kwargs)
    assert raised.value is error
    assert throttle.taken == 1  # a refused request still counted against the provider's limit


def test_the_wrapper_keeps_the_adapters_name() -> None:
    gateway = RateLimitedGateway(SandboxGateway(), CountingThrottle())
    assert gateway.name == "sandbox"


def test_what_the_sandbox_offers_beyond_the_port_stays_visible_and_paced() -> None:
    # Given the sandbox, which confirms on-session payments on the server, behind the wrapper
    throttle = CountingThrottle()
    gateway = RateLimitedGateway(SandboxGateway(), throttle)
    # Then capability checks still see it, and its calls take tokens too
    assert isinstance(gateway, ConfirmsOnSession)
    payment = gateway.create_payment(
        amount=Money(1000, "USD"),
        customer_id="alice",
        payment_method="pm_card_authenticationRequired",
        invoice_id="inv_1",
        attempt=1,
        idempotency_key="charge:inv_1:1:create",
    )
    first = gateway.confirm_payment(payment, idempotency_key="charge:inv_1:1:confirm")
    assert first.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED
    present = gateway.confirm_on_session(payment, idempotency_key="charge:inv_1:1:on_session")
    assert present.outcome is ChargeOutcome.SUCCEEDED
    assert throttle.taken == 3


def test_an_adapter_without_on_session_confirms_does_not_gain_them_by_being_wrapped() -> None:
    # Stripe's payments are confirmed by Stripe.js in the browser, never on the server
    stripe = stripe_gateway.StripeGateway("sk_test_never_sent")
    gateway = RateLimitedGateway(stripe, CountingThrottle())
    assert not isinstance(gateway, ConfirmsOnSession)
    with pytest.raises(AttributeError):
        gateway._client  # noqa: B018 - private names are never forwarded


def test_a_wrapped_sandbox_charges_a_renewal_day_at_the_bucket_rate() -> None:
    # Given the sandbox behind a bucket of 4 calls/s on simulated time
    bucket, time = a_bucket(4)
    gateway = RateLimitedGateway(SandboxGateway(), bucket)
    # When 10 renewals are charged (create + confirm each)
    for n in range(10):
        payment = gateway.create_payment(
            amount=Money(1000, "USD"),
            customer_id=f"c{n}",
            payment_method="pm_card_visa",
            invoice_id=f"inv_{n}",
            attempt=1,
            idempotency_key=f"charge:inv_{n}:1:create",
        )
        result = gateway.confirm_payment(payment, idempotency_key=f"charge:inv_{n}:1:confirm")
        assert result.outcome is ChargeOutcome.SUCCEEDED
    # Then 20 calls took 19 quarter-seconds of computed waiting, and no real time
    assert time.now - 1000 == pytest.approx(19 / 4)
    assert len(time.sleeps) == 19


# -- the composition root ---------------------------------------------------------------------
def test_settings_default_to_50_requests_per_second_over_20_charger_containers() -> None:
    settings = Settings()
    assert settings.provider_rate_limit == 50
    assert settings.charger_max_concurrency == 20


def test_settings_read_the_rate_limit_and_concurrency_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVIDER_RATE_LIMIT", "20")
    monkeypatch.setenv("CHARGER_MAX_CONCURRENCY", "4")
    settings = Settings()
    assert (settings.provider_rate_limit, settings.charger_max_concurrency) == (20, 4)
    assert bootstrap.provider_throttle(settings).rate == 5


def test_bootstrap_paces_the_sandbox_with_the_budget_divided_by_the_charger_concurrency() -> None:
    settings = Settings(
        PAYMENT_PROVIDER="sandbox", PROVIDER_RATE_LIMIT=80, CHARGER_MAX_CONCURRENCY=5
    )
    gateway = bootstrap.provider_gateway(settings)
    assert isinstance(gateway, RateLimitedGateway)
    assert isinstance(gateway.inner, SandboxGateway)
    assert isinstance(gateway.throttle, TokenBucket)
    assert gateway.throttle.rate == 16
    assert gateway.throttle.capacity == 1


def test_bootstrap_hands_stripe_the_same_divided_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    def fake_stripe(api_key: str, **options: Any) -> str:
        built.append({"api_key": api_key, **options})
        return "stripe gateway"

    monkeypatch.setattr(stripe_gateway, "StripeGateway", fake_stripe)
    settings = Settings(
        PAYMENT_PROVIDER="stripe",
        TENURE_PROVIDER_API_KEY="sk_test_x",
        PROVIDER_RATE_LIMIT=20,
        CHARGER_MAX_CONCURRENCY=10,
    )
    assert bootstrap.provider_gateway(settings) == "stripe gateway"
    (options,) = built
    assert isinstance(options["throttle"], TokenBucket)
    assert options["throttle"].rate == 2


def test_every_charge_in_one_container_goes_through_one_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAYMENT_PROVIDER", "sandbox")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    first, second = bootstrap.wiring(), bootstrap.wiring()
    assert first is second
    gateway = first.services.gateway
    assert isinstance(gateway, RateLimitedGateway)
    assert gateway is second.services.gateway


def test_the_services_every_function_builds_get_the_paced_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAYMENT_PROVIDER", "sandbox")
    monkeypatch.setenv("PROVIDER_RATE_LIMIT", "30")
    monkeypatch.setenv("CHARGER_MAX_CONCURRENCY", "3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    svc = bootstrap.build(store=object()).services  # type: ignore[arg-type]
    assert isinstance(svc.gateway, RateLimitedGateway)
    assert isinstance(svc.gateway.throttle, TokenBucket)
    assert svc.gateway.throttle.rate == 10
