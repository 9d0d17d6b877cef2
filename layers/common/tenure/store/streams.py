"""The table's stream, read: which of a batch's records are domain events just committed."""

from dataclasses import dataclass
from typing import Any

from tenure.store.codec import from_item
from tenure.store.event_items import unpack


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """A domain event as committed to the table (the outbox): `body` is its public form
    (docs/events.md), exactly as stored."""

    type: str
    body: dict[str, Any]
    # The version the object the event is about was written at by the same commit (None
    # where the commit wrote no such object, or the item predates this field).
    version: int | None = None


def committed_events(event: dict[str, Any]) -> list[CommittedEvent]:
    """The domain events a stream batch inserted or changed, in stream order; other items
    (and removals) are not events to publish."""
    found = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage")
        if not image or image.get("entity", {}).get("S") != "event":
            continue
        # One item may hold several events of a commit (store/event_items.py).
        for body, version in unpack(from_item(image)):
            found.append(CommittedEvent(body["type"], body, version))
    return found
