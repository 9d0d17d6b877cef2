"""Which customer an API request's idempotency record is filed under, for their erasure to
find it (docs/privacy.md): the one its path names, else the one its commits wrote."""

import threading
from datetime import UTC, datetime

from tenure.domain.events import DomainEvent, EventType
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.ports import Commit
from tenure.services import idempotency
from tenure.services.context import Services

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _credit(customer: str | None, seq: int = 0) -> Commit:
    return Commit(events=[DomainEvent(EventType.CREDIT_GRANTED, "sub-1", customer, T, seq)])


def test_the_customers_of_the_commits_made_while_noting_are_noted() -> None:
    svc = Services(InMemoryRepository(), FixedClock(T))
    svc.commit(_credit("before"))
    with svc.noting_customers() as touched:
        svc.commit(_credit("alice", 1))
        svc.commit(_credit(None, 2))  # a plan's event belongs to nobody
    svc.commit(_credit("after", 3))
    assert touched == {"alice"}


def test_a_commit_on_another_thread_is_not_noted_by_this_request() -> None:
    svc = Services(InMemoryRepository(), FixedClock(T))
    with svc.noting_customers() as touched:
        other = threading.Thread(target=lambda: svc.commit(_credit("bob", 1)))
        other.start()
        other.join()
        svc.commit(_credit("alice", 2))
    assert touched == {"alice"}


def test_the_customer_a_path_names_wins_over_the_commits() -> None:
    assert idempotency.about("alice", {"bob"}) == "alice"
    assert idempotency.about(None, {"bob"}) == "bob"
    assert idempotency.about(None, set()) is None


def test_a_request_about_several_customers_is_filed_under_the_first_by_id() -> None:
    assert idempotency.about(None, {"carol", "bob"}) == "bob"
