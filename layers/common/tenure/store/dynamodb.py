"""The single-table DynamoDB repository. Key shapes live here and nowhere else.

See docs/data-model.md for the key schema and every access pattern.
"""

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.audit import AuditEntry, Sourced, unnamed_days
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Customer, Payer, PaymentMethod
from tenure.domain.discounts import Coupon
from tenure.domain.due import DueKind
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    StaleCopyError,
    ValidationFailedError,
)
from tenure.domain.events import CustomerFacts, MrrLedgerEntry
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.notices import Notice
from tenure.domain.numbering import NumberedKind, Numbering, numbering_year
from tenure.domain.offers import SaveAttempt
from tenure.domain.plans import Plan
from tenure.domain.points import (
    KIND_RANK,
    PointsAccount,
    PointsEntry,
    PointsKind,
    PointsMove,
    not_enough,
)
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.programs import NO_PROGRAMS, ProgramsSetting
from tenure.domain.refunds import Refund
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso, parse_iso, utc
from tenure.listings import listings
from tenure.ports import (
    Commit,
    CopyCheck,
    DueItem,
    EmailMove,
    EventReads,
    IdempotencyRecord,
    Marker,
    MrrRead,
    Redemption,
    programs_moved,
    used_up,
)
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.event_items import event_items, in_table_order, unpack
from tenure.store.privacy import DynamoPrivacy
from tenure.store.sizes import WRITE_UNIT_BYTES, item_size
from tenure.store.webhooks_out import DynamoWebhookOut

DUE_SHARDS = 8
WORK_DUE = "DUE"  # renewals, retries, expiries: the renewals scheduler's shards
NOTICE_DUE = "NOTE"  # emails owed: the reminders function's shards
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_TRANSACTION_ITEMS = 100
# Items one query of an automated actor's events reads at most (the listing's budget is
# counted in these reads, docs/operations.md).
AUTOMATED_QUERY_PAGE = 200
# A commit whose only conflict is a customer's MRR state (a derived record: another change of
# the same customer committed first) is tried again from a fresh read, never reported: the
# caller's own records did not conflict, and each lost race means another change won, so the
# tries end. Twenty concurrent changes of one customer need at most twenty.
CUSTOMER_MRR_ATTEMPTS = 40
# A commit that lost a number series to another commit (its counter moved first) reads the
# counter again and tries the next series: each lost race means another commit was numbered,
# so fifty commits finalizing at once on one series need at most fifty tries.
NUMBER_ATTEMPTS = 64
_BACKOFF_CAP = 0.25  # seconds: full jitter, doubling from 5 ms
# How long a container keeps the programs it read before reading them again. A renewal reads
# nothing (docs/payments.md), yet prices the tenure discount from the programs: kept like
# plans, but only for a minute, since programs change. A write through this repository
# replaces the copy at once.
PROGRAMS_KEPT_SECONDS = 60.0
PLANS_KEPT_SECONDS = 60.0


def due_shard(entity_id: str) -> int:
    return int(hashlib.sha256(entity_id.encode()).hexdigest()[:8], 16) % DUE_SHARDS


_pool: ThreadPoolExecutor | None = None


def _each_shard(
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


def _due_item(raw: dict[str, Any]) -> DueItem:
    due_at, kind, entity_id = raw["DueSK"].split("#", 2)
    # The index holds whole items and a query is billed on them whether projected or not: a
    # due subscription comes with everything its renewal needs, at no extra cost.
    sub = codec.subscription_from_attrs(raw) if raw.get("entity") == "subscription" else None
    return DueItem(entity_id, parse_iso(due_at), DueKind(kind), raw.get("customer_id"), sub)


def _notice(item: dict[str, Any]) -> Notice:
    """A notice from its item, whose `id` its key holds (items written before it was left
    out hold it too)."""
    return codec.notice_from_attrs({"id": _notice_key(item)} | item)


def _notice_key(item: dict[str, Any]) -> str:
    return str(item["PK"]).removeprefix("NOTICE#")


def _packable(change: Commit) -> bool:
    """A change of emails only (notices, markers, copy checks), which commit_each packs."""
    emails = {"notices", "markers", "released_markers", "copy_checks"}
    return not any(getattr(change, f.name) for f in fields(change) if f.name not in emails)


# A change commit_each packs: its index, its operations, its copy checks by operation index.
_Packed = tuple[int, list[dict[str, Any]], dict[int, str]]


def _op_key(op: dict[str, Any]) -> tuple[str, str]:
    (body,) = op.values()
    raw = body.get("Item") or body["Key"]
    return raw["PK"]["S"], raw["SK"]["S"]


def _one_transaction(pending: list[_Packed]) -> tuple[list[_Packed], list[_Packed]]:
    """The changes that go together into the next transaction, in order, and the rest: at
    most MAX_TRANSACTION_ITEMS items, and no item twice (DynamoDB refuses a transaction
    that names one item in two operations, such as two emails' checks of one customer)."""
    batch: list[_Packed] = []
    rest: list[_Packed] = []
    seen: set[tuple[str, str]] = set()
    size = 0
    for entry in pending:
        keys = {_op_key(op) for op in entry[1]}
        if (batch and size + len(entry[1]) > MAX_TRANSACTION_ITEMS) or keys & seen:
            rest.append(entry)
            continue
        batch.append(entry)
        seen |= keys
        size += len(entry[1])
    return batch, rest


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _written_versions(change: Commit) -> dict[str, int]:
    """The version each entity of `change` that events are about is written at."""
    found: dict[str, int] = {}
    for group in (
        change.customers,
        change.subscriptions,
        change.invoices,
        change.installment_plans,
        change.collection_cases,
    ):
        for entity in group:
            found[entity.id] = entity.version + 1
    for plan in change.plans:
        found[plan.id] = 1  # written once, never changed
    for plan in change.plan_updates:
        found[plan.id] = len(plan.price_changes) + 1  # its price changes count its writes
    for coupon in change.coupons:
        found[coupon.id] = 1
    return found


def _email_partition(lowered: str) -> str:
    # Sharded by the email's first character: a prefix search reads one partition, and
    # customers' creations spread over ~40 partitions instead of one.
    return f"EMAIL#{lowered[0]}"


def _email_item(customer: Customer) -> dict[str, Any]:
    """A customer's entry in the email search index (console search by email prefix)."""
    lowered = customer.email.lower()
    return {
        "PK": _email_partition(lowered),
        "SK": f"{lowered}#{customer.id}",
        "email": lowered,
        "customer_id": customer.id,
    }


class DynamoRepository(DynamoWebhookOut, DynamoPrivacy):
    """Repository port on one DynamoDB table (see template.yaml `TenureTable`)."""

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

    # -- reads ------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._ddb.get_item(
            TableName=self._table, Key=to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

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

    def get_customer(self, customer_id: str) -> Customer | None:
        item = self._get(f"CUS#{customer_id}", "CUS")
        return codec.customer_from_attrs(item) if item else None

    def list_customers(
        self, limit: int, after: str | None = None
    ) -> tuple[list[Customer], str | None]:
        values = {":pk": "CUSTOMERS"}
        condition = "GSI1PK = :pk"
        if after:  # DynamoDB refuses an empty key value, so the first page has no bound
            condition += " AND GSI1SK > :after"
            values[":after"] = after
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "GSI1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "Limit": limit,
        }
        page = self._ddb.query(**kwargs)
        customers = [codec.customer_from_attrs(from_item(i)) for i in page.get("Items", [])]
        cursor = None
        if "LastEvaluatedKey" in page and customers:
            cursor = from_item(page["LastEvaluatedKey"])["GSI1SK"]
        return customers, cursor

    def find_customers_by_email(self, prefix: str, limit: int) -> list[tuple[str, str]]:
        wanted = prefix.lower()
        if not wanted:
            return []
        page = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": _email_partition(wanted), ":prefix": wanted}),
            Limit=limit,
        )
        return [(i["email"], i["customer_id"]) for i in map(from_item, page.get("Items", []))]

    def _email_move_ops(self, move: EmailMove) -> list[dict[str, Any]]:
        """Unconditional: the old entry may be missing (a customer created before the index,
        never backfilled) and the new one may be there (backfilled already); either way the
        index ends as the customer's record says. A change of case alone moves nothing (one
        transaction cannot delete and put the same item)."""
        old = move.old.lower() if move.old is not None else None
        new = move.new.lower() if move.new is not None else None
        if old == new:
            return []
        ops: list[dict[str, Any]] = []
        if old:
            key = {"PK": _email_partition(old), "SK": f"{old}#{move.customer_id}"}
            ops.append({"Delete": {"TableName": self._table, "Key": to_item(key)}})
        if new:
            item = {
                "PK": _email_partition(new),
                "SK": f"{new}#{move.customer_id}",
                "email": new,
                "customer_id": move.customer_id,
                "entity": "email_index",
            }
            ops.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        return ops

    def index_customer_emails(self, customers: list[Customer]) -> int:
        # Plain puts: an index item holds only what its key says, so writing it again is
        # harmless. One request per customer: a backfill runs once, off the request path.
        for customer in customers:
            self._ddb.put_item(TableName=self._table, Item=to_item(_email_item(customer)))
        return len(customers)

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethod]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :pm)",
            ExpressionAttributeValues=to_item({":pk": f"CUS#{customer_id}", ":pm": "PM#"}),
            ConsistentRead=True,
        )
        return [codec.payment_method_from_attrs(i) for i in items]

    def get_plan(self, plan_id: str) -> Plan | None:
        # A plan changes only by a new price change, announced weeks ahead: a warm function
        # keeps what it read for PLANS_KEPT_SECONDS, as it keeps the programs.
        kept = self._plans.get(plan_id)
        if kept is not None and self._monotonic() - kept[0] < PLANS_KEPT_SECONDS:
            return kept[1]
        item = self._get(f"PLAN#{plan_id}", "PLAN")
        if item is None:
            return None
        plan = codec.plan_from_attrs(item)
        self._plans[plan_id] = (self._monotonic(), plan)
        return plan

    def list_plans(self) -> list[Plan]:
        return [codec.plan_from_attrs(i) for i in self._gsi1("PLANS", "PLAN#")]

    def get_coupon(self, coupon_id: str) -> Coupon | None:
        item = self._get(f"COUPON#{coupon_id}", "COUPON")
        return codec.coupon_from_attrs(item) if item else None

    def list_coupons(self) -> list[Coupon]:
        return [codec.coupon_from_attrs(i) for i in self._gsi1("COUPONS", "COUPON#")]

    def get_programs(self) -> ProgramsSetting:
        """The programs, as read within the last PROGRAMS_KEPT_SECONDS (or written here)."""
        if self._programs is not None and self._programs_kept():
            return self._programs[1]
        return self.get_current_programs()

    def get_current_programs(self) -> ProgramsSetting:
        """The programs as stored now (one consistent read past the copy kept), which then
        becomes the copy kept."""
        return self._keep_programs(self._get("SETTING#programs", "SETTING"))

    def _programs_kept(self) -> bool:
        """Whether the copy of the programs kept is recent enough to use."""
        kept = self._programs
        return kept is not None and self._monotonic() - kept[0] < PROGRAMS_KEPT_SECONDS

    def _keep_programs(self, item: dict[str, Any] | None) -> ProgramsSetting:
        setting = codec.programs_from_attrs(item) if item else ProgramsSetting(NO_PROGRAMS)
        self._programs = (self._monotonic(), setting)
        return setting

    def get_points(self, customer_id: str) -> PointsAccount:
        """The account and its history: one query of the customer's points items."""
        account: dict[str, Any] = {}
        entries = []
        for item in self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CUS#{customer_id}", ":prefix": "PTS"}),
            ConsistentRead=True,
        ):
            if item["SK"] == "PTS":
                account = item
            else:
                entries.append(
                    PointsEntry(
                        customer_id,
                        parse_iso(item["at"]),
                        PointsKind(item["kind"]),
                        int(item["points"]),
                        item.get("invoice"),
                        int(item.get("amount", 0)),
                    )
                )
        return PointsAccount(
            customer_id,
            int(account.get("balance", 0)),
            int(account.get("pending", 0)),
            tuple(entries),
        )

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._get(f"SUB#{subscription_id}", "SUB")
        return codec.subscription_from_attrs(item) if item else None

    def get_subscription_with_customer(
        self, subscription_id: str, customer_id: str
    ) -> tuple[Subscription | None, Customer | None]:
        """Both items in one consistent BatchGetItem: what a renewal charge needs to read."""
        found = {
            item["PK"]: item
            for item in self._batch_get(
                [(f"SUB#{subscription_id}", "SUB"), (f"CUS#{customer_id}", "CUS")]
            )
        }
        sub = found.get(f"SUB#{subscription_id}")
        customer = found.get(f"CUS#{customer_id}")
        return (
            codec.subscription_from_attrs(sub) if sub else None,
            codec.customer_from_attrs(customer) if customer else None,
        )

    def list_subscriptions(self, customer_id: str) -> list[Subscription]:
        items = self._gsi1(f"CUS#{customer_id}", "SUB#")
        return [codec.subscription_from_attrs(i) for i in items]

    def price_members(
        self, price_id: str, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]:
        page = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK > :after",
            ExpressionAttributeValues=to_item(
                {":pk": f"PRICE#{price_id}", ":after": f"SUB#{after or ''}"}
            ),
            ProjectionExpression="SK",
            Limit=limit,
            ConsistentRead=True,
        )
        ids = [from_item(item)["SK"].removeprefix("SUB#") for item in page.get("Items", [])]
        return ids, (ids[-1] if "LastEvaluatedKey" in page and ids else None)

    def get_price_run(self, change_id: str) -> PriceNoticeRun | None:
        item = self._get(f"PRICERUN#{change_id}", "RUN")
        return codec.price_run_from_attrs(item) if item else None

    def get_installment_plan(self, plan_id: str) -> InstallmentPlan | None:
        item = self._get(f"IPL#{plan_id}", "IPL")
        return codec.installment_plan_from_attrs(item) if item else None

    def list_installment_plans(self, customer_id: str) -> list[InstallmentPlan]:
        items = self._gsi1(f"CUS#{customer_id}", "IPL#")
        return [codec.installment_plan_from_attrs(i) for i in items]

    def get_collection_case(self, case_id: str) -> CollectionCase | None:
        item = self._get(f"CASE#{case_id}", "CASE")
        return codec.collection_case_from_attrs(item) if item else None

    def list_collection_cases(self, customer_id: str) -> list[CollectionCase]:
        items = self._gsi1(f"CUS#{customer_id}", "CASE#")
        return [codec.collection_case_from_attrs(i) for i in items]

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        item = self._get(f"INV#{invoice_id}", "INV")
        return codec.invoice_from_attrs(item) if item else None

    def list_invoices(self, subscription_id: str, since: datetime | None = None) -> list[Invoice]:
        """A subscription's invoices by period start; with `since`, only those starting then
        or later (a key condition: what is older is not read)."""
        if since is None:
            items = self._gsi1(f"SUB#{subscription_id}", "INV#")
        else:
            items = self._query(
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk AND GSI1SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item(
                    {":pk": f"SUB#{subscription_id}", ":lo": f"INV#{iso(since)}", ":hi": "INV#~"}
                ),
            )
        return [codec.invoice_from_attrs(i) for i in items]

    def list_charges(self, invoice_id: str) -> list[Charge]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :chg)",
            ExpressionAttributeValues=to_item({":pk": f"INV#{invoice_id}", ":chg": "CHG#"}),
            ConsistentRead=True,
        )
        return [codec.charge_from_attrs(i) for i in items]

    def get_charge(self, invoice_id: str, attempt: int) -> Charge | None:
        item = self._get(f"INV#{invoice_id}", f"CHG#{attempt:04d}")
        return codec.charge_from_attrs(item) if item else None

    def get_save_attempt(self, subscription_id: str) -> SaveAttempt | None:
        item = self._get(f"SUB#{subscription_id}", "SAVE")
        return codec.save_attempt_from_attrs(item) if item else None

    def list_credit_notes(self, invoice_id: str) -> list[CreditNote]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :cn)",
            ExpressionAttributeValues=to_item({":pk": f"INV#{invoice_id}", ":cn": "CN#"}),
            ConsistentRead=True,
        )
        return [codec.credit_note_from_attrs(i) for i in items]

    def list_refunds(self, invoice_id: str) -> list[Refund]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :rfd)",
            ExpressionAttributeValues=to_item({":pk": f"INV#{invoice_id}", ":rfd": "RFD#"}),
            ConsistentRead=True,
        )
        return sorted((codec.refund_from_attrs(i) for i in items), key=lambda r: (r.at, r.id))

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
        notices = [_notice(i) for i in raws]
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

        pages = _each_shard(shard_query, list(starts))
        items = [from_item(raw) for page in pages for raw in page["Items"]]
        return items, {p["shard"]: p["resume"] for p in pages if p["resume"] is not None}

    def next_due_at(self) -> datetime | None:
        return self._first_due(WORK_DUE)

    def next_notice_at(self) -> datetime | None:
        return self._first_due(NOTICE_DUE)

    # Keyed by a hash of the address: the table never holds a bounced address in clear twice.
    @staticmethod
    def _suppression_pk(email: str) -> str:
        return "SUPP#" + hashlib.sha256(email.strip().lower().encode()).hexdigest()

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
        return _notice(item) if item else None

    def list_notices(self, customer_id: str) -> list[Notice]:
        return [_notice(i) for i in self._gsi1(f"CUS#{customer_id}", "NOTICE#")]

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
            for page in _each_shard(first_of)
            for raw in page.get("Items", [])
        ]
        return min(moments, default=None)

    # -- history ----------------------------------------------------------------------------
    def _by_day(self, prefix: str, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            yield from self._query(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item(
                    {":pk": f"{prefix}#{_day(day)}", ":lo": iso(start), ":hi": f"{iso(end)}"}
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

    # -- writes -----------------------------------------------------------------------------
    def commit(self, change: Commit) -> None:
        """One transaction: entities with version checks, their events and ledger entries."""
        ops: list[dict[str, Any]] = []
        versioned: list[
            Customer
            | Subscription
            | Invoice
            | Charge
            | Notice
            | SaveAttempt
            | InstallmentPlan
            | CollectionCase
            | PriceNoticeRun
        ] = []
        versioned_coupons: list[Coupon] = []
        # Puts that take a legal number in this commit: (index in ops, kind, year, entity).
        numbered: list[tuple[int, NumberedKind, int, Invoice | CreditNote]] = []
        joining = listings(change)
        joined = {c.id: c.subscription_ids for c in change.customers}
        for sub in joining.with_customer:
            joined[sub.customer_id] = joined[sub.customer_id] | {sub.id}
        for customer in change.customers:
            attrs = codec.customer_to_attrs(replace(customer, subscription_ids=joined[customer.id]))
            attrs |= {
                "PK": f"CUS#{customer.id}",
                "SK": "CUS",
                "GSI1PK": "CUSTOMERS",
                "GSI1SK": f"{iso(customer.created_at)}#{customer.id}",
            }
            # Sparse, as a subscription's: only an erasure owed at the provider is due.
            attrs |= self._due_keys(customer.id, customer.next_due())
            written = self._versioned_put(attrs, customer.version, "customer")
            ops.append(self._list_kept(written, customer.subscription_ids))
            versioned.append(customer)
            if customer.version == 0:  # created: its email goes into the search index
                ops.append(self._create_put(_email_item(customer), "email_index"))
        for move in change.email_moves:
            ops += self._email_move_ops(move)
        for method in change.payment_methods:
            attrs = codec.payment_method_to_attrs(method)
            attrs |= {"PK": f"CUS#{method.customer_id}", "SK": f"PM#{method.id}"}
            ops.append(self._create_put(attrs, "payment_method"))
        for plan in change.plans:
            attrs = codec.plan_to_attrs(plan)
            attrs |= {
                "PK": f"PLAN#{plan.id}",
                "SK": "PLAN",
                "GSI1PK": "PLANS",
                "GSI1SK": f"PLAN#{plan.id}",
            }
            ops.append(self._create_put(attrs, "plan"))
        for plan in change.plan_updates:
            attrs = codec.plan_to_attrs(plan) | {
                "PK": f"PLAN#{plan.id}",
                "SK": "PLAN",
                "GSI1PK": "PLANS",
                "GSI1SK": f"PLAN#{plan.id}",
                "entity": "plan",
            }
            held = len(plan.price_changes) - 1
            put: dict[str, Any] = {"TableName": self._table, "Item": to_item(attrs)}
            if held == 0:
                put["ConditionExpression"] = (
                    "attribute_exists(PK) AND attribute_not_exists(price_changes)"
                )
            else:
                put["ConditionExpression"] = "size(price_changes) = :n"
                put["ExpressionAttributeValues"] = to_item({":n": held})
            ops.append({"Put": put})
        for coupon in change.coupons:
            attrs = codec.coupon_to_attrs(coupon)
            attrs |= {
                "PK": f"COUPON#{coupon.id}",
                "SK": "COUPON",
                "GSI1PK": "COUPONS",
                "GSI1SK": f"COUPON#{coupon.id}",
            }
            ops.append(self._versioned_put(attrs, 0, "coupon"))
            versioned_coupons.append(coupon)
        ops.extend(self._redemption(r) for r in change.redemptions)
        ops.extend(self._points_ops(change.points))
        for setting in change.programs:
            attrs = codec.programs_to_attrs(setting)
            attrs |= {"PK": "SETTING#programs", "SK": "SETTING"}
            ops.append(self._versioned_put(attrs, setting.version, "programs"))
        for sub in change.subscriptions:
            attrs = codec.subscription_to_attrs(sub)
            attrs |= {
                "PK": f"SUB#{sub.id}",
                "SK": "SUB",
                "GSI1PK": f"CUS#{sub.customer_id}",
                "GSI1SK": f"SUB#{iso(sub.created_at)}#{sub.id}",
            }
            # Sparse: only items with work ahead are in the due index.
            attrs |= self._due_keys(sub.id, sub.next_due())
            ops.append(self._versioned_put(attrs, sub.version, "subscription"))
            versioned.append(sub)
        # Index in ops of each customer's listing update -> the subscriptions it lists.
        listing_ops: dict[int, list[Subscription]] = {}
        for customer_id in dict.fromkeys(sub.customer_id for sub in joining.by_update):
            subs = [sub for sub in joining.by_update if sub.customer_id == customer_id]
            listing_ops[len(ops)] = subs
            ops.append(self._listing_op(subs))
        for ipl in change.installment_plans:
            attrs = codec.installment_plan_to_attrs(ipl)
            attrs |= {
                "PK": f"IPL#{ipl.id}",
                "SK": "IPL",
                "GSI1PK": f"CUS#{ipl.customer_id}",
                "GSI1SK": f"IPL#{iso(ipl.created_at)}#{ipl.id}",
            } | self._due_keys(ipl.id, ipl.next_due())
            ops.append(self._versioned_put(attrs, ipl.version, "installment_plan"))
            versioned.append(ipl)
        for run in change.price_runs:
            attrs = codec.price_run_to_attrs(run) | {"PK": f"PRICERUN#{run.change_id}", "SK": "RUN"}
            attrs |= self._due_keys(run.change_id, run.next_due())
            ops.append(self._versioned_put(attrs, run.version, "price_run"))
            versioned.append(run)
        # A membership names only ids (kept beside the keys too, for an export, which drops
        # keys). One item once, whatever the commit lists twice (a transaction may not touch
        # an item twice).
        for price_id, sub_id in dict.fromkeys(change.price_members):
            member = {
                "PK": f"PRICE#{price_id}",
                "SK": f"SUB#{sub_id}",
                "entity": "price_member",
                "price_id": price_id,
                "subscription_id": sub_id,
            }
            ops.append({"Put": {"TableName": self._table, "Item": to_item(member)}})
        for case in change.collection_cases:
            attrs = codec.collection_case_to_attrs(case)
            attrs |= {
                "PK": f"CASE#{case.id}",
                "SK": "CASE",
                "GSI1PK": f"CUS#{case.customer_id}",
                "GSI1SK": f"CASE#{iso(case.opened_at)}#{case.id}",
            }
            ops.append(self._versioned_put(attrs, case.version, "collection_case"))
            versioned.append(case)
        for invoice in change.invoices:
            attrs = codec.invoice_to_attrs(invoice)
            attrs |= {
                "PK": f"INV#{invoice.id}",
                "SK": "INV",
                # An instalment's invoice is listed under its plan: it has no subscription.
                "GSI1PK": f"IPL#{invoice.installment_plan_id}"
                if invoice.installment_plan_id
                else f"SUB#{invoice.subscription_id}",
                "GSI1SK": f"INV#{iso(invoice.period_start)}#{invoice.id}",
            } | self._due_keys(invoice.id, invoice.next_due())
            if invoice.number is None and invoice.finalized:
                year = numbering_year(invoice.created_at)
                numbered.append((len(ops), NumberedKind.INVOICE, year, invoice))
            ops.append(self._versioned_put(attrs, invoice.version, "invoice"))
            versioned.append(invoice)
        ops.extend(self._late_record(change.invoices))
        for charge in change.charges:
            attrs = codec.charge_to_attrs(charge)
            attrs |= {"PK": f"INV#{charge.invoice_id}", "SK": f"CHG#{charge.attempt:04d}"}
            attrs |= self._due_keys(charge.due_id, charge.next_due())
            ops.append(self._versioned_put(attrs, charge.version, "charge"))
            versioned.append(charge)
        for refund in change.refunds:
            attrs = codec.refund_to_attrs(refund)
            attrs |= {"PK": f"INV#{refund.invoice_id}", "SK": f"RFD#{refund.id}"}
            ops.append(self._create_put(attrs, "refund"))
        for note in change.credit_notes:
            attrs = codec.credit_note_to_attrs(note)
            attrs |= {"PK": f"INV#{note.invoice_id}", "SK": f"CN#{iso(note.created_at)}#{note.id}"}
            year = numbering_year(note.created_at)
            numbered.append((len(ops), NumberedKind.CREDIT_NOTE, year, note))
            ops.append(self._create_put(attrs, "credit_note"))
        for saving in change.save_attempts:
            attrs = codec.save_attempt_to_attrs(saving)
            attrs |= {"PK": f"SUB#{saving.subscription_id}", "SK": "SAVE"}
            ops.append(self._versioned_put(attrs, saving.version, "save_attempt"))
            versioned.append(saving)
        change.check_payer_operations()
        ops.extend(self._payer_copy(sub_id, payer) for sub_id, payer in change.payer_copies)
        ops.extend(self._payer_check(payer) for payer in change.payer_checks)
        # The written versions go beside the events, not in them: the stream hands them to
        # the bus and the outbound webhooks (docs/events.md), the events' form unchanged.
        # Events of one moment share an item (store/event_items.py): half the capacity.
        for item in event_items(change.events, _written_versions(change)):
            if change.source is not None:  # beside the events too: their form is unchanged
                item["source"] = change.source
                if change.via is not None:
                    item["via"] = change.via
            ops.append(self._create_put(item, "event"))
        if change.source is not None:
            # The days the trail could not find from this commit's own records (none for a
            # renewal's): a small item each, overwritten by the next commit of that day.
            for customer_id, day in unnamed_days(
                change.events, change.invoices, change.charges, change.installment_plans
            ):
                item = {
                    "PK": f"CUS#{customer_id}",
                    "SK": f"ADAY#{day}",
                    # Said again outside the keys: an export drops keys (tenure export).
                    "customer_id": customer_id,
                    "day": day,
                    "entity": "activity_day",
                }
                ops.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        ops.extend(self._marker_op(marker) for marker in change.markers)
        ops.extend(self._release_op(key) for key in change.released_markers)
        for entry in change.audit:
            ops.extend(self._audit_puts(entry))
        for link in change.provider_links:
            item = {
                "PK": f"PROV#{link.provider}#{link.object_id}",
                "SK": "PROV",
                "tenure_id": link.tenure_id,
                "entity": "provider_link",
            }
            ops.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        for notice in change.notices:
            ops.append(self._notice_op(notice))
            versioned.append(notice)
        # Last, so that a claim lost to another run (its marker, its notice) is told first.
        checks: dict[int, str] = {}
        for check in change.copy_checks:
            for what, op in self._copy_check(check):
                checks[len(ops)] = what
                ops.append(op)
        read_ahead = {read.customer_id: read.record for read in change.mrr_read}
        mrr_moved = False
        for attempt in range(1, max(CUSTOMER_MRR_ATTEMPTS, NUMBER_ATTEMPTS) + 1):
            numbers, counters = self._take_numbers(numbered)
            numbered_ops = self._with_numbers(ops, numbers) + [
                self._counter_op(key, seen, last) for key, (seen, last) in counters.items()
            ]
            # A try after the MRR states moved reads them afresh: the ones read ahead had.
            every = numbered_ops + self._ledger_ops(change.ledger, {} if mrr_moved else read_ahead)
            if not every:
                return
            if len(every) > MAX_TRANSACTION_ITEMS:
                raise ValueError(f"a commit of {len(every)} items exceeds one transaction")
            try:
                self._ddb.transact_write_items(TransactItems=every)
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                if unlisted := self._listings_refused(exc, every, listing_ops):
                    # A card change came first: these subscriptions are made unlisted (their
                    # claims check their customer), and the commit is made again without them.
                    for sub in unlisted:
                        sub.listed = False
                    return self.commit(change)
                lost = self._races_lost(exc, every)
                if lost is not None and self._may_try_again(attempt, *lost):
                    mrr_moved = mrr_moved or lost[0]
                    for counter in lost[1]:
                        self._leave_series(counter)
                    # Spread the racers apart, or they meet again on the next try.
                    self._sleep(random.uniform(0, min(_BACKOFF_CAP, 0.005 * 2**attempt)))
                    continue
                raise self._conflict(exc, every, checks) from exc
        for customer in change.customers:
            customer.subscription_ids = joined[customer.id]
        for index, _, _, document in numbered:
            document.number = numbers[index]
        self._last_numbers.update((key, last) for key, (_, last) in counters.items())
        for entity in versioned:
            entity.version += 1
        for coupon in versioned_coupons:
            coupon.version += 1
        self._plans.update((plan.id, (self._monotonic(), plan)) for plan in change.plans)
        self._plans.update((plan.id, (self._monotonic(), plan)) for plan in change.plan_updates)
        for setting in change.programs:
            self._programs = (self._monotonic(), replace(setting, version=setting.version + 1))

    def _notice_op(self, notice: Notice) -> dict[str, Any]:
        attrs = codec.notice_to_attrs(notice)
        del attrs["id"]  # the key holds it (_notice): the notice is paid in two indexes
        attrs |= {
            "PK": f"NOTICE#{notice.key}",
            "SK": "NOTICE",
            "GSI1PK": f"CUS#{notice.customer_id}",
            "GSI1SK": f"NOTICE#{iso(notice.created_at)}#{notice.key}",
        }
        attrs |= self._due_keys(notice.key, notice.next_due(), NOTICE_DUE)
        if notice.version == 0:  # planned: written whatever is there (see Commit.notices)
            item = to_item(attrs | {"entity": "notice", "version": 1})
            if "invoice" in item and item_size(item) > WRITE_UNIT_BYTES:
                # A receipt's invoice copy saves its email three reads, worth less than
                # the write units it would add (in the table and its due index, and again
                # when the claim rewrites the item): past one unit, the invoice is read.
                del item["invoice"]
            return {"Put": {"TableName": self._table, "Item": item}}
        return self._versioned_put(attrs, notice.version, "notice")

    def _marker_op(self, marker: Marker) -> dict[str, Any]:
        item = {
            "PK": f"MARK#{marker.key}",
            "SK": "MARK",
            "id": marker.key,
            "expires_at": int(marker.expires_at.timestamp()),
        }
        return self._create_put(item, "marker")

    def _release_op(self, key: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": to_item({"PK": f"MARK#{key}", "SK": "MARK"}),
            }
        }

    # -- emails: many claims (or records) in one transaction --------------------------------
    def commit_each(self, changes: Sequence[Commit]) -> list[Exception | None]:
        """Commit each change on its own terms, packing many into one transaction: for each,
        None (committed) or the conflict it met, as `commit` would have raised it. A change
        of notices, markers and copy checks only is packed; any other is committed alone.
        A transaction cancelled by some changes' conditions commits the others on its next
        try (CancellationReasons tell which failed). A failure other than a condition
        (throttling, a network error) is raised: some changes may have been committed."""
        results: list[Exception | None] = [None] * len(changes)
        pending: list[_Packed] = []
        for n, change in enumerate(changes):
            if _packable(change):
                ops = [self._notice_op(notice) for notice in change.notices]
                ops += [self._marker_op(marker) for marker in change.markers]
                ops += [self._release_op(key) for key in change.released_markers]
                checks: dict[int, str] = {}
                for check in change.copy_checks:
                    for what, op in self._copy_check(check):
                        checks[len(ops)] = what
                        ops.append(op)
                pending.append((n, ops, checks))
            else:
                results[n] = self._commit_alone(change)
        while pending:
            batch, pending = _one_transaction(pending)
            every = [op for _, ops, _ in batch for op in ops]
            try:
                self._ddb.transact_write_items(TransactItems=every)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                failed, again, at = False, [], 0
                for n, ops, checks in batch:
                    own = reasons[at : at + len(ops)]
                    at += len(ops)
                    if any(r.get("Code") == "ConditionalCheckFailed" for r in own):
                        alone = ClientError(
                            {"Error": exc.response["Error"], "CancellationReasons": own},
                            "TransactWriteItems",
                        )
                        results[n] = self._conflict(alone, ops, checks)
                        failed = True
                    else:
                        again.append((n, ops, checks))
                if not failed:  # cancelled for another reason (a conflicting transaction)
                    for n, _, _ in again:
                        results[n] = self._commit_alone(changes[n])
                    again = []
                pending = again + pending
                continue
            for n, _, _ in batch:
                for notice in changes[n].notices:
                    notice.version += 1
        return results

    def _commit_alone(self, change: Commit) -> Exception | None:
        try:
            self.commit(change)
        except (ConcurrencyError, AlreadyExistsError, StaleCopyError) as exc:
            return exc
        return None

    # -- legal numbers: gap-free series, moved in the commit's own transaction -------------
    def _take_numbers(
        self, numbered: list[tuple[int, NumberedKind, int, Invoice | CreditNote]]
    ) -> tuple[dict[int, str], dict[tuple[str, int, int], tuple[int, int]]]:
        """The numbers the puts in `numbered` take, by op index, and each counter's move
        (last number seen, last number after this commit). A counter this container has
        not seen yet is read (once per container and year); after that, none is."""
        numbers: dict[int, str] = {}
        counters: dict[tuple[str, int, int], tuple[int, int]] = {}
        for index, kind, year, _ in numbered:
            series = self._series[kind]
            key = (str(kind), series, year)
            if key not in counters:
                seen = self._last_numbers.get(key)
                if seen is None:
                    seen = self._read_counter(key)
                counters[key] = (seen, seen)
            seen, last = counters[key]
            counters[key] = (seen, last + 1)
            numbers[index] = self._numbering.format(kind, series, year, last + 1)
        return numbers, counters

    @staticmethod
    def _counter_key(key: tuple[str, int, int]) -> dict[str, str]:
        kind, series, year = key
        return {"PK": f"SEQ#{kind}#{series}#{year}", "SK": "SEQ"}

    def _read_counter(self, key: tuple[str, int, int]) -> int:
        keys = self._counter_key(key)
        item = self._get(keys["PK"], keys["SK"])
        return int(item["last"]) if item else 0

    def _counter_op(self, key: tuple[str, int, int], seen: int, last: int) -> dict[str, Any]:
        """Move the counter from `seen` to `last`, only if no other commit moved it first:
        that is what keeps the series free of gaps and of doubles."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item(self._counter_key(key)),
            "UpdateExpression": "SET #last = :last, entity = :entity",
            "ExpressionAttributeNames": {"#last": "last"},
            "ExpressionAttributeValues": to_item({":last": last, ":entity": "number_counter"}),
        }
        if seen == 0:
            update["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            update["ConditionExpression"] = "#last = :seen"
            update["ExpressionAttributeValues"] |= to_item({":seen": seen})
        return {"Update": update}

    def _leave_series(self, key: tuple[str, int, int]) -> None:
        """Another commit took the next number of this series first: forget what this
        container knew of it and number from the next series, so that containers that meet
        on one series spread out over the others instead of meeting again."""
        self._last_numbers.pop(key, None)
        kind = NumberedKind(key[0])
        self._series[kind] = (key[1] + 1) % self._numbering.series

    @staticmethod
    def _with_numbers(ops: list[dict[str, Any]], numbers: dict[int, str]) -> list[dict[str, Any]]:
        if not numbers:
            return ops
        out = list(ops)
        for index, number in numbers.items():
            put = out[index]["Put"]
            out[index] = {"Put": put | {"Item": put["Item"] | to_item({"number": number})}}
        return out

    @staticmethod
    def _races_lost(
        exc: ClientError, ops: list[dict[str, Any]]
    ) -> tuple[bool, list[tuple[str, int, int]]] | None:
        """Whether the transaction failed only because derived records moved between reading
        and writing them (a customer's MRR state, a number counter: another commit came
        first), and which: then a fresh read and another try are all it takes. None when
        anything else failed."""
        reasons = exc.response.get("CancellationReasons", [])
        mrr = False
        counters: list[tuple[str, int, int]] = []
        for op, reason in zip(ops, reasons, strict=False):
            if reason.get("Code") in (None, "None"):
                continue
            if "Update" in op and (key := from_item(op["Update"]["Key"]))["SK"] == "SEQ":
                _, kind, series, year = key["PK"].split("#")
                counters.append((kind, int(series), int(year)))
            elif next(iter(op.values())).get("Item", {}).get("entity", {}).get("S") == (
                "customer_mrr"
            ):
                mrr = True
            else:
                return None
        return (mrr, counters) if mrr or counters else None

    @staticmethod
    def _may_try_again(attempt: int, mrr: bool, counters: list[tuple[str, int, int]]) -> bool:
        return (not mrr or attempt < CUSTOMER_MRR_ATTEMPTS) and (
            not counters or attempt < NUMBER_ATTEMPTS
        )

    @staticmethod
    def _due_keys(
        entity_id: str, due: tuple[datetime, str] | None, prefix: str = WORK_DUE
    ) -> dict[str, str]:
        if due is None:
            return {}
        return {
            "DuePK": f"{prefix}#{due_shard(entity_id)}",
            "DueSK": f"{iso(due[0])}#{due[1]}#{entity_id}",
        }

    def _payer_copy(self, subscription_id: str, payer: Payer) -> dict[str, Any]:
        """Set a subscription's copy of its customer's payment details and move its version,
        whatever version it is at (a card change never waits for a renewal, nor fails one
        that has claimed: that one charged the card it checked)."""
        values = {
            ":pm": payer.payment_method,
            ":pc": payer.provider_customer_id,
            ":one": 1,
            ":cid": payer.customer_id,
        }
        # The provider is an attribute only when chosen (the default provider's items stay
        # as they were): set, or removed.
        if payer.provider is not None:
            values[":pv"] = payer.provider
            provider = ", provider = :pv "
        else:
            provider = " REMOVE provider "
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": f"SUB#{subscription_id}", "SK": "SUB"}),
                "UpdateExpression": "SET payment_method = :pm, provider_customer_id = :pc"
                f"{provider}ADD version :one",
                "ConditionExpression": "attribute_exists(PK) AND customer_id = :cid",
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _redemption(self, redemption: Redemption) -> dict[str, Any]:
        """Count one redemption, in the same transaction as the discount it gives, only while
        the coupon is under its maximum: racing commits cannot both take the last one."""
        condition = "attribute_exists(PK)"
        values: dict[str, Any] = {":one": 1}
        if redemption.max_redemptions is not None:
            condition += " AND times_redeemed < :most"
            values[":most"] = redemption.max_redemptions
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": f"COUPON#{redemption.coupon_id}", "SK": "COUPON"}),
                "UpdateExpression": "ADD times_redeemed :one, version :one",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _points_ops(self, moves: list[PointsMove]) -> list[dict[str, Any]]:
        """Each customer's account moved once (a transaction touches an item once: the moves
        of one customer are added up, their conditions too), and each entry written once."""
        ops: list[dict[str, Any]] = []
        by_customer: dict[str, list[PointsMove]] = {}
        for move in moves:
            by_customer.setdefault(move.customer_id, []).append(move)
        for customer_id, own in by_customer.items():
            values: dict[str, Any] = {
                ":b": sum(m.balance for m in own),
                ":p": sum(m.pending for m in own),
                ":e": "points",
                ":id": customer_id,
            }
            update: dict[str, Any] = {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "PTS"}),
                "UpdateExpression": "ADD balance :b, pending :p SET entity = :e, id = :id",
            }
            needed = [m.at_least for m in own if m.at_least is not None]
            if needed:
                # Every condition was stated against the balance before the change.
                update["ConditionExpression"] = "balance >= :least"
                values[":least"] = max(needed)
            update["ExpressionAttributeValues"] = to_item(values)
            ops.append({"Update": update})
            for entry in (m.entry for m in own if m.entry is not None):
                item = {
                    "PK": f"CUS#{customer_id}",
                    "SK": f"PTS#{iso(entry.at)}#{KIND_RANK[entry.kind]}{entry.kind}"
                    f"#{entry.invoice or ''}"
                    f"#{entry.amount:015d}",
                    "id": entry.invoice or customer_id,
                    "at": iso(entry.at),
                    "kind": str(entry.kind),
                    "points": entry.points,
                    "invoice": entry.invoice,
                    "amount": entry.amount,
                }
                ops.append(self._create_put(item, "points_entry"))
        return ops

    def _payer_check(self, payer: Payer) -> dict[str, Any]:
        """The customer is there and its payment details are still `payer`'s (a missing or
        null attribute matches None)."""
        conditions, values = self._payer_conditions(payer)
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{payer.customer_id}", "SK": "CUS"}),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeValues": to_item(values),
            }
        }

    @staticmethod
    def _list_kept(op: dict[str, Any], read: frozenset[str]) -> dict[str, Any]:
        """A customer's put, on the condition too that their list of subscriptions is still
        `read`, the one read: it only grows, so its size tells. (The version does not move
        when a subscription joins the list: event ids are made from it.)"""
        put = op["Put"]
        condition = put.get("ConditionExpression", "")
        if "version = :v" not in condition:
            return op  # created: nothing was read
        if read:
            kept = "size(subscriptions) = :listed_read"
            values = put["ExpressionAttributeValues"] | to_item({":listed_read": len(read)})
        else:
            kept, values = "attribute_not_exists(subscriptions)", put["ExpressionAttributeValues"]
        condition = f"{condition} AND {kept}"
        return {
            "Put": put | {"ConditionExpression": condition, "ExpressionAttributeValues": values}
        }

    def _listing_op(self, subs: list[Subscription]) -> dict[str, Any]:
        """New subscriptions join their customer's list (a string set: adding is idempotent),
        while the customer's payment details are still their copy's; a customer's put read
        before this (a card change) then fails on the list's size (_list_kept)."""
        payer = subs[0].payer
        conditions, values = self._payer_conditions(payer)
        values |= {":listed": {sub.id for sub in subs}}
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{payer.customer_id}", "SK": "CUS"}),
                "UpdateExpression": "ADD subscriptions :listed",
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeValues": to_item(values),
            }
        }

    @classmethod
    def _listings_refused(
        cls,
        exc: ClientError,
        ops: list[dict[str, Any]],
        listing_ops: dict[int, list[Subscription]],
    ) -> list[Subscription]:
        """The subscriptions of the listing updates that failed, when nothing else did but
        races the next try settles as ever (a number counter, an MRR state)."""
        reasons = exc.response.get("CancellationReasons", [])
        failed = {n for n, r in enumerate(reasons) if r.get("Code") not in (None, "None")}
        refused = failed & listing_ops.keys()
        if not refused or not all(cls._is_race(ops[n]) for n in failed - refused):
            return []
        return [sub for n in sorted(refused) for sub in listing_ops[n]]

    @staticmethod
    def _is_race(op: dict[str, Any]) -> bool:
        """Whether `op` writes a derived record other commits race for (as _races_lost)."""
        if "Update" in op and from_item(op["Update"]["Key"])["SK"] == "SEQ":
            return True
        item = next(iter(op.values())).get("Item", {})
        return bool(item.get("entity", {}).get("S") == "customer_mrr")

    @staticmethod
    def _payer_conditions(payer: Payer) -> tuple[list[str], dict[str, Any]]:
        conditions, values = ["attribute_exists(PK)"], {}
        for name, value in (
            ("default_payment_method", payer.payment_method),
            ("provider_customer_id", payer.provider_customer_id),
            ("provider", payer.provider),
        ):
            if value is None:
                absent = f"attribute_not_exists({name}) OR attribute_type({name}, :null)"
                conditions.append(f"({absent})")
                values[":null"] = "NULL"  # DynamoDB refuses a value no expression uses
            else:
                conditions.append(f"{name} = :{name}")
                values[f":{name}"] = value
        return conditions, values

    def _late_record(self, invoices: list[Invoice]) -> list[dict[str, Any]]:
        """Add each late invoice to its customer's record of them (a string set: adding one
        twice is adding it once, so no condition and no read). The late-payer rule reads it,
        or checks its size in a send's claim (CopyCheck.late_under)."""
        late: dict[str, set[str]] = {}
        for invoice in invoices:
            if invoice.late:
                entry = f"{iso(invoice.period_start)}#{invoice.id}"
                late.setdefault(invoice.customer_id, set()).add(entry)
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "LATE"}),
                    "UpdateExpression": "ADD #late :entries SET entity = :entity",
                    "ExpressionAttributeNames": {"#late": "late"},
                    "ExpressionAttributeValues": to_item(
                        {":entries": entries, ":entity": "late_invoices"}
                    ),
                }
            }
            for customer_id, entries in late.items()
        ]

    def _version_check(self, key: dict[str, str], version: int | None) -> dict[str, Any]:
        """A ConditionCheck that the item at `key` is still at `version`."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item(key),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": to_item({":v": version}),
            }
        }

    def _copy_check(self, check: CopyCheck) -> list[tuple[str, dict[str, Any]]]:
        """ConditionChecks of what an email was written from: the customer's contact, the
        address not suppressed, the subscription's version, the invoice's, too few late
        invoices on record to make a late payer (see CopyCheck)."""
        contact = check.contact
        names = {"#e": "email", "#n": "name", "#l": "locale", "#t": "timezone"}
        values = {":e": contact.email, ":n": contact.name, ":l": contact.locale}
        ops = [
            (
                "contact",
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item({"PK": f"CUS#{check.customer_id}", "SK": "CUS"}),
                        "ConditionExpression": "#e = :e AND #n = :n AND #l = :l AND #t = :t",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_item(values | {":t": contact.timezone}),
                    }
                },
            ),
            (
                "suppressed",
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item({"PK": self._suppression_pk(contact.email), "SK": "SUPP"}),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ),
        ]
        if check.subscription_id is not None:
            key = {"PK": f"SUB#{check.subscription_id}", "SK": "SUB"}
            ops.append(("subscription", self._version_check(key, check.subscription_version)))
        if check.invoice_id is not None:
            key = {"PK": f"INV#{check.invoice_id}", "SK": "INV"}
            ops.append(("invoice", self._version_check(key, check.invoice_version)))
        if check.late_under is not None:
            ops.append(
                (
                    "late_payments",
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": to_item({"PK": f"CUS#{check.customer_id}", "SK": "LATE"}),
                            "ConditionExpression": (
                                "attribute_not_exists(#late) OR size(#late) < :n"
                            ),
                            "ExpressionAttributeNames": {"#late": "late"},
                            "ExpressionAttributeValues": to_item({":n": check.late_under}),
                        }
                    },
                )
            )
        return ops

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

    def _audit_puts(self, entry: AuditEntry) -> list[dict[str, Any]]:
        """The entry under the entity acted on (and, through GSI1, its customer), and a copy
        under its actor: both listings are one query, and both puts fail if either exists."""
        attrs = codec.audit_to_attrs(entry)
        sk = f"AUDIT#{entry.order}"
        main = attrs | {"PK": f"AUDIT#{entry.entity}", "SK": sk}
        if entry.customer_id:  # (an endpoint's entry belongs to no customer's timeline)
            main |= {"GSI1PK": f"CUS#{entry.customer_id}", "GSI1SK": sk}
        by_actor = attrs | {"PK": f"ACTOR#{entry.actor}", "SK": sk}
        return [self._create_put(main, "audit"), self._create_put(by_actor, "audit")]

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

    @staticmethod
    def _ledger_item(entry: MrrLedgerEntry, n: int) -> dict[str, Any]:
        return {
            "PK": f"MRR#{_day(entry.at)}",
            "SK": f"{iso(entry.at)}#{entry.subscription_id}#{entry.after}#{n}",
        } | entry.to_dict()

    # -- the customers' MRR, kept with each ledger entry --------------------------------------
    def _ledger_ops(
        self, ledger: list[MrrLedgerEntry], read_ahead: dict[str, dict[str, Any] | None]
    ) -> list[dict[str, Any]]:
        """The ledger entries stamped with their customers' facts, and each customer's MRR
        state after them, written on the condition that it has not moved since read.

        Only commits that change a subscription's MRR pay the one batch read this costs
        (a renewal at an unchanged price writes no ledger entry), and not even that when
        the change brings the state a read fetched (`read_ahead`: Commit.mrr_read)."""
        if not ledger:
            return []
        # Imported here: only commits that move MRR need it (its nine dataclasses cost a
        # cold start about 4 ms).
        from tenure.domain.mrr import CustomerMrr, record_entries

        ids = list(dict.fromkeys(e.customer_id for e in ledger))
        unread = [cid for cid in ids if cid not in read_ahead]
        items = self._batch_get([(f"CUS#{cid}", "MRR") for cid in unread]) if unread else []
        found = {i["PK"].removeprefix("CUS#"): i for i in items}
        found |= {cid: item for cid in ids if (item := read_ahead.get(cid)) is not None}
        states = {cid: CustomerMrr.from_dict(item["data"]) for cid, item in found.items()}
        stamped = record_entries(ledger, states)
        ops = [
            self._create_put(self._ledger_item(entry, n), "mrr_ledger")
            for n, entry in enumerate(stamped)
        ]
        for cid in ids:
            state = states[cid]
            item = {"PK": f"CUS#{cid}", "SK": "MRR", "entity": "customer_mrr", "id": cid}
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": to_item(item | {"seq": state.seq, "data": state.to_dict()}),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
            if cid in found:
                put["ConditionExpression"] = "seq = :seq"
                put["ExpressionAttributeValues"] = to_item({":seq": found[cid]["seq"]})
            ops.append({"Put": put})
        return ops

    @staticmethod
    def _conflict(
        exc: ClientError, ops: list[dict[str, Any]], checks: dict[int, str] | None = None
    ) -> Exception:
        reasons = exc.response.get("CancellationReasons", [])
        for n, (op, reason) in enumerate(zip(ops, reasons, strict=False)):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            if checks and n in checks:
                return StaleCopyError(checks[n], f"the copy checked ({checks[n]}) is stale")
            if "ConditionCheck" in op:
                customer = from_item(op["ConditionCheck"]["Key"])["PK"].removeprefix("CUS#")
                return ConcurrencyError(f"customer {customer}'s payment details changed meanwhile")
            if "Update" in op and (key := from_item(op["Update"]["Key"]))["SK"] == "SEQ":
                return ConcurrencyError("other commits kept taking the next number: try again")
            if "Update" in op and key["SK"] == "COUPON":
                return ValidationFailedError("coupon", used_up(key["PK"].removeprefix("COUPON#")))
            if "Update" in op and key["SK"] == "PTS":
                least = from_item(op["Update"]["ExpressionAttributeValues"])[":least"]
                customer = key["PK"].removeprefix("CUS#")
                return ValidationFailedError("points", not_enough(customer, int(least)))
            if "Update" in op:
                sub_id = from_item(op["Update"]["Key"])["PK"].removeprefix("SUB#")
                return ConcurrencyError(f"subscription {sub_id} is not there to take a payer")
            item = from_item(op["Put"]["Item"])
            if item.get("entity") == "notice":  # its key holds its id (_notice)
                item.setdefault("id", _notice_key(item))
            if item.get("entity") == "programs":
                return ConcurrencyError(programs_moved(int(item["version"]) - 1))
            if item.get("entity") == "plan" and item.get("price_changes"):
                # A price change's put (created plans carry none): another change came first.
                return ConcurrencyError(f"plan {item.get('id')} changed meanwhile")
            if (
                item.get("entity")
                in (
                    "plan",
                    "coupon",
                    "payment_method",
                    "marker",
                    "points_entry",
                    "refund",
                    "credit_note",
                    "audit",
                )
                or item.get("version") == 1
            ):
                return AlreadyExistsError(str(item.get("entity")), str(item.get("id", item["PK"])))
            return ConcurrencyError(f"{item.get('entity')} {item.get('id')} changed meanwhile")
        return ConcurrencyError(str(exc))

    # -- markers, provider links, snapshots -------------------------------------------------
    def has_marker(self, key: str) -> bool:
        return self._get(f"MARK#{key}", "MARK") is not None

    def find_provider_object(self, provider: str, object_id: str) -> str | None:
        item = self._get(f"PROV#{provider}#{object_id}", "PROV")
        return str(item["tenure_id"]) if item else None

    def read_for_event(
        self,
        marker: str,
        *,
        link: tuple[str, str] | None = None,
        invoice_id: str | None = None,
        attempt: int | None = None,
        subscription_id: str | None = None,
        customer_id: str | None = None,
        points_of: str | None = None,
    ) -> EventReads:
        """One consistent BatchGetItem: the marker, and whichever of the provider link, the
        invoice, the attempt, the subscription, the customer's MRR state and a customer's
        points account are named; and the programs, when the copy kept is out of date (a
        settle prices and earns by them: read here, they cost no request of their own)."""
        keys = {"marker": (f"MARK#{marker}", "MARK")}
        if not self._programs_kept():
            keys["programs"] = ("SETTING#programs", "SETTING")
        if link is not None:
            keys["link"] = (f"PROV#{link[0]}#{link[1]}", "PROV")
        if invoice_id:
            keys["invoice"] = (f"INV#{invoice_id}", "INV")
            if attempt is not None:
                keys["charge"] = (f"INV#{invoice_id}", f"CHG#{attempt:04d}")
        if subscription_id:
            keys["subscription"] = (f"SUB#{subscription_id}", "SUB")
        if customer_id:
            keys["mrr"] = (f"CUS#{customer_id}", "MRR")
        if points_of:
            # The account item is written with every points entry (see _points_ops), so its
            # absence says the whole history is empty without querying it.
            keys["points"] = (f"CUS#{points_of}", "PTS")
        items = {(i["PK"], i["SK"]): i for i in self._batch_get(list(keys.values()))}
        found = {name: items.get(key) for name, key in keys.items()}
        if "programs" in keys:
            self._keep_programs(found["programs"])
        linked, invoice, charge, sub = (
            found.get(name) for name in ("link", "invoice", "charge", "subscription")
        )
        return EventReads(
            marked=found["marker"] is not None,
            linked=str(linked["tenure_id"]) if linked else None,
            invoice=codec.invoice_from_attrs(invoice) if invoice else None,
            charge=codec.charge_from_attrs(charge) if charge else None,
            subscription=codec.subscription_from_attrs(sub) if sub else None,
            mrr=MrrRead(customer_id, found["mrr"]) if customer_id else None,
            points=PointsAccount(points_of) if points_of and not found["points"] else None,
        )

    def save_snapshot(self, day: str, data: dict[str, Any]) -> None:
        """Daily metric snapshots are recomputable, so a rerun simply overwrites the day."""
        item = {"PK": f"SNAP#{day}", "SK": "SNAP", "entity": "snapshot", "data": data}
        self._ddb.put_item(TableName=self._table, Item=to_item(item))

    def get_snapshot(self, day: str) -> dict[str, Any] | None:
        item = self._get(f"SNAP#{day}", "SNAP")
        return dict(item["data"]) if item else None

    # -- batch reads (renewal charges, retention metrics) ----------------------------------
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

    def get_snapshots(self, days: list[str]) -> dict[str, dict[str, Any]]:
        items = self._batch_get([(f"SNAP#{day}", "SNAP") for day in days])
        return {i["PK"].removeprefix("SNAP#"): dict(i["data"]) for i in items}

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        items = self._batch_get([(f"INV#{i}", "INV") for i in invoice_ids])
        invoices = (codec.invoice_from_attrs(i) for i in items)
        return {invoice.id: invoice for invoice in invoices}

    # -- idempotency records (API Idempotency-Key) ------------------------------------------
    def claim_idempotency(
        self, key: str, fingerprint: str, now: datetime
    ) -> IdempotencyRecord | None:
        """Claim `key`. Returns None when claimed now, else the record that holds it."""
        item = {
            "PK": f"IDEM#{key}",
            "SK": "IDEM",
            "entity": "idempotency",
            "fingerprint": fingerprint,
            "status": "in_progress",
            "expires_at": int((now + IDEMPOTENCY_TTL).timestamp()),
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(PK) OR expires_at < :now",
                ExpressionAttributeValues=to_item({":now": int(now.timestamp())}),
            )
            return None
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        existing = self._get(f"IDEM#{key}", "IDEM") or {}
        return IdempotencyRecord(
            key,
            existing.get("fingerprint", ""),
            existing.get("status", ""),
            existing.get("response"),
        )

    def complete_idempotency(
        self, key: str, response: dict[str, Any], now: datetime, customer_id: str | None = None
    ) -> None:
        expression = "SET #s = :done, #r = :response"
        values: dict[str, Any] = {":done": "done", ":response": response}
        if customer_id is not None:
            # Under the customer in GSI1 (in the same write), for their erasure to find it;
            # every read of a customer's GSI1 partition names its own prefix, so none sees it.
            expression += ", GSI1PK = :cus, GSI1SK = :idem"
            values |= {":cus": f"CUS#{customer_id}", ":idem": f"IDEM#{iso(now)}#{key}"}
        self._ddb.update_item(
            TableName=self._table,
            Key=to_item({"PK": f"IDEM#{key}", "SK": "IDEM"}),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#s": "status", "#r": "response"},
            ExpressionAttributeValues=to_item(values),
        )

    def release_idempotency(self, key: str) -> None:
        self._ddb.delete_item(
            TableName=self._table, Key=to_item({"PK": f"IDEM#{key}", "SK": "IDEM"})
        )

    def forget_idempotency(self, customer_id: str) -> int:
        forgotten = 0
        for item in list(self._gsi1(f"CUS#{customer_id}", "IDEM#")):
            try:
                # Out of the index too, so a second erasure reads none of them again. Only
                # while it exists: an expired record is not brought back.
                self._ddb.update_item(
                    TableName=self._table,
                    Key=to_item({"PK": item["PK"], "SK": item["SK"]}),
                    UpdateExpression="SET #s = :erased REMOVE #r, GSI1PK, GSI1SK",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#s": "status", "#r": "response"},
                    ExpressionAttributeValues=to_item({":erased": "erased"}),
                )
                forgotten += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return forgotten


def _via(item: dict[str, Any]) -> str | None:
    via = item.get("via")
    return None if via is None else str(via)


def _sourced(raw: Iterable[dict[str, Any]]) -> list[Sourced]:
    """The events of outbox items as read raw, with their source and what it acted through."""
    found: list[Sourced] = []
    for item in map(from_item, raw):
        found.extend((event, str(item["source"]), _via(item)) for event, _ in unpack(item))
    return found
