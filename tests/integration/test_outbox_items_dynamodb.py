"""The outbox on DynamoDB Local: a commit's events of one moment are one item (half the
write capacity of two), and an erasure rewrites an event wherever it is stored."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.errors import ConcurrencyError
from tenure.domain.events import DomainEvent, EventType
from tenure.ports import Commit
from tenure.store.codec import from_item, to_item
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 2, 1, tzinfo=UTC)
DAY = "2026-02-01"


@pytest.fixture
def store(local_stack: LocalStack) -> DynamoRepository:
    local_stack.reset_table()
    return DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])


def outbox_items(store: DynamoRepository) -> list[dict[str, object]]:
    found = store._ddb.query(
        TableName=store._table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues=to_item({":pk": f"EVT#{DAY}"}),
        ConsistentRead=True,
    )["Items"]
    return [from_item(item) for item in found]


def event(entity_id: str, customer_id: str, at: datetime = T0) -> DomainEvent:
    return DomainEvent(EventType.CUSTOMER_CREATED, entity_id, customer_id, at, 0, {"n": 1})


def test_a_commits_events_of_one_moment_are_written_as_one_item(store: DynamoRepository) -> None:
    # When a commit records two events at one moment and one a second later
    first, second = event("sub_1", "cus_1"), event("in_1", "cus_1")
    later = event("in_1", "cus_1", T0 + timedelta(seconds=1))
    store.commit(Commit(events=[first, second, later]))
    # Then two items: the moment's two events together, the later one alone
    items = outbox_items(store)
    assert sorted(len(i.get("events") or [i["event"]]) for i in items) == [1, 2]
    # And a replay of the commit records nothing twice
    with pytest.raises(ConcurrencyError):  # as for a lone event written twice
        store.commit(Commit(events=[first, second, later]))
    assert len(outbox_items(store)) == 2


def test_an_erasure_rewrites_an_event_that_shares_an_item(store: DynamoRepository) -> None:
    # Given a commit's two events of one moment, about two customers, and a lone event
    theirs, other = event("sub_1", "cus_gone"), event("sub_2", "cus_kept")
    lone = event("sub_3", "cus_gone", T0 + timedelta(seconds=1))
    store.commit(Commit(events=[other, theirs]))
    store.commit(Commit(events=[lone]))
    # When the erased customer's events are found and rewritten
    found = store.customer_events("cus_gone", [DAY])
    assert sorted(e["id"] for e in found) == sorted([theirs.id, lone.id])
    store.rewrite_events([e | {"data": {"n": 0}} for e in found])
    # Then theirs changed in place, the other customer's event did not, nothing was added
    listed = {e["id"]: e for e in store.events_between(T0, T0 + timedelta(seconds=2))}
    assert listed[theirs.id]["data"] == {"n": 0} and listed[lone.id]["data"] == {"n": 0}
    assert listed[other.id] == other.to_dict()
    assert len(listed) == 3 and len(outbox_items(store)) == 2


def test_rewriting_an_event_that_is_not_stored_is_refused_and_creates_nothing(
    store: DynamoRepository,
) -> None:
    store.commit(Commit(events=[event("sub_1", "cus_1"), event("sub_2", "cus_1")]))
    ghost = event("sub_9", "cus_1").to_dict()
    with pytest.raises(LookupError):
        store.rewrite_events([ghost])
    assert len(outbox_items(store)) == 1
    assert ghost["id"] not in {e["id"] for e in store.events_between(T0, T0 + timedelta(1))}
