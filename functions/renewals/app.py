"""Renewals: the scheduler finds due subscriptions and queues them; the charger works each one."""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

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
from tenure.domain.timeutil import iso
from tenure.services.due import due_work_pages, work_due
from tenure.services.due_messages import InvalidDueMessageError, due_message_body, parse_due_message
from tenure.services.refunds import RefundGivenUp

logger = Logger()
emf = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
SQS_BATCH = 10
RESERVE_MS = 10_000  # a page's reads and sends take a few seconds; stop while one still fits


@logger.inject_lambda_context
@emf.log_metrics
def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wired = bootstrap.wiring()
    svc = wired.services
    now = bootstrap.scheduled_time(event) or svc.clock.now()
    sqs = wired.client("sqs")
    queue_url = wired.settings.renewal_queue_url
    queued, more = 0, False
    # Page after page until nothing due is left: a run is not capped at one page, so a day
    # when many renewals fall due (a migration's cohort, the 1st of the month) is queued in
    # one run instead of one page every 15 minutes. What a run leaves for lack of time is
    # still due, and the next run queues it.
    for items in due_work_pages(svc, now):
        for start in range(0, len(items), SQS_BATCH):
            batch = items[start : start + SQS_BATCH]
            entries = [
                {"Id": str(n), "MessageBody": due_message_body(d)} for n, d in enumerate(batch)
            ]
            result = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            if result.get("Failed"):
                # Let the schedule's retry policy run us again; queued duplicates are harmless.
                raise RuntimeError(f"{len(result['Failed'])} renewal messages were not queued")
        queued += len(items)
        if context.get_remaining_time_in_millis() < RESERVE_MS:
            more = True
            break
    emf.add_metric(name="RenewalsQueued", unit=MetricUnit.Count, value=queued)
    logger.info("due work queued", extra={"count": queued, "now": iso(now), "more": more})
    return {"queued": queued, "now": iso(now), "more": more}


def _work_one(record: SQSRecord) -> None:
    try:
        message = parse_due_message(record.body)
    except InvalidDueMessageError:
        logger.warning("invalid due-work message", extra={"message_id": record.message_id})
        emf.add_metric(name="InvalidDueMessages", unit=MetricUnit.Count, value=1)
        raise
    if message.snapshot_unreadable:
        logger.warning("unreadable subscription in message", extra={"id": record.message_id})
    outcome = work_due(bootstrap.wiring().services, message)
    # Counted whether or not there was still work: a duplicate message is a normal event.
    emf.add_metric(
        name="DueWorkDone" if outcome is not None else "DueWorkAlreadyDone",
        unit=MetricUnit.Count,
        value=1,
    )
    if isinstance(outcome, RefundGivenUp):
        # Money a customer was promised did not go back: the RefundsFailed alarm fires.
        emf.add_metric(name="RefundsFailed", unit=MetricUnit.Count, value=1)
    if outcome is not None:
        logger.info(
            "due work done",
            extra={"id": message.entity_id, "kind": message.kind},
        )


@logger.inject_lambda_context
@emf.log_metrics
def charge_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_work_one, processor=processor, context=context
    )


cold_start.done()
