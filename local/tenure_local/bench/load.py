"""Loading the benches' large tables fast, with the items the real code writes.

A `StagedTable` stands in for the DynamoDB client of a `DynamoRepository`: the repository
commits to it exactly as it would to DynamoDB, and it keeps what those writes leave, by
key. `batch_write` then sends them to DynamoDB Local with BatchWriteItem, which loads a
scratch table about ten times faster than one transaction per commit (a fresh table
needs no conditions). See docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Any

Key = tuple[str, str]


def _key(item_or_key: dict[str, Any]) -> Key:
    return item_or_key["PK"]["S"], item_or_key["SK"]["S"]


class StagedTable:
    """Keeps every write a repository makes, in order and as the last image of each key, and
    answers the repository's reads from those images (so a commit that reads before it
    writes, like the ledger reading each customer's MRR state, sees what earlier commits
    staged). Conditions are not checked: it is for filling a table nobody else writes."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []
        self.items: dict[Key, dict[str, Any] | None] = {}

    # -- the client calls DynamoRepository makes when it writes, and the reads it makes then
    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        for op in TransactItems:
            if "Put" in op:
                self._put(op["Put"]["Item"])
            elif "Delete" in op:
                self._delete(op["Delete"]["Key"])
            elif "Update" in op:
                self._update(op["Update"])
            elif "ConditionCheck" not in op:
                raise NotImplementedError(f"staging {next(iter(op))} is not supported")
        return {}

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._put(Item)
        return {}

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.items.get(_key(Key))
        return {"Item": item} if item is not None else {}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        responses: dict[str, list[dict[str, Any]]] = {}
        for table, request in RequestItems.items():
            found = (self.items.get(_key(k)) for k in request["Keys"])
            responses[table] = [item for item in found if item is not None]
        return {"Responses": responses, "UnprocessedKeys": {}}

    # -- what to send ----------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        """Every write in the order made (a key may repeat: not for one BatchWriteItem)."""
        return list(self.ops)

    def final_requests(self) -> list[dict[str, Any]]:
        """One request per key, its last image or its deletion, in key order: DynamoDB Local
        took four times as long over the same items when each batch mixed partitions."""
        return [
            {"PutRequest": {"Item": item}}
            if item is not None
            else {"DeleteRequest": {"Key": {"PK": {"S": pk}, "SK": {"S": sk}}}}
            for (pk, sk), item in sorted(self.items.items(), key=lambda kv: kv[0])
        ]

    def _put(self, item: dict[str, Any]) -> None:
        self.ops.append({"PutRequest": {"Item": item}})
        self.items[_key(item)] = item

    def _update(self, update: dict[str, Any]) -> None:
        """An update made only of `SET name = :value` assignments (a numbering counter's),
        applied to the key's image; any other update is refused rather than guessed."""
        expression = update["UpdateExpression"].strip()
        if not expression.startswith("SET ") or any(
            word in expression for word in (" ADD ", " REMOVE ", " DELETE ", "if_not_exists")
        ):
            raise NotImplementedError(f"staging the update {expression!r} is not supported")
        names = update.get("ExpressionAttributeNames", {})
        values = update.get("ExpressionAttributeValues", {})
        item = dict(self.items.get(_key(update["Key"])) or update["Key"])
        for assignment in expression.removeprefix("SET ").split(","):
            name, _, value = (part.strip() for part in assignment.partition("="))
            if not value.startswith(":") or value not in values:
                raise NotImplementedError(f"staging the update {expression!r} is not supported")
            item[names.get(name, name)] = values[value]
        self._put(item)

    def _delete(self, key: dict[str, Any]) -> None:
        self.ops.append({"DeleteRequest": {"Key": key}})
        self.items[_key(key)] = None


def batch_write(client: Any, table: str, requests: list[dict[str, Any]]) -> int:
    """25 requests a call, one call at a time (DynamoDB Local serialises writes: concurrent
    BatchWriteItems measured 5 to 30 times slower), retrying what comes back unprocessed.
    Returns the number of requests sent."""
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start : start + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(requests)
