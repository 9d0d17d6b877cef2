"""DynamoRepository's history: events and MRR ledger entries by day, and the audit trail's
listings (by entity, by actor, by customer, the automated actors' events)."""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.domain.audit import AuditEntry, Sourced
from tenure.domain.events import CustomerFacts, MrrLedgerEntry
from tenure.domain.timeutil import iso, parse_iso, utc
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.event_items import in_table_order, unpack
from tenure.store.table import DynamoTable, day_text

# Items one query of an automated actor's events reads at most (the listing's budget is
# counted in these reads, docs/operations.md).
AUTOMATED_QUERY_PAGE = 200


class DynamoHistory(DynamoTable):
    """Reads of what happened: events, ledger entries and audit entries."""

    # -- history ----------------------------------------------------------------------------
    def _by_day(self, prefix: str, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            yield from self._query(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item(
                    {":pk": f"{prefix}#{day_text(day)}", ":lo": iso(start), ":hi": f"{iso(end)}"}
                ),
                ConsistentRead=True,
            )
            day += timedelta(days=1)

    def events_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Domain events with start <= occurred_at < end, in commit order within a moment."""
        return [body for body, _ in in_table_order(self._by_day("EVT", start, end))]

    def ledger_between(self, start: datetime, end: datetime) -> list[MrrLedgerEntry]:
        entries = []
        for i in self._by_day("MRR", start, end):
            entries.append(
                MrrLedgerEntry(
                    i["subscription_id"],
                    i["customer_id"],
                    i["currency"],
                    parse_iso(i["at"]),
                    int(i["before"]),
                    int(i["after"]),
                    i["reason"],
                    CustomerFacts.from_dict(i["customer"]) if i.get("customer") else None,
                )
            )
        return entries

    def list_audit(
        self,
        *,
        entity: str | None = None,
        actor: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> tuple[list[AuditEntry], str | None]:
        """One partition's entries in time order: the entity's (filtered by actor when both
        are named) or else the actor's copies."""
        if entity is None and actor is None:
            raise ValueError("name an entity or an actor")
        pk = f"AUDIT#{entity}" if entity is not None else f"ACTOR#{actor}"
        condition = "PK = :pk AND begins_with(SK, :prefix)"
        values = {":pk": pk, ":prefix": "AUDIT#"}
        if after is not None:
            condition = "PK = :pk AND SK BETWEEN :lo AND :hi"
            values = {":pk": pk, ":lo": f"AUDIT#{after}#", ":hi": "AUDIT#~"}
        found: list[AuditEntry] = []
        for item in self._query(
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_item(values),
            ConsistentRead=True,
        ):
            entry = codec.audit_from_attrs(item)
            if actor is not None and entry.actor != actor:
                continue
            if after is not None and entry.order <= after:
                continue
            found.append(entry)
            if len(found) > limit:
                break
        more = len(found) > limit
        page = found[:limit]
        return page, (page[-1].order if more and page else None)

    def sourced_events(self, customer_id: str, days: list[str]) -> list[Sourced]:
        found: list[Sourced] = []
        for day in sorted(set(days)):
            # Events are kept by day: the filter spares the transfer of other customers'
            # events and of people's changes, not their reads (docs/operations.md).
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                FilterExpression=(
                    "(#e.customer_id = :c OR attribute_exists(#es)) AND attribute_exists(#s)"
                ),
                ExpressionAttributeNames={"#e": "event", "#es": "events", "#s": "source"},
                ExpressionAttributeValues=to_item({":pk": f"EVT#{day}", ":c": customer_id}),
                ConsistentRead=True,
            ):
                # An item of several events (store/event_items.py) is sorted out here.
                if "source" not in item:
                    continue
                found.extend(
                    (event, str(item["source"]), _via(item))
                    for event, _ in unpack(item)
                    if event.get("customer_id") == customer_id
                )
        return found

    def activity_days(self, customer_id: str, limit: int) -> list[str]:
        page = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CUS#{customer_id}", ":prefix": "ADAY#"}),
            ProjectionExpression="SK",
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit,
        )
        days = [str(from_item(i)["SK"]).removeprefix("ADAY#") for i in page.get("Items", [])]
        return days[::-1]

    def automated_events(
        self, actor: str, *, upto: datetime, since: datetime, budget: int
    ) -> tuple[list[Sourced], datetime | None]:
        found: list[Sourced] = []
        read = 0
        first, last = iso(since) or "", iso(upto) or ""
        day = utc(upto).date()
        while day >= utc(since).date():
            name = day.isoformat()
            # The day's keys from `since` (on its day) to the end of `upto`'s moment (on its
            # own): `#~` sorts after every event id of the moment, `~` after every moment.
            lo = first if name == first[:10] else name
            hi = f"{last}#~" if name == last[:10] else f"{name}~"
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "PK = :pk AND SK BETWEEN :lo AND :hi",
                "FilterExpression": "#s = :actor",
                "ExpressionAttributeNames": {"#s": "source"},
                "ExpressionAttributeValues": to_item(
                    {":pk": f"EVT#{name}", ":lo": lo, ":hi": hi, ":actor": actor}
                ),
                "ScanIndexForward": False,
                "ConsistentRead": True,
                "Limit": AUTOMATED_QUERY_PAGE,
            }
            while True:
                page = self._ddb.query(**query)
                read += int(page.get("ScannedCount", 0))
                found.extend(_sourced(page.get("Items", [])))
                resume = page.get("LastEvaluatedKey")
                if resume is None:
                    break
                query["ExclusiveStartKey"] = resume
                if read >= budget:
                    # Finish the moment reading stopped in: its events may share an entry.
                    moment = str(from_item(resume)["SK"]).split("#", 1)[0]
                    query["ExpressionAttributeValues"] = to_item(
                        {":pk": f"EVT#{name}", ":lo": moment, ":hi": hi, ":actor": actor}
                    )
                    found.extend(_sourced(self._query_rest(query)))
                    return found, parse_iso(moment)
            day -= timedelta(days=1)
            if read >= budget and day >= utc(since).date():
                return found, datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        return found, None

    def _query_rest(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of `query` from where it stands (its ExclusiveStartKey) on, raw."""
        items: list[dict[str, Any]] = []
        while True:
            page = self._ddb.query(**query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_actor_audit_newest(
        self, actor: str, *, before: str, since: datetime, limit: int
    ) -> list[AuditEntry]:
        since_order = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        page = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues=to_item(
                {":pk": f"ACTOR#{actor}", ":lo": f"AUDIT#{since_order}", ":hi": f"AUDIT#{before}"}
            ),
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit + 1,  # (`before` itself, if it is an entry's order, is not wanted)
        )
        entries = [codec.audit_from_attrs(from_item(i)) for i in page.get("Items", [])]
        return [e for e in entries if e.order < before][:limit]

    def list_customer_audit(self, customer_id: str, limit: int) -> list[AuditEntry]:
        """The customer's entries, oldest first, at most `limit` (newest kept)."""
        page = self._ddb.query(
            TableName=self._table,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CUS#{customer_id}", ":prefix": "AUDIT#"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        entries = [codec.audit_from_attrs(from_item(i)) for i in page.get("Items", [])]
        return entries[::-1]


def _via(item: dict[str, Any]) -> str | None:
    via = item.get("via")
    return None if via is None else str(via)


def _sourced(raw: Iterable[dict[str, Any]]) -> list[Sourced]:
    """The events of outbox items as read raw, with their source and what it acted through."""
    found: list[Sourced] = []
    for item in map(from_item, raw):
        found.extend((event, str(item["source"]), _via(item)) for event, _ in unpack(item))
    return found
