"""Delivers domain events to the business's webhook endpoints (Standard Webhooks), from its SQS
queue: events from Tenure's bus, and deliveries handed back for a later try."""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure import bootstrap
from tenure.services import webhooks_out
from tenure.webhooks_out_http import HttpSender, url_check

logger = Logger()
emf = Metrics()
# One metric per outcome of a try; a delivery that gave up is also a `WebhookDeliveriesFailed`.
_OUTCOME = {
    "succeeded": "WebhookDeliveriesSucceeded",
    "pending": "WebhookTriesFailed",
    "failed": "WebhookDeliveriesFailed",
}
# Deployed, a send connects only to the public addresses it resolved itself; locally (tenure
# serve), receivers on loopback are allowed.
_SENDERS = {True: HttpSender(), False: HttpSender(public_only=True)}


@emf.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record on its own: one that fails is reported (ReportBatchItemFailures) and comes
    back after its visibility timeout; an unreadable one is logged and dropped, never retried."""
    wired = bootstrap.wiring()
    local = wired.settings.environment == "local"
    allowed, sender = url_check(local=local), _SENDERS[local]
    records = event.get("Records", [])
    # Every batch counts its messages: a batch of events no endpoint subscribes to is normal,
    # and would otherwise end with no metric (Powertools warns of an empty metric set).
    emf.add_metric(name="WebhookMessagesRead", unit=MetricUnit.Count, value=len(records))
    failures = []
    for record in records:
        try:
            message = webhooks_out.parse_message(json.loads(record["body"]))
        except (ValueError, KeyError) as exc:
            logger.warning("unreadable webhook message dropped", extra={"why": str(exc)[:200]})
            continue
        try:
            tried = webhooks_out.dispatch(
                wired.services, sender, wired.webhook_queue(), message, url_allowed=allowed
            )
        except Exception:
            logger.exception("webhook message failed; it will come back")
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        for delivery in tried:
            emf.add_metric(name=_OUTCOME[str(delivery.status)], unit=MetricUnit.Count, value=1)
            logger.info(
                "webhook delivery tried",
                extra={
                    "delivery": delivery.id,
                    "endpoint": delivery.endpoint_id,
                    "status": str(delivery.status),
                    "answer": delivery.last_status,
                },
            )
    return {"batchItemFailures": failures}


cold_start.done()
