"""DynamoRepository's due work: the due index's shards (renewals, retries, expiries; emails
owed), suppressed addresses and the notices' reads."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tenure.domain.due import DueKind
from tenure.domain.notices import Notice
from tenure.domain.timeutil import iso, parse_iso
from tenure.ports import DueItem
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.table import (
    DUE_SHARDS,
    NOTICE_DUE,
    WORK_DUE,
    DynamoTable,
    each_shard,
    notice_from_item,
)


def _due_item(raw: dict[str, Any]) -> DueItem:
    due_at, kind, entity_id = raw["DueSK"].split("#", 2)
    # The index holds whole items and a query is billed on them whether projected or not: a
    # due subscription comes with everything its renewal needs, at no extra cost.
    sub = codec.subscription_from_attrs(raw) if raw.get("entity") == "subscription" else None
    return DueItem(entity_id, parse_iso(due_at), DueKind(kind), raw.get("customer_id"), sub)


class DynamoDueWork(DynamoTable):
    """What is due, read shard by shard (docs/data-model.md, DueIndex)."""

    # -- due work ---------------------------------------------------------------------------
    def due(self, now: datetime, limit: int = 100) -> list[DueItem]:
        """What is due at or before `now`, oldest first in each shard: bounded queries on the
        sharded index, never a scan. Every item read is returned (about `limit` in all: each
        shard gives up to its share), so a caller never reads what it then throws away."""
        return next(self.due_pages(now, limit), [])

    def due_pages(self, now: datetime, page: int = 1000) -> Iterator[list[DueItem]]:
        """Everything due at or before `now`, a page (about `page` items) at a time: each
        shard's query goes on from where its last page stopped, so a long run reads each due
        item once, however many pages it takes."""
        starts = self._due_starts(WORK_DUE, now)
        while starts:
            raws, starts = self._due_page(WORK_DUE, now, page, starts)
            if found := [_due_item(raw) for raw in raws]:
                found.sort(key=lambda d: (d.due_at, d.entity_id))
                yield found

    def due_notices(self, now: datetime, limit: int = 100) -> list[Notice]:
        """Notices due at or before `now`: the index holds whole items, so nothing more is read.
        Shards that hold more than their share of `limit` fill what the others left, so fewer
        than `limit` notices means nothing else was due: a run needs no pass to find none."""
        raws, starts = self._due_page(NOTICE_DUE, now, limit, self._due_starts(NOTICE_DUE, now))
        for shard, start in sorted(starts.items()):  # one by one: none reads past the limit
            if len(raws) >= limit:
                break
            raws += self._due_page(NOTICE_DUE, now, 0, {shard: start}, limit - len(raws))[0]
        notices = [notice_from_item(i) for i in raws]
        notices.sort(key=lambda n: (n.due_at, n.key))
        return notices

    def _due_starts(self, prefix: str, now: datetime) -> dict[int, dict[str, Any] | None]:
        """Each shard to read, from its first item."""
        shards = range(DUE_SHARDS) if self._due_shards is None else self._due_shards(prefix, now)
        return dict.fromkeys(shards)

    def _due_page(
        self,
        prefix: str,
        now: datetime,
        limit: int,
        starts: dict[int, dict[str, Any] | None],
        share: int | None = None,
    ) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any] | None]]:
        """One page of due items from the shards in `starts` (each from its start key, None:
        from its first item), up to `share` from each (default: its share of `limit`);
        returns the items and where each shard not yet read to its end goes on from."""
        upper = f"{iso(now)}#~"  # '~' sorts after every character an id or kind may use
        share = share or max(1, -(-limit // DUE_SHARDS))

        def shard_query(shard: int) -> dict[str, Any]:
            items: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": "DueIndex",
                "KeyConditionExpression": "DuePK = :pk AND DueSK <= :upper",
                "ExpressionAttributeValues": to_item({":pk": f"{prefix}#{shard}", ":upper": upper}),
            }
            if (start := starts[shard]) is not None:
                kwargs["ExclusiveStartKey"] = start
            resume = None
            while len(items) < share:
                page = self._ddb.query(**kwargs, Limit=share - len(items))
                items.extend(page.get("Items", []))
                resume = page.get("LastEvaluatedKey")
                if resume is None:
                    break
                kwargs["ExclusiveStartKey"] = resume
            return {"Items": items, "shard": shard, "resume": resume}

        pages = each_shard(shard_query, list(starts))
        items = [from_item(raw) for page in pages for raw in page["Items"]]
        return items, {p["shard"]: p["resume"] for p in pages if p["resume"] is not None}

    def next_due_at(self) -> datetime | None:
        return self._first_due(WORK_DUE)

    def next_notice_at(self) -> datetime | None:
        return self._first_due(NOTICE_DUE)

    def is_suppressed(self, email: str) -> bool:
        return self._get(self._suppression_pk(email), "SUPP") is not None

    def suppress(self, email: str, reason: str, at: datetime) -> None:
        item = {
            "PK": self._suppression_pk(email),
            "SK": "SUPP",
            "entity": "suppression",
            "reason": reason,
            "at": iso(at),
        }
        self._ddb.put_item(TableName=self._table, Item=to_item(item))

    def late_invoices(self, customer_id: str) -> list[tuple[datetime, str]]:
        item = self._get(f"CUS#{customer_id}", "LATE")
        found = [entry.split("#", 1) for entry in (item or {}).get("late", ())]
        return sorted((parse_iso(start), invoice_id) for start, invoice_id in found)

    def get_notice(self, key: str) -> Notice | None:
        item = self._get(f"NOTICE#{key}", "NOTICE")
        return notice_from_item(item) if item else None

    def list_notices(self, customer_id: str) -> list[Notice]:
        return [notice_from_item(i) for i in self._gsi1(f"CUS#{customer_id}", "NOTICE#")]

    def _first_due(self, prefix: str) -> datetime | None:
        def first_of(shard: int) -> dict[str, Any]:
            page: dict[str, Any] = self._ddb.query(
                TableName=self._table,
                IndexName="DueIndex",
                KeyConditionExpression="DuePK = :pk",
                ExpressionAttributeValues=to_item({":pk": f"{prefix}#{shard}"}),
                ProjectionExpression="DueSK",
                Limit=1,
            )
            return page

        moments = [
            parse_iso(from_item(raw)["DueSK"].split("#", 1)[0])
            for page in each_shard(first_of)
            for raw in page.get("Items", [])
        ]
        return min(moments, default=None)
