"""Renewals: the scheduler finds due subscriptions and queues them; the charger works each one."""

import json
from datetime import datetime
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
from tenure.domain.timeutil import iso, parse_iso
from tenure.services import subscriptions
from tenure.services.due import due_work

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
SQS_BATCH = 10


def _scheduled_time(event: dict[str, Any]) -> datetime | None:
    # The schedule passes <aws.scheduler.scheduled-time>; the simulator passes simulated time.
    text = event.get("scheduled_time") or event.get("time")
    return parse_iso(text) if isinstance(text, str) and text.startswith("20") else None


@logger.inject_lambda_context
@metrics.log_metrics
def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = bootstrap.services()
    now = _scheduled_time(event) or svc.clock.now()
    items = due_work(svc, now)
    sqs = bootstrap.aws_client("sqs")
    queue_url = bootstrap.get_settings().renewal_queue_url
    for start in range(0, len(items), SQS_BATCH):
        batch = items[start : start + SQS_BATCH]
        entries = [
            {
                "Id": str(n),
                "MessageBody": json.dumps(
                    {"subscription_id": d.subscription_id, "due_at": iso(d.due_at), "kind": d.kind}
                ),
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


def _work_one(record: SQSRecord) -> None:
    body = json.loads(record.body)
    outcome = subscriptions.process_due(bootstrap.services(), body["subscription_id"])
    # Counted whether or not there was still work: a duplicate message is a normal event.
    metrics.add_metric(
        name="DueWorkDone" if outcome is not None else "DueWorkAlreadyDone",
        unit=MetricUnit.Count,
        value=1,
    )
    if outcome is not None:
        logger.info(
            "due work done",
            extra={"subscription_id": body["subscription_id"], "kind": body.get("kind")},
        )


@logger.inject_lambda_context
@metrics.log_metrics
def charge_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_work_one, processor=processor, context=context
    )
