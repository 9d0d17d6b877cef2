"""Publishes the domain events committed to the table (the outbox) to Tenure's EventBridge bus."""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer

from tenure import bootstrap

logger = Logger()
_de = TypeDeserializer()
BATCH = 10  # PutEvents takes at most 10 entries


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "to_integral_value"):
        return int(value) if value == value.to_integral_value() else str(value)
    return value


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    entries = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage")
        if not image or image.get("entity", {}).get("S") != "event":
            continue
        body = _plain(_de.deserialize(image["event"]))
        entries.append(
            {
                "Source": "tenure",
                "DetailType": body["type"],
                "Detail": json.dumps(body),
                "EventBusName": bootstrap.get_settings().event_bus_name,
            }
        )
    client = bootstrap.aws_client("events")
    for start in range(0, len(entries), BATCH):
        result = client.put_events(Entries=entries[start : start + BATCH])
        if result.get("FailedEntryCount"):
            # Failing the batch makes the stream redeliver it; consumers dedupe on event id.
            raise RuntimeError(f"{result['FailedEntryCount']} events were not published")
    logger.info("events published", extra={"count": len(entries)})
    return {"published": len(entries)}
