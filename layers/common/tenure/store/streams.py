"""The table's stream, read: which of a batch's records are domain events just committed."""

from dataclasses import dataclass
from typing import Any

from tenure.store.codec import from_item


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """A domain event as committed to the table (the outbox): `body` is its public form
    (docs/events.md), exactly as stored."""

    type: str
    body: dict[str, Any]


def committed_events(event: dict[str, Any]) -> list[CommittedEvent]:
    """The domain events a stream batch inserted or changed, in stream order; other items
    (and removals) are not events to publish."""
    found = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage")
        if not image or image.get("entity", {}).get("S") != "event":
            continue
        body = from_item({"event": image["event"]})["event"]
        found.append(CommittedEvent(body["type"], body))
    return found
