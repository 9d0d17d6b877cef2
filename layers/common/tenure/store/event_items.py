"""The outbox's item shapes: how a commit's domain events are stored, and read back.

A commit's events that happened at the same moment share one item: a renewal's claim
records two events, and one item of both costs half the write capacity of two (each
transactional item is billed 2 WCU per started KB; two small events fit in one KB).

Two shapes are read, and will be for as long as a table may hold either:
- one event: `event` (its public form), `object_version` (absent when none);
- several: `events` (their public forms, in commit order) and `object_versions` (one per
  event, None where none), keyed by the first event's moment and id.
A lone event is still written in the first shape, so items written before the second
existed and items written since look alike.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from tenure.domain.events import DomainEvent
from tenure.domain.timeutil import iso

# (public form, version of the object the commit wrote, or None)
Stored = tuple[dict[str, Any], int | None]


def event_pk(occurred_at: str) -> str:
    """The day partition of an event, from its `occurred_at` as stored (ISO, UTC)."""
    return f"EVT#{occurred_at[:10]}"


def event_sk(occurred_at: str, event_id: str) -> str:
    return f"{occurred_at}#{event_id}"


def order_key(body: dict[str, Any]) -> str:
    """Where an event stands in the table's order (its own sort key): by moment, then id.
    A shared item is keyed by its first event only, so readers sort what they unpack."""
    return event_sk(str(body["occurred_at"]), str(body["id"]))


def event_items(events: Iterable[DomainEvent], versions: dict[str, int]) -> list[dict[str, Any]]:
    """The items a commit's `events` are written as (without `entity`): runs of events at
    the same moment share one item. `versions`: the version each written entity is written
    at, stored beside the events about it (never inside an event's public form)."""
    runs: list[list[DomainEvent]] = []
    for event in events:
        if runs and runs[-1][0].occurred_at == event.occurred_at:
            runs[-1].append(event)
        else:
            runs.append([event])
    items = []
    for run in runs:
        first = run[0]
        occurred = iso(first.occurred_at) or ""
        item: dict[str, Any] = {
            "PK": event_pk(occurred),
            "SK": event_sk(occurred, first.id),
        }
        if len(run) == 1:
            item["event"] = first.to_dict()
            if first.entity_id in versions:
                item["object_version"] = versions[first.entity_id]
        else:
            item["events"] = [event.to_dict() for event in run]
            item["object_versions"] = [versions.get(event.entity_id) for event in run]
        items.append(item)
    return items


def unpack(item: dict[str, Any]) -> list[Stored]:
    """The events an outbox item holds, in commit order, whichever its shape (as decoded by
    `codec.from_item`: numbers as int)."""
    if "events" in item:
        bodies = list(item["events"])
        # One version per event; a list cut short (hand-edited) reads as None beyond it.
        versions = (list(item.get("object_versions") or []) + [None] * len(bodies))[: len(bodies)]
        return [
            (body, None if v is None else int(v)) for body, v in zip(bodies, versions, strict=True)
        ]
    if "event" in item:
        version = item.get("object_version")
        return [(item["event"], None if version is None else int(version))]
    return []


def in_table_order(items: Iterable[dict[str, Any]]) -> Iterator[Stored]:
    """The events of `items` (read in key order) in the order their own keys would give:
    a shared item's later events may sort after another item of the same moment."""
    found = [stored for item in items for stored in unpack(item)]
    yield from sorted(found, key=lambda stored: order_key(stored[0]))
