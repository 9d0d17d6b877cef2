"""On DynamoDB Local, many emails' claims go in one transaction, and the claims that fail
their conditions cost the others one more try, not one transaction each."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.ports import Commit, Marker
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _claims(repo: DynamoRepository, count: int) -> list[Commit]:
    planned = [
        Notice(f"s{n}:receipt:x:0", NoticeKind.RECEIPT, f"c{n}", f"s{n}", T0, T0, data={})
        for n in range(count)
    ]
    repo.commit(Commit(notices=planned))
    changes = []
    for notice in repo.due_notices(T0):
        notice.status = NoticeStatus.SENDING
        marker = Marker(f"email:{notice.key}", T0 + timedelta(days=400))
        changes.append(Commit(notices=[notice], markers=[marker]))
    return changes


def _counting(client: Any) -> list[int]:
    sizes: list[int] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: sizes.append(len(params["TransactItems"])),
    )
    return sizes


def test_ten_claims_are_one_transaction(local_stack: LocalStack) -> None:
    local_stack.reset_table()
    client = local_stack.dynamodb_client()
    repo = DynamoRepository(client, local_stack.table_name)
    changes = _claims(repo, 10)
    sizes = _counting(client)
    assert repo.commit_each(changes) == [None] * 10
    assert sizes == [20]


def test_claims_lost_to_other_runs_leave_the_rest_to_one_more_transaction(
    local_stack: LocalStack,
) -> None:
    local_stack.reset_table()
    client = local_stack.dynamodb_client()
    repo = DynamoRepository(client, local_stack.table_name)
    changes = _claims(repo, 10)
    lost = {changes[2].notices[0].key, changes[7].notices[0].key}
    repo.commit(Commit(markers=[Marker(f"email:{key}", T0) for key in sorted(lost)]))
    sizes = _counting(client)
    results = repo.commit_each(changes)
    assert {c.notices[0].key for c, r in zip(changes, results, strict=True) if r} == lost
    assert sizes == [20, 16]
    for change in changes:
        stored = repo.get_notice(change.notices[0].key)
        assert stored is not None
        expected = NoticeStatus.SCHEDULED if stored.key in lost else NoticeStatus.SENDING
        assert stored.status is expected
