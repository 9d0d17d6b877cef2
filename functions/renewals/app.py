"""Renewals: the scheduler finds due subscriptions and queues them; the charger works each one."""

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure import bootstrap
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.ports import DueItem
from tenure.services import payments, subscriptions
from tenure.services.due import due_work
from tenure.store import codec

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
SQS_BATCH = 10


@logger.inject_lambda_context
@metrics.log_metrics
def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = bootstrap.services()
    now = bootstrap.scheduled_time(event) or svc.clock.now()
    items = due_work(svc, now)
    sqs = bootstrap.aws_client("sqs")
    queue_url = bootstrap.get_settings().renewal_queue_url
    for start in range(0, len(items), SQS_BATCH):
        batch = items[start : start + SQS_BATCH]
        entries = [
            {
                "Id": str(n),
                "MessageBody": json.dumps(_message(d)),
            }
            for n, d in enumerate(batch)
        ]
        result = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if result.get("Failed"):
            # Let the schedule's retry policy run us again; queued duplicates are harmless.
            raise RuntimeError(f"{len(result['Failed'])} renewal messages were not queued")
    metrics.add_metric(name="RenewalsQueued", unit=MetricUnit.Count, value=len(items))
    logger.info("due work queued", extra={"count": len(items), "now": iso(now)})
    return {"queued": len(items), "now": iso(now)}


def _message(d: DueItem) -> dict[str, Any]:
    """One due item as a message. A subscription travels whole (see DueItem): the charger
    renews from it without a read."""
    body: dict[str, Any] = {"id": d.entity_id, "due_at": iso(d.due_at), "kind": d.kind}
    if d.customer_id:
        body["customer"] = d.customer_id
    if d.subscription is not None:
        body["subscription"] = codec.subscription_to_attrs(d.subscription)
    return body


class InvalidDueMessageError(ValueError):
    """Not a due-work message: fail it so SQS moves it to the DLQ after its receives."""


@dataclass(frozen=True, slots=True)
class DueMessage:
    kind: str
    entity_id: str
    customer_id: str | None = None  # a read hint only: messages without it work the same
    subscription: Subscription | None = None  # see DueItem; without it, the charger reads


def _parse(record: SQSRecord) -> DueMessage:
    try:
        body = json.loads(record.body)
        kind, entity_id = body["kind"], body.get("id") or body["subscription_id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidDueMessageError(f"message {record.message_id} is not due work") from exc
    if kind not in HANDLERS or not isinstance(entity_id, str):
        raise InvalidDueMessageError(f"message {record.message_id}: unknown kind {kind!r}")
    customer = body.get("customer")
    return DueMessage(
        kind,
        entity_id,
        customer if isinstance(customer, str) and customer else None,
        _snapshot(record, body.get("subscription"), entity_id),
    )


def _snapshot(record: SQSRecord, attrs: Any, entity_id: str) -> Subscription | None:
    """The subscription the message carries, if it is one and is this work's: an unreadable
    one is only a lost shortcut (the charger reads the subscription instead)."""
    if attrs is None:
        return None
    try:
        sub = codec.subscription_from_attrs(attrs)
    except (ValueError, KeyError, TypeError, AttributeError):
        sub = None
    if sub is None or sub.id != entity_id:
        logger.warning("unreadable subscription in message", extra={"id": record.message_id})
        return None
    return sub


def _process_due(svc: Any, message: DueMessage) -> object:
    return subscriptions.process_due(
        svc, message.entity_id, customer_id=message.customer_id, snapshot=message.subscription
    )


def _retry(svc: Any, message: DueMessage) -> object:
    return payments.retry_invoice(svc, message.entity_id)


def _reconcile(svc: Any, message: DueMessage) -> object:
    invoice_id, _, attempt = message.entity_id.rpartition(":")
    return payments.reconcile_charge(svc, invoice_id, int(attempt))


HANDLERS: dict[str, Any] = {
    "renewal": _process_due,
    "pause_end": _process_due,
    "expire": _process_due,
    "retry": _retry,
    "dunning_end": _retry,
    "reconcile": _reconcile,
}


def _work_one(record: SQSRecord) -> None:
    try:
        message = _parse(record)
    except InvalidDueMessageError:
        logger.warning("invalid due-work message", extra={"message_id": record.message_id})
        metrics.add_metric(name="InvalidDueMessages", unit=MetricUnit.Count, value=1)
        raise
    outcome = HANDLERS[message.kind](bootstrap.services(), message)
    # Counted whether or not there was still work: a duplicate message is a normal event.
    metrics.add_metric(
        name="DueWorkDone" if outcome is not None else "DueWorkAlreadyDone",
        unit=MetricUnit.Count,
        value=1,
    )
    if outcome is not None:
        logger.info(
            "due work done",
            extra={"id": message.entity_id, "kind": message.kind},
        )


@logger.inject_lambda_context
@metrics.log_metrics
def charge_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_work_one, processor=processor, context=context
    )
