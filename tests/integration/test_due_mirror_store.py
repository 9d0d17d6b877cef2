"""On DynamoDB Local, the simulator's copy of the due index answers what the index answers
after every write the repository makes to it."""

from datetime import UTC, datetime, timedelta

from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.ports import Commit, Marker
from tenure.store.due_mirror import DueIndexMirror
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def reminder(key: str, due: datetime) -> Notice:
    return Notice(
        key=key,
        kind=NoticeKind.RECEIPT,
        customer_id="alice",
        subscription_id="sub-1",
        due_at=due,
        created_at=T0 - timedelta(hours=1),
        data={"invoice_id": "inv-1"},
    )


def test_the_copy_agrees_with_the_index_as_notices_are_planned_moved_and_sent(
    local_stack: LocalStack,
) -> None:
    local_stack.reset_table()
    client = local_stack.dynamodb_client()
    mirror = DueIndexMirror(local_stack.table_name, client)
    mirror.attach(client)
    repo = DynamoRepository(client, local_stack.table_name)

    def agree() -> datetime | None:
        assert mirror.next_notice_at() == repo.next_notice_at()
        assert mirror.next_due_at() == repo.next_due_at()
        return mirror.next_notice_at()

    assert agree() is None
    repo.commit(Commit(notices=[reminder("n1", T0 + timedelta(hours=3)), reminder("n2", T0)]))
    assert agree() == T0
    repo.commit(Commit(notices=[reminder("n2", T0 + timedelta(days=1))]))  # planned again, later
    assert agree() == T0 + timedelta(hours=3)
    (first,) = repo.due_notices(T0 + timedelta(hours=3))
    first.status = NoticeStatus.SENDING
    repo.commit(Commit(notices=[first], markers=[Marker("email:n1", T0 + timedelta(days=9))]))
    assert agree() == T0 + timedelta(days=1)
    assert mirror.rebuilds == 1, "only the first answer read the index"


def test_a_repository_told_the_shards_due_reads_the_same_notices_from_fewer_shards(
    local_stack: LocalStack,
) -> None:
    local_stack.reset_table()
    client = local_stack.dynamodb_client()
    mirror = DueIndexMirror(local_stack.table_name, client)
    mirror.attach(client)
    every = DynamoRepository(client, local_stack.table_name)
    told = DynamoRepository(client, local_stack.table_name, due_shards=mirror.shards_due)
    every.commit(Commit(notices=[reminder(f"n{i}", T0 + timedelta(hours=i)) for i in range(6)]))
    mirror.next_notice_at()  # read the index once, before counting
    queries: list[str] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: queries.append(params["IndexName"]),
    )

    for hour in (0, 2, 5):
        moment = T0 + timedelta(hours=hour)
        queries.clear()
        expected = [n.key for n in every.due_notices(moment)]
        asked_of_every = len(queries)
        queries.clear()
        assert [n.key for n in told.due_notices(moment)] == expected
        assert len(queries) == len(mirror.shards_due("NOTE", moment)) < asked_of_every
    queries.clear()
    assert told.due(T0) == [] and told.due_notices(T0 - timedelta(hours=1)) == []
    assert queries == [], "nothing due, nothing asked"


def test_one_shard_due_is_read_in_the_callers_thread_and_several_side_by_side() -> None:
    from threading import current_thread

    from tenure.store.dynamodb import _each_shard

    def where(shard: int) -> dict[str, object]:
        return {"shard": shard, "thread": current_thread().name}

    assert _each_shard(where, [5]) == [{"shard": 5, "thread": current_thread().name}]
    several = _each_shard(where, iter([1, 4]))
    assert [page["shard"] for page in several] == [1, 4]
    assert all(str(page["thread"]).startswith("due-shard") for page in several)
