"""Publishes the domain events committed to the table (the outbox) to Tenure's EventBridge bus."""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure import bootstrap
from tenure.services.outbox import bus_entries

logger = Logger()
BATCH = 10  # PutEvents takes at most 10 entries


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wired = bootstrap.wiring()
    entries = bus_entries(event, wired.settings.event_bus_name)
    client = wired.client("events")
    for start in range(0, len(entries), BATCH):
        result = client.put_events(Entries=entries[start : start + BATCH])
        if result.get("FailedEntryCount"):
            # Failing the batch makes the stream redeliver it; consumers dedupe on event id.
            raise RuntimeError(f"{result['FailedEntryCount']} events were not published")
    logger.info("events published", extra={"count": len(entries)})
    return {"published": len(entries)}


cold_start.done()
