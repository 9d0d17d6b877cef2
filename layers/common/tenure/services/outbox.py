"""The outbox, published: the domain events a table stream batch committed, as entries for
Tenure's EventBridge bus (docs/events.md)."""

import json
from typing import Any

from tenure.store.streams import CommittedEvent, committed_events

SOURCE = "tenure"


def bus_entries(stream_batch: dict[str, Any], bus_name: str) -> list[dict[str, str]]:
    """One PutEvents entry per event the batch committed, in stream order; the batch's other
    records give none."""
    return [
        {
            "Source": SOURCE,
            "DetailType": committed.type,
            # A fractional number as text; `object_version` added when the commit wrote the
            # object (consumers may get events out of order and keep the highest version).
            "Detail": json.dumps(bus_detail(committed), default=str),
            "EventBusName": bus_name,
        }
        for committed in committed_events(stream_batch)
    ]


def bus_detail(committed: CommittedEvent) -> dict[str, Any]:
    """The event's public form, with the version its object was written at when known."""
    if committed.version is None:
        return committed.body
    return committed.body | {"object_version": committed.version}
