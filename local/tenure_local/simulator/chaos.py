"""Chaos replay: faults injected at seeded points while `tenure simulate` runs a scenario.

`tenure simulate SCENARIO --chaos crashes,throttling,timeouts,webhooks --seed N` (any subset)
replays the scenario through the same handlers as a calm run, with faults injected only at
the edges the simulator wires, never inside Tenure's services or store:

- crashes: the function's process dies right after a step took effect: a DynamoDB write that
  succeeded, the scheduler's batch of messages queued, an email handed to SES. What Lambda
  does next is the simulator's job: SQS redelivers the charger's batch after its visibility
  timeout, the schedule runs the scheduler, the reminders and the metrics again, the
  provider delivers the webhook again;
- throttling: DynamoDB throttling (some absorbed by botocore's own retries, some outlasting
  them and surfacing to the code), transactions cancelled by a TransactionConflict, SES
  throttling (absorbed by the mailer's retries, or deferring the email);
- timeouts: provider calls that time out before or after taking effect (the outcome is
  unknown to Tenure), and 429s (nothing happened);
- webhooks: the courier's late, duplicated and reordered deliveries (`--webhook-chaos`).

Only the scheduled and event-driven functions are faulted (renewals, webhooks, reminders,
metrics); the scenario's own API calls are the business's application, not under test here.
Nothing is injected in the last `QUIET` of the scenario, so that every recovery (a lease that
expires, an email deferred to the customer's morning) is over by `until`, as in a calm run.

Each decision is a pure function of the seed and of what is being done (the operation, its
parameters, and how many times that exact call was made before), so one seed replays the
same faults whatever the order in which parallel reads are made.
"""

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.endpoint
from botocore.awsrequest import AWSResponse, HTTPHeaders

from tenure.domain.timeutil import iso
from tenure.payments.gateway import PaymentResult, ProviderUnavailableError, RateLimitedError

KINDS = ("crashes", "throttling", "timeouts", "webhooks")
# The functions faults are injected into (the API is the scenario's client, left alone).
FAULTED = ("renewals-scheduler", "renewals-charger", "webhooks", "reminders", "metrics")
QUIET = timedelta(days=1)  # no fault this close to `until`: every recovery ends before it
WRITES = ("TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
THROTTLE_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")


_NO_TIME = datetime.min.replace(tzinfo=UTC)


class ChaosOptionError(ValueError):
    """`--chaos` named something that is not a kind of fault."""


class SimulatedCrash(BaseException):
    """The function's process died here (timed out, ran out of memory, was recycled).

    A BaseException: no handler's `except Exception` may catch it, as none could catch the
    death of its own process. Only the simulator, standing for Lambda, sees it."""


def parse_kinds(text: str) -> frozenset[str]:
    """`crashes,throttling` -> the kinds named; `all` names every kind."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return frozenset(KINDS)
    unknown = [name for name in names if name not in KINDS]
    if unknown or not names:
        raise ChaosOptionError(
            f"unknown chaos kind(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"give any of {', '.join(KINDS)} (comma-separated), or all"
        )
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Rates:
    """The chance, per call in a faulted function, that a fault is injected there."""

    crash_after_write: float = 0.02
    crash_after_queueing: float = 0.05
    crash_after_email: float = 0.03
    dynamodb_throttle: float = 0.005
    transaction_conflict: float = 0.01
    ses_throttle: float = 0.04
    provider_fault: float = 0.04


@dataclass(frozen=True, slots=True)
class Injection:
    at: str  # the simulated moment
    function: str
    kind: str  # crashes | throttling | timeouts
    fault: str  # crash, throttled_absorbed, throttled_surfaced, conflict, timeout_before, ...
    step: str  # what was being done: "renewals-charger after TransactWriteItems charge+invoice"


@dataclass
class Chaos:
    """The faults of one seeded run, and the record of what was injected."""

    kinds: frozenset[str]
    seed: int
    clock: Callable[[], datetime] = field(default=lambda: _NO_TIME)  # the simulator's
    quiet_from: datetime | None = None  # no fault at or after this moment
    rates: Rates = field(default_factory=Rates)
    injected: list[Injection] = field(default_factory=list)
    function: str | None = None  # the function running now
    armed: bool = True
    _seen: Counter[tuple[str, ...]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ses_burst: int = 0  # SES calls still to throttle (one email's consecutive attempts)
    _ses_retry_of: str | None = None  # the address whose next attempt is a retry, spared

    # -- deciding --------------------------------------------------------------------------
    @property
    def webhooks(self) -> bool:
        return "webhooks" in self.kinds

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        """Faults apply while `function` runs (the simulator invokes one at a time)."""
        before, self.function = self.function, function
        try:
            yield
        finally:
            self.function = before

    def active(self, kind: str) -> bool:
        if kind not in self.kinds or not self.armed or self.function not in FAULTED:
            return False
        return self.quiet_from is None or self.clock() < self.quiet_from

    def draw(self, *identity: str) -> float:
        """A number in [0, 1) fixed by the seed, this call's identity and how many times the
        same identity was drawn before (a call made again gets a fresh draw)."""
        with self._lock:
            self._seen[identity] += 1
            n = self._seen[identity]
        text = json.dumps([self.seed, n, *identity])
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def record(self, kind: str, fault: str, step: str) -> None:
        at = iso(self.clock()) or ""
        with self._lock:
            self.injected.append(Injection(at, self.function or "?", kind, fault, step))

    # -- DynamoDB: throttling, conflicts, and the process dying after a write --------------
    def attach_dynamodb(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-call.dynamodb", self._dynamodb_before_call)
        events.register("before-send.dynamodb", self._dynamodb_before_send)
        events.register("after-call.dynamodb", self._dynamodb_after_call)
        return client

    def _dynamodb_before_call(
        self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        operation = model.name
        body = params.get("body") or b""
        identity = hashlib.blake2b(
            body if isinstance(body, bytes) else str(body).encode(), digest_size=12
        ).hexdigest()
        context["chaos_identity"] = identity
        context["chaos_step"] = f"{operation} {_entities(operation, body)}".strip()
        if self.active("throttling"):
            draw = self.draw("dynamodb", operation, identity)
            rate = self.rates
            step = str(context["chaos_step"])
            if operation == "TransactWriteItems" and draw < rate.transaction_conflict:
                self.record("throttling", "transaction_conflict", step)
                return _conflict_response(body, self.draw("conflict-item", identity))
            draw -= rate.transaction_conflict if operation == "TransactWriteItems" else 0.0
            if 0.0 <= draw < rate.dynamodb_throttle:
                code = THROTTLE_CODES[int(self.draw("code", identity) * len(THROTTLE_CODES))]
                if self.draw("surfaces", identity) < 0.5:
                    # Throttled through every one of the SDK's attempts: the code sees it.
                    self.record("throttling", "throttled_surfaced", step)
                    return _error_response(code, "Throughput exceeds the current capacity")
                # Throttled once or twice: botocore's retries absorb it, after a backoff.
                self.record("throttling", "throttled_absorbed", step)
                context["chaos_absorb"] = 1 + int(self.draw("burst", identity) * 2)
        return None

    def _dynamodb_before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        context = getattr(request, "context", None) or {}
        left = int(context.get("chaos_absorb", 0))
        if left <= 0:
            return None
        context["chaos_absorb"] = left - 1
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "Throughput exceeds the current capacity of your table",
            }
        ).encode()
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-RequestId"] = "chaos"
        return AWSResponse(request.url, 400, headers, _Raw(body))

    def _dynamodb_after_call(
        self, http_response: Any, model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        operation = model.name
        if operation not in WRITES or http_response.status_code >= 300:
            return
        if not self.active("crashes"):
            return
        identity = str(context.get("chaos_identity", ""))
        if self.draw("crash-after", operation, identity) < self.rates.crash_after_write:
            step = f"after {context.get('chaos_step') or operation}"
            self.record("crashes", "crash", step)
            raise SimulatedCrash(step)

    # -- SQS: the scheduler dies after queueing a batch ------------------------------------
    def attach_sqs(self, client: Any) -> Any:
        client.meta.events.register("after-call.sqs.SendMessageBatch", self._sqs_after_call)
        return client

    def _sqs_after_call(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300 or not self.active("crashes"):
            return
        ids = ",".join(sorted(str(s.get("MessageId", "")) for s in parsed.get("Successful", [])))
        count = len(parsed.get("Successful", []))
        if self.draw("crash-after-queueing", str(count), ids) < self.rates.crash_after_queueing:
            step = "after SendMessageBatch (due work queued)"
            self.record("crashes", "crash", step)
            raise SimulatedCrash(step)

    # -- SES: throttling through the mailer's retries --------------------------------------
    def attach_ses(self, client: Any) -> Any:
        client.meta.events.register("before-call.ses.SendRawEmail", self._ses_before_call)
        return client

    def _ses_before_call(
        self, params: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self.active("throttling"):
            self._ses_burst = 0
            return None
        if self._ses_burst <= 0:
            body = params.get("body") or {}
            to = str(body.get("Destinations.member.1", "")) if isinstance(body, dict) else ""
            if self._ses_retry_of == to:
                self._ses_retry_of = None  # the mailer's retry after an absorbed throttle
                return None
            if self.draw("ses", to) >= self.rates.ses_throttle:
                return None
            self._ses_retry_of = to
            # One throttle (the mailer's retry absorbs it) or one per attempt the mailer
            # makes (five: the email is deferred to a later run).
            surfaced = self.draw("ses-surfaces", to) < 0.5
            self._ses_burst = 5 if surfaced else 1
            fault = "ses_throttled_deferred" if surfaced else "ses_throttled_absorbed"
            self.record("throttling", fault, "SendRawEmail")
        self._ses_burst -= 1
        return _error_response("Throttling", "Maximum sending rate exceeded.")

    # -- the mailer: the process dies once SES took the email ------------------------------
    def mailer(self, inner: Any) -> "CrashingMailer":
        return CrashingMailer(inner, self)

    # -- the provider: timeouts whose outcome is unknown, and 429s -------------------------
    def gateway(self, inner: Any) -> "FaultyGateway":
        return FaultyGateway(inner, self)


class SimulatedBackoff:
    """The backoffs the functions wait under chaos, passed in simulated time: counted, not slept.

    The simulator stands for Lambda on the scenario's clock, where a retry's backoff delays
    nothing that the scenario can see (the clock stands still within an invocation). Slept for
    real, botocore's backoffs after injected throttles, the mailer's after SES throttling and the
    store's after a transaction conflict were a quarter of a demo seed's wall time (15 of 55 s)
    and over two minutes of a 100-customer seed's."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.seconds += max(0.0, float(seconds))
            self.count += 1

    @contextmanager
    def botocore_retries(self) -> Iterator[None]:
        """botocore sleeps between the attempts of a retried request with `time.sleep` read
        from `botocore.endpoint`'s module globals: while the simulation runs, it reads ours."""
        before = vars(botocore.endpoint)["time"]
        setattr(botocore.endpoint, "time", _TimeWithSleep(self.sleep))  # noqa: B010
        try:
            yield
        finally:
            setattr(botocore.endpoint, "time", before)  # noqa: B010


class _TimeWithSleep:
    """The `time` module, but for its `sleep`."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _Raw:
    """The body of a made-up HTTP response, as botocore reads it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._body


def _error_response(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    """What a short-circuited call returns: botocore raises it as the service's error."""
    http = AWSResponse("https://chaos.invalid/", 400, HTTPHeaders(), _Raw(b""))
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "chaos"},
    }
    return http, parsed


def _conflict_response(body: Any, draw: float) -> tuple[AWSResponse, dict[str, Any]]:
    """TransactionCanceledException, one item (chosen by `draw`) in a concurrent
    transaction: nothing of the transaction was written."""
    try:
        items = json.loads(body).get("TransactItems", [])
    except (TypeError, ValueError):
        items = []
    count = max(len(items), 1)
    chosen = int(draw * count)
    reasons = [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        if n == chosen
        else {"Code": "None"}
        for n in range(count)
    ]
    listed = ", ".join(r["Code"] for r in reasons)
    http, parsed = _error_response(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{listed}]",
    )
    parsed["CancellationReasons"] = reasons
    return http, parsed


def _entities(operation: str, body: Any) -> str:
    """What a write is about, for the report: the kinds of item it writes, e.g.
    `charge+invoice+link`. From the `entity` attribute, else the key's prefix."""
    try:
        request = json.loads(body)
    except (TypeError, ValueError):
        return ""
    if operation == "TransactWriteItems":
        parts = [next(iter(op.values())) for op in request.get("TransactItems", [])]
    else:
        parts = [request]
    names: list[str] = []
    for part in parts:
        item = part.get("Item") or part.get("Key") or {}
        entity = (item.get("entity") or {}).get("S")
        if not entity:
            key = str((item.get("PK") or {}).get("S", ""))
            entity = key.split("#", 1)[0].lower() or "item"
        if entity not in names:
            names.append(entity)
    return "+".join(sorted(names))


class CrashingMailer:
    """The mailer the reminders run uses, whose process may die once SES took an email (and
    the local outbox kept its copy), before the run records it as sent."""

    def __init__(self, inner: Any, chaos: Chaos) -> None:
        self._inner = inner
        self._chaos = chaos

    def send(self, message: Any, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        message_id = str(
            self._inner.send(message, customer_id=customer_id, kind=kind, sent_at=sent_at)
        )
        chaos = self._chaos
        identity = str(message.get("X-Tenure-Notice") or f"{customer_id}:{kind}")
        if chaos.active("crashes") and chaos.draw("crash-after-email", identity) < (
            chaos.rates.crash_after_email
        ):
            step = "after SendRawEmail, before the email is recorded as sent"
            chaos.record("crashes", "crash", step)
            raise SimulatedCrash(step)
        return message_id


class FaultyGateway:
    """The payment gateway as the faulted functions see it: a call may time out before the
    provider acted, or after (it took effect, the answer was lost), or be refused with 429.
    Everything else is the provider's own behaviour."""

    def __init__(self, inner: Any, chaos: Chaos) -> None:
        self._inner = inner
        self._chaos = chaos
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _call(self, method: str, identity: str, call: Callable[[], Any], *, writes: bool) -> Any:
        chaos = self._chaos
        if not chaos.active("timeouts") or chaos.draw(method, identity) >= (
            chaos.rates.provider_fault
        ):
            return call()
        roll = chaos.draw(f"{method}-fault", identity)
        if roll < 1 / 3:
            chaos.record("timeouts", "rate_limited", method)
            raise RateLimitedError(f"chaos: {method} refused with 429", code="rate_limit")
        if roll < 2 / 3 or not writes:
            chaos.record("timeouts", "timeout_before", method)
            raise ProviderUnavailableError(f"chaos: {method} timed out before the provider acted")
        call()  # the provider acted; the answer never came back
        chaos.record("timeouts", "timeout_after", method)
        raise ProviderUnavailableError(f"chaos: {method} timed out after the provider acted")

    def create_payment(self, **kwargs: Any) -> str:
        key = str(kwargs.get("idempotency_key", ""))
        return str(
            self._call(
                "create_payment", key, lambda: self._inner.create_payment(**kwargs), writes=True
            )
        )

    def create_and_confirm_payment(self, **kwargs: Any) -> PaymentResult:
        key = str(kwargs.get("idempotency_key", ""))
        result = self._call(
            "create_and_confirm_payment",
            key,
            lambda: self._inner.create_and_confirm_payment(**kwargs),
            writes=True,
        )
        assert isinstance(result, PaymentResult)
        return result

    def find_payment(self, **kwargs: Any) -> PaymentResult | None:
        identity = f"{kwargs.get('invoice_id')}:{kwargs.get('attempt')}"
        result = self._call(
            "find_payment", identity, lambda: self._inner.find_payment(**kwargs), writes=False
        )
        assert result is None or isinstance(result, PaymentResult)
        return result

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        result = self._call(
            "confirm_payment",
            idempotency_key,
            lambda: self._inner.confirm_payment(payment_id, idempotency_key=idempotency_key),
            writes=True,
        )
        assert isinstance(result, PaymentResult)
        return result

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        result = self._call(
            "retrieve_payment",
            payment_id,
            lambda: self._inner.retrieve_payment(payment_id),
            writes=False,
        )
        assert isinstance(result, PaymentResult)
        return result

    def refund(self, **kwargs: Any) -> str:
        key = str(kwargs.get("idempotency_key", ""))
        return str(self._call("refund", key, lambda: self._inner.refund(**kwargs), writes=True))


def summary(chaos: Chaos, backoff: SimulatedBackoff | None = None) -> dict[str, Any]:
    """What was injected: counts by kind, by fault and by step (function and what it did), and
    the backoffs the functions waited in simulated time."""
    by_kind: Counter[str] = Counter()
    by_fault: Counter[str] = Counter()
    by_step: Counter[str] = Counter()
    for item in chaos.injected:
        by_kind[item.kind] += 1
        by_fault[f"{item.kind}/{item.fault}"] += 1
        by_step[f"{item.function}: {item.fault} {item.step}".strip()] += 1
    return {
        "seed": chaos.seed,
        "kinds": sorted(chaos.kinds),
        "quiet_from": iso(chaos.quiet_from),
        "rates": {f.name: getattr(chaos.rates, f.name) for f in fields(Rates)},
        "injected": len(chaos.injected),
        "by_kind": dict(sorted(by_kind.items())),
        "by_fault": dict(sorted(by_fault.items())),
        "by_step": dict(sorted(by_step.items())),
        "backoff": {
            "waits": backoff.count if backoff else 0,
            "seconds": round(backoff.seconds, 3) if backoff else 0.0,
        },
        "log": [
            {"at": i.at, "function": i.function, "kind": i.kind, "fault": i.fault, "step": i.step}
            for i in chaos.injected
        ],
    }
