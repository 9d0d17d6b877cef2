"""Chaos on the memory engine: the faults tenure_local.simulator.chaos injects through botocore
on the dynamodb-local engine, raised here where the in-process adapters stand.

What the services see is what they would see from `DynamoRepository` once botocore's own
retries are spent: a throttle that outlasts them surfaces as the ClientError DynamoDB
answers, one they absorb costs only a backoff (in simulated time); a transaction cancelled
by a TransactionConflict surfaces as the ConcurrencyError the store raises for it; and the
function's process may die (SimulatedCrash) right after a write took effect, after the
scheduler queued a batch, or after SES took an email (chaos.CrashingMailer, unchanged).
The same rates and the same kinds of decision are drawn from the seed; the identities
drawn on are the adapters' own (a call's name and arguments), so a seed injects the same
faults on every memory run, not the same ones as on DynamoDB Local.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.errors import ConcurrencyError
from tenure.notify.mailers import MailDeferred, Mailer
from tenure_local.simulator.chaos import THROTTLE_CODES, Chaos, SimulatedCrash

# The repository's calls that write (DynamoDB's PutItem, UpdateItem, TransactWriteItems).
WRITES = frozenset(
    {
        "commit",
        "suppress",
        "save_snapshot",
        "claim_idempotency",
        "complete_idempotency",
        "release_idempotency",
    }
)
SES_ATTEMPTS = 5  # the SES mailer's tries before it defers an email (notify.mailers)


def _identity(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    text = repr((name, args, sorted(kwargs.items())))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


# Port calls that only tell the store what comes next: no request of their own to fault.
HINTS = frozenset({"expect_numbering"})


class ChaoticRepository:
    """The repository as the faulted functions see it (the Repository port, delegated)."""

    def __init__(self, inner: Any, chaos: Chaos, sleep: Callable[[float], None]) -> None:
        self._inner = inner
        self._chaos = chaos
        self._sleep = sleep

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if not callable(found) or name.startswith("_") or name in HINTS:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            identity = _identity(name, args, kwargs)
            self._before(name, identity)
            result = found(*args, **kwargs)
            self._after(name, identity)
            return result

        return call

    def _before(self, name: str, identity: str) -> None:
        chaos = self._chaos
        if not chaos.active("throttling"):
            return
        draw = chaos.draw("dynamodb", name, identity)
        rates = chaos.rates
        if name == "commit":
            if draw < rates.transaction_conflict:
                chaos.record("throttling", "transaction_conflict", name)
                raise ConcurrencyError(
                    "Transaction cancelled, please refer cancellation reasons for specific "
                    "reasons [TransactionConflict]"
                )
            draw -= rates.transaction_conflict
        if 0.0 <= draw < rates.dynamodb_throttle:
            code = THROTTLE_CODES[int(chaos.draw("code", identity) * len(THROTTLE_CODES))]
            if chaos.draw("surfaces", identity) < 0.5:
                chaos.record("throttling", "throttled_surfaced", name)
                message = "Throughput exceeds the current capacity"
                raise ClientError({"Error": {"Code": code, "Message": message}}, name)
            chaos.record("throttling", "throttled_absorbed", name)
            for attempt in range(1 + int(chaos.draw("burst", identity) * 2)):
                self._sleep(0.05 * 2**attempt)  # botocore's backoff, in simulated time

    def _after(self, name: str, identity: str) -> None:
        chaos = self._chaos
        if name not in WRITES or not chaos.active("crashes"):
            return
        if chaos.draw("crash-after", name, identity) < chaos.rates.crash_after_write:
            step = f"after {name}"
            chaos.record("crashes", "crash", step)
            raise SimulatedCrash(step)


class ChaoticQueue:
    """The renewal queue, whose sender (the scheduler) may die once a batch is queued."""

    def __init__(self, inner: Any, chaos: Chaos) -> None:
        self._inner = inner
        self._chaos = chaos

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def send_message_batch(self, **request: Any) -> Any:
        answer = self._inner.send_message_batch(**request)
        chaos = self._chaos
        if chaos.active("crashes"):
            ids = ",".join(sorted(str(s["MessageId"]) for s in answer["Successful"]))
            count = str(len(answer["Successful"]))
            if chaos.draw("crash-after-queueing", count, ids) < chaos.rates.crash_after_queueing:
                step = "after SendMessageBatch (due work queued)"
                chaos.record("crashes", "crash", step)
                raise SimulatedCrash(step)
        return answer


class ThrottledSes:
    """SES throttling as the SES mailer lives it: one throttle its retry absorbs (after a
    backoff), or one on every attempt, and the email is deferred to a later run."""

    def __init__(self, inner: Mailer, chaos: Chaos, sleep: Callable[[float], None]) -> None:
        self._inner = inner
        self._chaos = chaos
        self._sleep = sleep

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        chaos = self._chaos
        to = str(message["To"])
        if chaos.active("throttling") and chaos.draw("ses", to) < chaos.rates.ses_throttle:
            if chaos.draw("ses-surfaces", to) < 0.5:
                chaos.record("throttling", "ses_throttled_deferred", "SendRawEmail")
                for attempt in range(SES_ATTEMPTS - 1):
                    self._sleep(0.2 * 2**attempt)
                raise MailDeferred("SES throttled: Throttling")
            chaos.record("throttling", "ses_throttled_absorbed", "SendRawEmail")
            self._sleep(0.2)
        return self._inner.send(message, customer_id=customer_id, kind=kind, sent_at=sent_at)
