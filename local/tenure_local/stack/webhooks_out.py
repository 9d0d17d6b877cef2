"""`tenure serve`'s stand-in for what carries events to the outbound webhooks dispatcher when
deployed (the table's stream, the events publisher, the bus and its rule): a thread that
reads the events committed to the table, hands each to the real dispatcher handler as the
rule's queue would, and drains the dispatcher's own queue of deliveries handed back."""

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tenure.services.outbox import SOURCE, bus_detail
from tenure.store.dynamodb import DynamoRepository
from tenure.store.streams import CommittedEvent
from tenure_local.runtime import functions
from tenure_local.stack.ticking import Ticking, utcnow

if TYPE_CHECKING:
    from tenure_local.stack.local_stack import LocalStack

log = logging.getLogger(__name__)
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:webhooks-out"
# Events are read again for this long: one committed a moment after another, with an earlier
# timestamp, is still seen (each is handed over once).
LOOK_BACK = timedelta(minutes=2)


def bus_message(committed: CommittedEvent) -> dict[str, Any]:
    """The event as the bus rule puts it on the dispatcher's queue."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": committed.type,
        "source": SOURCE,
        "time": committed.body.get("occurred_at"),
        "detail": bus_detail(committed),
    }


class LocalWebhooksOut(Ticking):
    def __init__(
        self,
        repo: DynamoRepository,
        sqs: Any,
        queue_url: str,
        every: float = 1.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        # Tried again on the next tick, as a stream retries a batch.
        super().__init__("webhooks-out", every, now, log, "local webhooks dispatch failed")
        self._repo = repo
        self._sqs = sqs
        self._queue_url = queue_url
        self._since = now()
        self._seen: dict[str, datetime] = {}

    @classmethod
    def started_for(cls, stack: "LocalStack") -> "LocalWebhooksOut":
        """Running against `stack`'s table and dispatcher queue."""
        repo = DynamoRepository(stack.dynamodb_client(), stack.table_name)
        running = cls(repo, stack.client("sqs"), stack.env["WEBHOOK_OUT_QUEUE_URL"])
        running.start()
        return running

    def tick(self, now: datetime) -> int:
        """Hand over the events committed since the last tick, then the deliveries due;
        returns how many messages the dispatcher handled."""
        handled = 0
        start = max(self._since, now - LOOK_BACK)
        fresh = [
            c
            for c in self._repo.committed_events_between(start, now + timedelta(seconds=1))
            if c.body["id"] not in self._seen
        ]
        for committed in fresh:
            self._seen[committed.body["id"]] = now
        self._seen = {k: at for k, at in self._seen.items() if at >= now - 2 * LOOK_BACK}
        if fresh:
            bodies = [json.dumps(bus_message(c), default=str) for c in fresh]
            for first in range(0, len(bodies), 10):
                records = [
                    {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "local", "Body": body}
                    for body in bodies[first : first + 10]
                ]
                functions.invoke("webhooks-out", functions.sqs_event(records, QUEUE_ARN))
                handled += len(records)
        return handled + self._drain()

    def _drain(self) -> int:
        handled = 0
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return handled
            response = functions.invoke("webhooks-out", functions.sqs_event(batch, QUEUE_ARN))
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            done = [m for m in batch if m["MessageId"] not in failed]
            if done:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(done)
                    ],
                )
            handled += len(batch)
            if failed:
                return handled  # they come back after their visibility timeout
