"""The simulator's copy of the due index follows the writes it sees and falls back to the
index whenever it cannot be sure of one."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenure.store.due_mirror import DueIndexMirror

TABLE = "tenure"
JAN = datetime(2026, 1, 5, 9, tzinfo=UTC)
FEB = datetime(2026, 2, 5, 9, tzinfo=UTC)


def item(
    pk: str, due: datetime | None = None, prefix: str = "DUE", shard: int = 3
) -> dict[str, Any]:
    attrs: dict[str, Any] = {"PK": {"S": pk}, "SK": {"S": "X"}}
    if due is not None:
        attrs["DuePK"] = {"S": f"{prefix}#{shard}"}
        attrs["DueSK"] = {"S": f"{due.isoformat().replace('+00:00', 'Z')}#renewal#{pk}"}
    return attrs


def key(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "X"}}


class FakeClient:
    """Answers writes with `outcome` (a response, or an exception to raise) and index queries
    from `index`, counting them."""

    def __init__(self, index: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.index = index or {}
        self.queries = 0
        self.outcome: Any = {}

    def _make_api_call(self, operation: str, params: dict[str, Any]) -> Any:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def query(self, **params: Any) -> dict[str, Any]:
        self.queries += 1
        return {"Items": self.index.get(params["ExpressionAttributeValues"][":pk"]["S"], [])}


def watching(client: FakeClient) -> DueIndexMirror:
    mirror = DueIndexMirror(TABLE, client)
    mirror.attach(client)
    assert mirror.next_due_at() is None  # the first answer reads the (empty) index once
    return mirror


def test_a_put_with_due_keys_sets_the_next_due_moment_and_a_later_one_moves_it() -> None:
    client = FakeClient()
    mirror = watching(client)
    asked = client.queries
    client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a", JAN)})
    assert mirror.next_due_at() == JAN
    client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a", FEB)})
    assert mirror.next_due_at() == FEB
    assert client.queries == asked, "the answers come from the writes, not the index"


def test_an_item_put_without_due_keys_or_deleted_leaves_the_copy() -> None:
    client = FakeClient()
    mirror = watching(client)
    client._make_api_call(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": TABLE, "Item": item("SUB#a", JAN)}},
                {"Put": {"TableName": TABLE, "Item": item("SUB#b", FEB)}},
                {"Put": {"TableName": TABLE, "Item": item("NOTICE#n", JAN, prefix="NOTE")}},
            ]
        },
    )
    assert (mirror.next_due_at(), mirror.next_notice_at()) == (JAN, JAN)
    client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a")})
    assert mirror.next_due_at() == FEB
    client._make_api_call(
        "TransactWriteItems",
        {"TransactItems": [{"Delete": {"TableName": TABLE, "Key": key("NOTICE#n")}}]},
    )
    client._make_api_call("DeleteItem", {"TableName": TABLE, "Key": key("SUB#b")})
    assert (mirror.next_due_at(), mirror.next_notice_at()) == (None, None)


def test_writes_to_another_table_are_not_the_copys_business() -> None:
    client = FakeClient()
    mirror = watching(client)
    client._make_api_call("PutItem", {"TableName": "scratch", "Item": item("SUB#a", JAN)})
    assert mirror.next_due_at() is None


def test_a_refused_condition_or_cancelled_transaction_changes_nothing() -> None:
    client = FakeClient()
    mirror = watching(client)
    for code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
        client.outcome = ClientError({"Error": {"Code": code}}, "PutItem")
        with pytest.raises(ClientError):
            client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a", JAN)})
        assert not mirror.stale
    assert mirror.next_due_at() is None


def test_a_write_that_failed_otherwise_is_read_back_from_the_index() -> None:
    client = FakeClient({"DUE#3": [item("SUB#a", JAN)]})
    mirror = DueIndexMirror(TABLE, client)
    mirror.attach(client)
    mirror.next_due_at()
    client.outcome = ClientError({"Error": {"Code": "InternalServerError"}}, "PutItem")
    with pytest.raises(ClientError):
        client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a", FEB)})
    assert mirror.stale
    assert mirror.next_due_at() == JAN  # the index's answer: that write may not have landed
    assert mirror.rebuilds == 2


def test_an_update_naming_the_due_keys_or_partiql_is_read_back_from_the_index() -> None:
    client = FakeClient({"DUE#3": [item("SUB#a", FEB)]})
    mirror = DueIndexMirror(TABLE, client)
    mirror.attach(client)
    assert mirror.next_due_at() == FEB
    client._make_api_call(
        "UpdateItem",
        {"TableName": TABLE, "Key": key("SUB#a"), "UpdateExpression": "SET balance = :b"},
    )
    assert not mirror.stale, "an update that leaves the due keys alone is followed"
    client._make_api_call(
        "UpdateItem",
        {"TableName": TABLE, "Key": key("SUB#a"), "UpdateExpression": "SET DueSK = :sk"},
    )
    assert mirror.stale
    client.index["DUE#3"] = [item("SUB#a", JAN)]
    assert mirror.next_due_at() == JAN
    client._make_api_call("ExecuteStatement", {"Statement": "DELETE FROM tenure"})
    assert mirror.stale


def test_a_batch_write_is_followed_unless_dynamodb_left_some_of_it_unprocessed() -> None:
    client = FakeClient()
    mirror = watching(client)
    requests = [{"PutRequest": {"Item": item("SUB#a", JAN)}}]
    client._make_api_call("BatchWriteItem", {"RequestItems": {TABLE: requests}})
    assert mirror.next_due_at() == JAN and not mirror.stale
    client.outcome = {"UnprocessedItems": {TABLE: requests}}
    client._make_api_call("BatchWriteItem", {"RequestItems": {TABLE: requests}})
    assert mirror.stale


def test_a_mirror_of_a_table_that_already_holds_items_starts_from_the_index() -> None:
    client = FakeClient({"NOTE#5": [item("NOTICE#n", FEB, prefix="NOTE")]})
    mirror = DueIndexMirror(TABLE, client)
    assert mirror.next_notice_at() == FEB
    assert client.queries == 16  # every shard of both kinds, once


def test_only_the_shards_holding_something_due_by_the_moment_are_named() -> None:
    client = FakeClient()
    mirror = watching(client)
    writes = [
        item("SUB#a", JAN, shard=1),
        item("SUB#b", FEB, shard=6),
        item("NOTICE#n", JAN, prefix="NOTE", shard=4),
    ]
    for written in writes:
        client._make_api_call("PutItem", {"TableName": TABLE, "Item": written})
    assert mirror.shards_due("DUE", JAN) == [1]
    assert mirror.shards_due("DUE", FEB) == [1, 6]
    assert mirror.shards_due("NOTE", JAN) == [4]
    assert mirror.shards_due("DUE", JAN - timedelta(seconds=1)) == []


def test_a_shard_whose_due_item_moved_later_or_went_is_no_longer_named() -> None:
    client = FakeClient()
    mirror = watching(client)
    client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a", JAN, shard=2)})
    client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#b", JAN, shard=5)})
    client._make_api_call("PutItem", {"TableName": TABLE, "Item": item("SUB#a", FEB, shard=2)})
    client._make_api_call("DeleteItem", {"TableName": TABLE, "Key": key("SUB#b")})
    assert mirror.shards_due("DUE", JAN) == []
    assert mirror.shards_due("DUE", FEB) == [2]


def test_the_shards_due_of_a_stale_copy_are_read_from_the_index() -> None:
    client = FakeClient({"NOTE#7": [item("NOTICE#n", JAN, prefix="NOTE", shard=7)]})
    mirror = DueIndexMirror(TABLE, client)
    assert mirror.shards_due("NOTE", FEB) == [7]
    assert mirror.rebuilds == 1
