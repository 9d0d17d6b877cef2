"""A copy of the due index kept from the writes one process makes, for local tooling that owns
every writer of its table (the simulator): it answers "when is the next work due?" without a
query per shard.

A deployed function never uses it: there, other functions write the same table, so only the
index itself knows what is due. The copy is exact while it sees every write that lands; a write
it cannot read for certain (an update naming the due keys, PartiQL, a failure other than a
refused condition, items DynamoDB left unprocessed) marks it stale, and the next question
rebuilds it from the index.
"""

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.timeutil import iso, parse_iso
from tenure.store.dynamodb import DUE_SHARDS, NOTICE_DUE, WORK_DUE

# Requests that change items; reads pass untouched.
_WRITES = {"PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"}
_UNREADABLE = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
_TABLE_CHANGES = {"CreateTable", "DeleteTable", "UpdateTable", "RestoreTableFromBackup"}
# A refused condition or a cancelled transaction wrote nothing; any other failure may have.
_NOTHING_WRITTEN = {"ConditionalCheckFailedException", "TransactionCanceledException"}

Key = tuple[str, str]


class DueIndexMirror:
    """The due moments of the items in `table`, per due kind (renewal work, notices)."""

    def __init__(self, table: str, client: Any) -> None:
        self._table = table
        self._query: Callable[..., dict[str, Any]] = client.query
        self._entries: dict[Key, tuple[str, str]] = {}  # item key -> (prefix, DueSK)
        self._heaps: dict[str, list[tuple[str, Key]]] = {WORK_DUE: [], NOTICE_DUE: []}
        # The same entries by shard (DuePK), to tell which shards hold anything due.
        self._shard_heaps: dict[str, list[tuple[str, Key]]] = {}
        # Stale until first read: the table may already hold items (a reused local stack).
        self.stale = True
        self.rebuilds = 0

    def attach(self, client: Any) -> Any:
        """Watch every request `client` makes; call before any write to the table."""
        call = client._make_api_call

        def watched(operation: str, params: dict[str, Any]) -> Any:
            if operation not in _WRITES and operation not in _UNREADABLE | _TABLE_CHANGES:
                return call(operation, params)
            try:
                response = call(operation, params)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _NOTHING_WRITTEN:
                    self.stale = True
                raise
            except Exception:
                self.stale = True
                raise
            self.observe(operation, params, response)
            return response

        client._make_api_call = watched
        return client

    # -- what the simulator asks ---------------------------------------------------------------
    def next_due_at(self) -> datetime | None:
        return self._first(WORK_DUE)

    def next_notice_at(self) -> datetime | None:
        return self._first(NOTICE_DUE)

    def shards_due(self, prefix: str, now: datetime) -> list[int]:
        """The shards of `prefix` (WORK_DUE, NOTICE_DUE) holding an item due at or before
        `now`: a run that asks only these reads what it would have read from all of them
        (the others would answer nothing), without a query per empty shard."""
        if self.stale:
            self._rebuild()
        upper = f"{iso(now)}#~"  # as the store's own due queries bound DueSK
        found = []
        for shard in range(DUE_SHARDS):
            heap = self._shard_heaps.get(f"{prefix}#{shard}", [])
            while heap and self._entries.get(heap[0][1]) != (prefix, heap[0][0]):
                heapq.heappop(heap)
            if heap and heap[0][0] <= upper:
                found.append(shard)
        return found

    # -- what the writes tell ------------------------------------------------------------------
    def observe(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        """Apply one request that succeeded."""
        if operation in _UNREADABLE or operation in _TABLE_CHANGES:
            self.stale = True
        elif operation == "PutItem":
            self._put(params["TableName"], params["Item"])
        elif operation == "DeleteItem":
            self._delete(params["TableName"], params["Key"])
        elif operation == "UpdateItem":
            self._update(params["TableName"], params.get("UpdateExpression", ""))
        elif operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                if "Put" in op:
                    self._put(op["Put"]["TableName"], op["Put"]["Item"])
                elif "Delete" in op:
                    self._delete(op["Delete"]["TableName"], op["Delete"]["Key"])
                elif "Update" in op:
                    self._update(op["Update"]["TableName"], op["Update"]["UpdateExpression"])
        elif operation == "BatchWriteItem":
            if response.get("UnprocessedItems", {}).get(self._table):
                self.stale = True  # which of them landed is the caller's retry to decide
            for request in params["RequestItems"].get(self._table, ()):
                if "PutRequest" in request:
                    self._put(self._table, request["PutRequest"]["Item"])
                elif "DeleteRequest" in request:
                    self._delete(self._table, request["DeleteRequest"]["Key"])

    def _put(self, table: str, item: dict[str, Any]) -> None:
        if table != self._table:
            return
        key = (item["PK"]["S"], item["SK"]["S"])
        due_pk, due_sk = item.get("DuePK", {}).get("S"), item.get("DueSK", {}).get("S")
        if due_pk is None or due_sk is None:
            self._entries.pop(key, None)  # a sparse index: without both keys, not in it
            return
        prefix = due_pk.split("#", 1)[0]
        self._entries[key] = (prefix, due_sk)
        heapq.heappush(self._heaps.setdefault(prefix, []), (due_sk, key))
        heapq.heappush(self._shard_heaps.setdefault(due_pk, []), (due_sk, key))

    def _delete(self, table: str, key: dict[str, Any]) -> None:
        if table == self._table:
            self._entries.pop((key["PK"]["S"], key["SK"]["S"]), None)

    def _update(self, table: str, expression: str) -> None:
        # The store sets the due keys only by putting whole items; an update that names them
        # is one this copy cannot follow.
        if table == self._table and "Due" in expression:
            self.stale = True

    # -- reading the copy ----------------------------------------------------------------------
    def _first(self, prefix: str) -> datetime | None:
        if self.stale:
            self._rebuild()
        heap = self._heaps.setdefault(prefix, [])
        # Entries moved or removed since they were pushed are dropped as they surface.
        while heap and self._entries.get(heap[0][1]) != (prefix, heap[0][0]):
            heapq.heappop(heap)
        return parse_iso(heap[0][0].split("#", 1)[0]) if heap else None

    def _rebuild(self) -> None:
        self._entries.clear()
        for heap in self._heaps.values():
            heap.clear()
        self._shard_heaps.clear()
        for prefix in (WORK_DUE, NOTICE_DUE):
            for shard in range(DUE_SHARDS):
                for raw in self._index_items(f"{prefix}#{shard}"):
                    self._put(self._table, raw)
        self.stale = False
        self.rebuilds += 1

    def _index_items(self, due_pk: str) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "DueIndex",
            "KeyConditionExpression": "DuePK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": due_pk}},
            "ProjectionExpression": "PK, SK, DuePK, DueSK",
        }
        while True:
            page = self._query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
