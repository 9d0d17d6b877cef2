"""The outbox's two item shapes (store/event_items.py): events of one moment share an item,
and every reader gives back the same events from either shape."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tenure.domain.events import DomainEvent, EventType
from tenure.store.codec import to_item
from tenure.store.event_items import event_items, in_table_order, unpack
from tenure.store.streams import CommittedEvent, committed_events
from tenure_local.cli.export import write_export

T0 = datetime(2026, 2, 1, tzinfo=UTC)


def an_event(entity_id: str, at: datetime = T0) -> DomainEvent:
    return DomainEvent(EventType.INVOICE_CREATED, entity_id, "cus_1", at, 0, {})


def three_by_id() -> list[DomainEvent]:
    """Three events of one moment, in the order of their ids (which are hashes)."""
    return sorted((an_event(f"in_{n}") for n in range(3)), key=lambda e: e.id)


def stream_record(item: dict[str, object]) -> dict[str, object]:
    image = to_item(item | {"entity": "event"})
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image}}


def test_events_of_one_moment_share_one_item_with_each_objects_version_beside_it() -> None:
    # Given a commit's two events at one moment, the invoice of the second written at 3
    first, second = an_event("sub_1"), an_event("in_1")
    # When they are laid out as items
    [item] = event_items([first, second], {"in_1": 3})
    # Then one item, keyed by the first, holds both in commit order, versions aligned
    assert (item["PK"], item["SK"]) == ("EVT#2026-02-01", f"2026-02-01T00:00:00Z#{first.id}")
    assert item["events"] == [first.to_dict(), second.to_dict()]
    assert item["object_versions"] == [None, 3] and "event" not in item


def test_a_lone_event_keeps_the_shape_items_had_before() -> None:
    event = an_event("in_1")
    [item] = event_items([event], {"in_1": 2})
    assert item == {
        "PK": "EVT#2026-02-01",
        "SK": f"2026-02-01T00:00:00Z#{event.id}",
        "event": event.to_dict(),
        "object_version": 2,
    }


def test_events_of_different_moments_are_never_put_in_one_item() -> None:
    # A shared item is found by its first event's moment: a later one would fall outside a
    # reader's range of moments.
    now, later = an_event("in_1"), an_event("in_1", T0 + timedelta(seconds=1))
    items = event_items([now, later], {})
    assert [item["SK"] for item in items] == [
        f"2026-02-01T00:00:00Z#{now.id}",
        f"2026-02-01T00:00:01Z#{later.id}",
    ]


def test_readers_put_a_shared_items_events_where_their_own_keys_would_stand() -> None:
    # Given events a < b < c of one moment: a shared item of (c, a), keyed by c, and b alone
    a, b, c = three_by_id()
    [shared], [lone] = event_items([c, a], {}), event_items([b], {})
    # When they are read in key order (b's item, then c's) and unpacked
    ordered = [body["id"] for body, _ in in_table_order([lone, shared])]
    # Then by moment, then id: as if each event had its own item
    assert ordered == [a.id, b.id, c.id]


def test_an_item_of_several_events_with_a_short_version_list_reads_none_beyond_it() -> None:
    item = {"events": [{"id": "a"}, {"id": "b"}], "object_versions": [4]}
    assert unpack(item) == [({"id": "a"}, 4), ({"id": "b"}, None)]


def test_an_item_without_events_holds_none() -> None:
    assert unpack({"PK": "EVT#2026-02-01", "SK": "x"}) == []


def test_the_stream_gives_each_event_of_a_shared_item_with_its_version() -> None:
    # Given a stream record of a shared item
    first, second = an_event("sub_1"), an_event("in_1")
    [item] = event_items([first, second], {"in_1": 3})
    # When the events function reads it
    found = committed_events({"Records": [stream_record(item)]})
    # Then both events, in commit order, each with its own version
    assert found == [
        CommittedEvent("InvoiceCreated", first.to_dict(), None),
        CommittedEvent("InvoiceCreated", second.to_dict(), 3),
    ]


def test_an_export_writes_one_line_per_event_whichever_the_item_shape(tmp_path: Path) -> None:
    folder = tmp_path
    # Given events a < b < c stored as a shared item (c, a) and b alone, and each alone
    a, b, c = three_by_id()
    versions = {a.entity_id: 5}
    shared = event_items([c, a], versions) + event_items([b], versions)
    alone = [item for e in (a, b, c) for item in event_items([e], versions)]
    # When each is exported
    write_export([i | {"entity": "event"} for i in shared], folder / "shared")
    write_export([i | {"entity": "event"} for i in alone], folder / "alone")
    # Then the files are the same bytes: one line per event, in key order
    text = (folder / "shared" / "event.jsonl").read_text()
    assert text == (folder / "alone" / "event.jsonl").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["id"] for line in lines] == [a.id, b.id, c.id]
    assert [line.get("object_version") for line in lines] == [5, None, None]
