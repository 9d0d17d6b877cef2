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
