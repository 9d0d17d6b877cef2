"""The outbox, published: the domain events a table stream batch committed, as entries for
Tenure's EventBridge bus (docs/events.md)."""

import json
from typing import Any

from tenure.store.streams import committed_events

SOURCE = "tenure"


def bus_entries(stream_batch: dict[str, Any], bus_name: str) -> list[dict[str, str]]:
    """One PutEvents entry per event the batch committed, in stream order; the batch's other
    records give none."""
    return [
        {
            "Source": SOURCE,
            "DetailType": committed.type,
            "Detail": json.dumps(committed.body, default=str),  # a fractional number as text
            "EventBusName": bus_name,
        }
        for committed in committed_events(stream_batch)
    ]
