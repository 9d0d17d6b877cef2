"""The in-memory repository's events: each stored once, with its actor, in the table's order,
and a commit carrying an event already stored changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.errors import ConcurrencyError
from tenure.domain.events import DomainEvent, EventType
from tenure.fakes import InMemoryRepository
from tenure.ports import Commit

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def event(entity: str, at: datetime, seq: int = 0) -> DomainEvent:
    return DomainEvent(EventType.CUSTOMER_UPDATED, entity, entity, at, seq, {"fields": ["name"]})


def commit(repo: InMemoryRepository, *events: DomainEvent, source: str | None = None) -> None:
    change = Commit(source=source, via="portal" if source else None)
    change.events.extend(events)
    repo.commit(change)


def test_events_are_stored_with_their_ids_actor_and_order() -> None:
    repo = InMemoryRepository()
    late, early = event("alice", T0 + timedelta(hours=1)), event("bob", T0)
    commit(repo, late, early, source="dunning")
    stored = repo.events_between(T0, T0 + timedelta(days=1))
    assert [e["id"] for e in stored] == [early.id, late.id]
    assert repo.event_sources == {late.id: "dunning", early.id: "dunning"}
    assert repo.event_vias == {late.id: "portal", early.id: "portal"}
    found, _ = repo.automated_events("dunning", upto=T0 + timedelta(days=1), since=T0, budget=10)
    assert [(f[0]["id"], f[1], f[2]) for f in found] == [
        (late.id, "dunning", "portal"),
        (early.id, "dunning", "portal"),
    ]


def test_a_commit_with_an_event_already_stored_fails_and_stores_nothing_of_its_own() -> None:
    repo = InMemoryRepository()
    first = event("alice", T0)
    commit(repo, first)
    with pytest.raises(ConcurrencyError, match=first.id):
        commit(repo, event("bob", T0), event("alice", T0), source="dunning")
    assert [e["id"] for e in repo.events] == [first.id]
    assert repo.event_sources == {} and repo.commits == 1


def test_an_event_of_a_moment_within_a_second_is_found_again_when_committed_twice() -> None:
    # Stored moments are whole seconds; the event is still found where it was put.
    repo = InMemoryRepository()
    first = event("alice", T0 + timedelta(microseconds=250))
    commit(repo, event("bob", T0), first, event("carol", T0 + timedelta(seconds=1)))
    with pytest.raises(ConcurrencyError, match=first.id):
        commit(repo, event("alice", T0 + timedelta(microseconds=250)))
    commit(repo, event("alice", T0 + timedelta(microseconds=251)))  # another id: stored
    assert len(repo.events) == 4
