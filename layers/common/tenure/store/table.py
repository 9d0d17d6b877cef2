"""The table under DynamoRepository: its client, name and caches (one __init__ for every
part of the repository), the reads and puts every part builds on, the due index's shards,
and the key shapes more than one part writes. See docs/data-model.md."""

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.customers import Customer
from tenure.domain.notices import Notice
from tenure.domain.numbering import NumberedKind, Numbering
from tenure.domain.plans import Plan
from tenure.domain.programs import ProgramsSetting
from tenure.store import codec
from tenure.store.codec import from_item, to_item

DUE_SHARDS = 8

WORK_DUE = "DUE"  # renewals, retries, expiries: the renewals scheduler's shards

NOTICE_DUE = "NOTE"  # emails owed: the reminders function's shards


def due_shard(entity_id: str) -> int:
    return int(hashlib.sha256(entity_id.encode()).hexdigest()[:8], 16) % DUE_SHARDS


_pool: ThreadPoolExecutor | None = None


def each_shard(
    query: Callable[[int], dict[str, Any]], shards: Iterable[int] = range(DUE_SHARDS)
) -> list[dict[str, Any]]:
    """Run one query per due shard side by side: the shards are independent partitions.
    One shard (the simulator's repository asks only those holding anything due) is queried
    in the calling thread: a hand-over to the pool and back would cost more than it saves."""
    global _pool
    shards = list(shards)
    if len(shards) == 1:
        return [query(shards[0])]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=DUE_SHARDS, thread_name_prefix="due-shard")
    return list(_pool.map(query, shards))


def notice_from_item(item: dict[str, Any]) -> Notice:
    """A notice from its item, whose `id` its key holds (items written before it was left
    out hold it too)."""
    return codec.notice_from_attrs({"id": notice_id_from_key(item)} | item)


def notice_id_from_key(item: dict[str, Any]) -> str:
    return str(item["PK"]).removeprefix("NOTICE#")


def day_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def email_partition(lowered: str) -> str:
    # Sharded by the email's first character: a prefix search reads one partition, and
    # customers' creations spread over ~40 partitions instead of one.
    return f"EMAIL#{lowered[0]}"


def email_item(customer: Customer) -> dict[str, Any]:
    """A customer's entry in the email search index (console search by email prefix)."""
    return email_entry(customer.email.lower(), customer.id)


def email_entry(lowered: str, customer_id: str) -> dict[str, Any]:
    """The email search index's entry of one (lowercased) address of a customer."""
    return {
        "PK": email_partition(lowered),
        "SK": f"{lowered}#{customer_id}",
        "email": lowered,
        "customer_id": customer_id,
    }


def failed_condition(exc: ClientError) -> bool:
    """Whether a single write was refused on its condition (and so wrote nothing)."""
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")


def counter_key(counter: tuple[str, int, int]) -> dict[str, str]:
    """The key of a number series' counter: (kind, series, year)."""
    kind, series, year = counter
    return {"PK": f"SEQ#{kind}#{series}#{year}", "SK": "SEQ"}


def last_number(counter_item: dict[str, Any] | None) -> int:
    """The last number a counter gave: 0 for a series that has none yet (no item)."""
    return int(counter_item["last"]) if counter_item else 0


class DynamoTable:
    """The table the repository's parts share: constructed once, by DynamoRepository."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        numbering: Numbering = Numbering(),
        due_shards: Callable[[str, datetime], Iterable[int]] | None = None,
    ) -> None:
        self._ddb = client
        # Which shards of a due prefix may hold work due by a moment (default: all). Only
        # local tooling that sees every write to its table can tell (DueIndexMirror); a
        # deployed function asks every shard, since other functions write the table too.
        self._due_shards = due_shards
        self._table = table_name
        self._sleep = sleep  # between tries of a commit that lost a race on a derived record
        self._monotonic = monotonic  # ages the programs kept (a cache's clock, not business time)
        self._plans: dict[str, tuple[float, Plan]] = {}
        self._programs: tuple[float, ProgramsSetting] | None = None
        self._numbering = numbering
        # The last number this container saw on each counter (kind, series, year): the next
        # commit takes the one after it without reading, on the condition that the counter
        # has not moved (docs/invoices.md). A series this container lost is left for the next.
        self._last_numbers: dict[tuple[str, int, int], int] = {}
        self._series = {kind: numbering.home for kind in NumberedKind}
        # Counters a commit is expected to need that this container has not seen yet
        # (expect_numbering): read with the next customer read, not by a request of their own.
        self._expected_counters: set[tuple[str, int, int]] = set()

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._ddb.get_item(
            TableName=self._table, Key=to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def _get_with_expected_counters(self, pk: str, sk: str) -> dict[str, Any] | None:
        """The item, read with any counter a commit is expected to need (one BatchGetItem
        instead of two GetItems): each counter's last number is then known, 0 if it has none."""
        if not self._expected_counters:
            return self._get(pk, sk)
        counters: dict[tuple[str, str], tuple[str, int, int]] = {}
        for name in self._expected_counters:
            key = counter_key(name)
            counters[(key["PK"], key["SK"])] = name
        self._expected_counters = set()
        found = {(i["PK"], i["SK"]): i for i in self._batch_get([(pk, sk), *counters])}
        for where, name in counters.items():
            self._last_numbers.setdefault(name, last_number(found.get(where)))
        return found.get((pk, sk))

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        kwargs["TableName"] = self._table
        while True:
            page = self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _gsi1(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        return self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": pk, ":prefix": prefix}),
        )

    def _batch_get(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """BatchGetItem in pages of 100, retrying what DynamoDB leaves unprocessed."""
        found: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [
                        to_item({"PK": pk, "SK": sk}) for pk, sk in unique[start : start + 100]
                    ],
                    "ConsistentRead": True,
                }
            }
            while request:
                page = self._ddb.batch_get_item(RequestItems=request)
                found.extend(from_item(i) for i in page.get("Responses", {}).get(self._table, []))
                request = page.get("UnprocessedKeys") or {}
        return found

    def _versioned_put(self, attrs: dict[str, Any], version: int, entity: str) -> dict[str, Any]:
        attrs = attrs | {"entity": entity, "version": version + 1}
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(attrs)}
        if version == 0:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = to_item({":v": version})
        return {"Put": put}

    def _create_put(self, attrs: dict[str, Any], entity: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(attrs | {"entity": entity}),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    # Keyed by a hash of the address: the table never holds a bounced address in clear twice.
    @staticmethod
    def _suppression_pk(email: str) -> str:
        return "SUPP#" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
