"""A notice's item on DynamoDB leaves its `id` to its key and its copies' ids to the notice
(store/compact.py): read back, listed, due, exported and in a lost race it is the same
notice; a notice item of the old shape, with every attribute, still reads."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tenure.domain.customers import Contact
from tenure.domain.errors import ConcurrencyError
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, subscription_copy
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.dynamodb import DynamoRepository
from tenure_local.cli.export import write_export
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
KEY = "sub-1:upcoming_renewal:2026-03-04T09:00:00Z:3"


@pytest.fixture
def dynamo(local_stack: LocalStack) -> tuple[DynamoRepository, Any, str]:
    local_stack.reset_table()
    client, table = local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"]
    return DynamoRepository(client, table), client, table


def upcoming() -> Notice:
    plan = Plan(id="basic", amount=1000, currency="USD", interval="month")
    sub = Subscription.subscribe("sub-1", "alice", plan, T0 - timedelta(days=27))
    return Notice(
        key=KEY,
        kind=NoticeKind.UPCOMING_RENEWAL,
        customer_id="alice",
        subscription_id="sub-1",
        due_at=T0,
        created_at=T0 - timedelta(days=27),
        data={"lead_days": 3},
        contact=Contact("alice@example.com", "Alice", "ru", "Europe/Moscow"),
        subscription=subscription_copy(sub, 1),
    )


def raw_item(client: Any, table: str, key: str) -> dict[str, Any]:
    got = client.get_item(
        TableName=table, Key=to_item({"PK": f"NOTICE#{key}", "SK": "NOTICE"}), ConsistentRead=True
    )
    return from_item(got["Item"])


def test_a_notice_is_stored_without_its_id_and_read_back_whole_every_way(
    dynamo: tuple[DynamoRepository, Any, str], tmp_path: Path
) -> None:
    repo, client, table = dynamo
    notice = upcoming()
    repo.commit(Commit(notices=[notice]))
    item = raw_item(client, table, KEY)
    assert "id" not in item and not {"id", "customer_id"} & set(item["subscription"])
    assert None not in item.values()
    expected = replace(notice, version=1)
    assert repo.get_notice(KEY) == expected
    assert repo.list_notices("alice") == [expected]
    assert repo.due_notices(T0) == [expected]
    # An export (which leaves keys out) says its id.
    write_export([from_item(i) for i in client.scan(TableName=table)["Items"]], tmp_path)
    exported = (tmp_path / "notice.jsonl").read_text()
    assert f'"id": "{KEY}"' in exported


def test_a_notice_item_of_the_old_shape_reads_as_before(
    dynamo: tuple[DynamoRepository, Any, str],
) -> None:
    repo, client, table = dynamo
    notice = upcoming()
    sub = notice.subscription
    assert sub is not None
    old = {
        "PK": f"NOTICE#{KEY}",
        "SK": "NOTICE",
        "GSI1PK": "CUS#alice",
        "GSI1SK": f"NOTICE#2026-02-02T09:00:00Z#{KEY}",
        "DuePK": "NOTE#3",
        "DueSK": f"2026-03-01T09:00:00Z#upcoming_renewal#{KEY}",
        "id": KEY,
        "kind": "upcoming_renewal",
        "customer_id": "alice",
        "subscription_id": "sub-1",
        "due_at": "2026-03-01T09:00:00+00:00",
        "created_at": "2026-02-02T09:00:00+00:00",
        "status": "scheduled",
        "data": {"lead_days": 3},
        "sent_at": None,
        "message_id": None,
        "reason": None,
        "contact": {
            "email": "alice@example.com",
            "name": "Alice",
            "locale": "ru",
            "timezone": "Europe/Moscow",
        },
        # Every attribute, nulls and ids included, as subscription copies were stored.
        "subscription": {k: v for k, v in codec.subscription_to_attrs(sub).items()}
        | {"id": "sub-1", "customer_id": "alice", "cancel_at_period_end": False, "credit": 0},
        "version": 1,
        "entity": "notice",
    }
    client.put_item(TableName=table, Item=to_item(old))
    expected = replace(notice, version=1)
    assert repo.get_notice(KEY) == expected
    assert repo.due_notices(T0) == [expected]


def test_a_stale_notice_loses_and_the_error_names_it_by_its_key(
    dynamo: tuple[DynamoRepository, Any, str],
) -> None:
    repo, _, _ = dynamo
    repo.commit(Commit(notices=[upcoming()]))
    first, stale = repo.get_notice(KEY), repo.get_notice(KEY)
    assert first is not None and stale is not None
    first.status = NoticeStatus.SENDING
    repo.commit(Commit(notices=[first]))
    stale.status = NoticeStatus.SKIPPED
    with pytest.raises(ConcurrencyError, match=f"notice {KEY} changed meanwhile"):
        repo.commit(Commit(notices=[stale]))
