"""A run's events for its output files: the same events on every pass, read once per store."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.fakes import InMemoryRepository
from tenure_local.runtime.state import OutputEvents

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ListingStore:
    """A store with only events_between, as the DynamoDB one: it counts its reads."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events, self.reads = events, 0

    def events_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        self.reads += 1
        return list(self.events)


def test_the_memory_stores_events_come_out_in_its_order_on_every_pass() -> None:
    repo = InMemoryRepository()
    stored = [
        {"id": "evt_b", "type": "CustomerCreated", "occurred_at": "2026-01-02T00:00:00Z"},
        {"id": "evt_a", "type": "CustomerCreated", "occurred_at": "2026-01-03T00:00:00Z"},
        {"id": "evt_c", "type": "CustomerCreated", "occurred_at": "2026-02-09T00:00:00Z"},
    ]
    for n, event in enumerate(stored):  # as commit stores them: the event and its place
        repo.events.append(event)
        repo._event_order.add(datetime.fromisoformat(event["occurred_at"]), event["id"], n)
    events = OutputEvents(repo, T0, T0 + timedelta(days=31))
    expected = repo.events_between(T0, T0 + timedelta(days=31))
    assert [e["id"] for e in expected] == ["evt_b", "evt_a"]
    assert list(events) == expected
    assert list(events) == expected  # a second pass, as the report makes after events.jsonl


def test_a_store_without_one_by_one_reads_is_read_once_for_every_pass() -> None:
    store = ListingStore([{"id": "evt_1"}, {"id": "evt_2"}])
    events = OutputEvents(store, T0, T0 + timedelta(days=1))  # type: ignore[arg-type]
    assert [e["id"] for e in events] == ["evt_1", "evt_2"]
    assert [e["id"] for e in events] == ["evt_1", "evt_2"]
    assert store.reads == 1
