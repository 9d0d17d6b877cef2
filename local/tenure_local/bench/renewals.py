"""Renewal benchmarks for `tenure bench` (see docs/benchmarks.md for how each figure is made).

- `renewal_pipeline`: N paid subscriptions renewed through the real scheduler and charger
  handlers on the local stack: DynamoDB requests and capacity units per successful renewal,
  renewals/s against a raw replay of the same requests, provider calls per renewal;
- `scheduler_reads`: items the scheduler reads for 1,000 due renewals in tables of 10,000
  and 100,000 subscriptions loaded directly with BatchWriteItem;
- `provider_projection`: hours for 1,000,000 renewals at the deployment's provider rate limit
  (PROVIDER_RATE_LIMIT, the setting the gateways are paced by).

Every function returns a plain dict; nothing here asserts on speed.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tenure_local.bench.load import batch_write
from tenure_local.stack.local_stack import LocalStack, wait_table_active
from tenure_local.stack.template import table_create_kwargs

KB = 1024
READ_UNIT = 4 * KB
PROVIDER_RPS_ENV = "PROVIDER_RATE_LIMIT"  # tenure.settings.Settings.provider_rate_limit
STRIPE_LIVE_RPS = 100.0  # Stripe's live-mode rate limit, requests per second
PROJECTED_RENEWALS = 1_000_000
LOAD_BUDGET_ENV = "TENURE_BENCH_LOAD_S"
DEFAULT_LOAD_BUDGET_S = 900.0  # room for the 100,000-subscription tables (~1,000 items/s here)
START = datetime(2026, 1, 1, tzinfo=UTC)
# Operations that accept ReturnConsumedCapacity.
CAPACITY_OPS = frozenset(
    {
        "GetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
READ_OPS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
_CONDITION_KEYS = ("ConditionExpression", "ExpressionAttributeValues", "ExpressionAttributeNames")


# -- item sizes and capacity units -------------------------------------------------------------
def value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB bills for one attribute value (AWS's published sizing rules)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(v.lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return float(units) if consistent else units / 2


@dataclass
class Call:
    operation: str
    params: dict[str, Any] | None  # kept only when recording for a replay
    seconds: float
    reported: float  # ConsumedCapacity.CapacityUnits as DynamoDB Local returned it
    wcu: float  # our estimate, table and indexes
    index_wcu: float  # the part of `wcu` spent on global secondary indexes
    rcu: float
    items_read: int
    failed: bool = False
    step: str = ""  # which service functions and repository method made it


def _step() -> str:
    """`process_due>collect_invoice get_invoice`: the call chain in tenure.services, then the
    repository method (outermost frame in store/dynamodb.py) that sent the request."""
    services: list[str] = []
    repo = ""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.endswith(os.path.join("tenure", "store", "dynamodb.py")):
            repo = frame.f_code.co_name
        elif os.path.join("tenure", "services") in path:
            services.append(frame.f_code.co_name)
        frame = frame.f_back  # type: ignore[assignment]
    if not services:  # e.g. the scheduler's shard queries, made from a thread pool
        services.append(f"({threading.current_thread().name.rstrip('_0123456789')} thread)")
    return f"{'>'.join(reversed(services))} {repo or '?'}"


@dataclass
class DynamoRecorder:
    """Wraps a client's _make_api_call: records every request, its real and estimated cost.

    It asks for ReturnConsumedCapacity="TOTAL" on every request that takes it, and keeps
    the last written image of each item (from every write it saw) so an overwrite is billed
    on the larger of the old and new item and index entries that move are billed twice.
    """

    table: str
    index_keys: dict[str, tuple[str, ...]]  # index name -> its key attributes
    keep_params: bool = False
    calls: list[Call] = field(default_factory=list)
    _items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def for_stack(cls, stack: LocalStack, table: str | None = None) -> DynamoRecorder:
        name = table or stack.table_name
        kwargs = table_create_kwargs(name, stack.template)
        indexes = {
            gsi["IndexName"]: tuple(k["AttributeName"] for k in gsi["KeySchema"])
            for gsi in kwargs.get("GlobalSecondaryIndexes", [])
        }
        return cls(name, indexes)

    def attach(self, client: Any) -> Any:
        call = client._make_api_call

        def recorded(operation: str, params: dict[str, Any]) -> Any:
            params = dict(params)
            if operation in CAPACITY_OPS:
                params.setdefault("ReturnConsumedCapacity", "TOTAL")
            kept = copy.deepcopy(params) if self.keep_params else None
            step = _step() if self.keep_params else ""
            writes = self._writes(operation, params)
            wcu = sum(w for w, _ in writes.values())
            index_wcu = sum(i for _, i in writes.values())
            began = time.perf_counter()
            try:
                response = call(operation, params)
            except ClientError:
                seconds = time.perf_counter() - began
                self.calls.append(
                    Call(operation, kept, seconds, 0.0, wcu, index_wcu, 0.0, 0, True, step)
                )
                raise
            seconds = time.perf_counter() - began
            for key, (item, _) in self._images(operation, params).items():
                if item is None:
                    self._items.pop(key, None)
                else:
                    self._items[key] = item
            rcu, read = self._reads(operation, params, response)
            self.calls.append(
                Call(
                    operation,
                    kept,
                    seconds,
                    _reported(response.get("ConsumedCapacity")),
                    wcu,
                    index_wcu,
                    rcu,
                    read,
                    step=step,
                )
            )
            return response

        client._make_api_call = recorded
        return client

    def mark(self) -> int:
        return len(self.calls)

    # -- estimates ---------------------------------------------------------------------------
    @staticmethod
    def _key(item: dict[str, Any]) -> tuple[str, str]:
        return str(item["PK"].get("S", "")), str(item.get("SK", {}).get("S", ""))

    def _images(
        self, operation: str, params: dict[str, Any]
    ) -> dict[tuple[str, str], tuple[dict[str, Any] | None, bool]]:
        """Key -> (new image or None when deleted, transactional) for each item written."""
        out: dict[tuple[str, str], tuple[dict[str, Any] | None, bool]] = {}
        if operation == "PutItem":
            out[self._key(params["Item"])] = (params["Item"], False)
        elif operation == "DeleteItem":
            out[self._key(params["Key"])] = (None, False)
        elif operation == "UpdateItem":
            # The new image is unknown: billed as an in-place change of the old one.
            key = self._key(params["Key"])
            out[key] = (self._items.get(key) or params["Key"], False)
        elif operation == "BatchWriteItem":
            for request in params["RequestItems"].get(self.table, []):
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    out[self._key(item)] = (item, False)
                else:
                    out[self._key(request["DeleteRequest"]["Key"])] = (None, False)
        elif operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                if "Put" in op:
                    out[self._key(op["Put"]["Item"])] = (op["Put"]["Item"], True)
                elif "Delete" in op:
                    out[self._key(op["Delete"]["Key"])] = (None, True)
                elif "Update" in op:
                    key = self._key(op["Update"]["Key"])
                    out[key] = (self._items.get(key) or op["Update"]["Key"], True)
        return out

    def _writes(self, operation: str, params: dict[str, Any]) -> dict[Any, tuple[float, float]]:
        """Key -> (WCU, of which on indexes) for each item the request writes."""
        out: dict[Any, tuple[float, float]] = {}
        for key, (new, transactional) in self._images(operation, params).items():
            old = self._items.get(key)
            size = max(item_size(new), item_size(old))
            table = write_units(size) * (2 if transactional else 1)
            index = 0
            for attrs in self.index_keys.values():
                # Every index projects ALL attributes (template.yaml), so an entry is the item.
                old_in = old is not None and all(a in old for a in attrs)
                new_in = new is not None and all(a in new for a in attrs)
                if old is not None and old == new:
                    continue  # an identical overwrite changes no index entry
                if old_in and new_in and old is not None and new is not None:
                    moved = any(old[a] != new[a] for a in attrs)
                    index += (
                        write_units(item_size(old)) + write_units(item_size(new))
                        if moved
                        else write_units(item_size(new))
                    )
                elif new_in:
                    index += write_units(item_size(new))
                elif old_in:
                    index += write_units(item_size(old))
            out[key] = (float(table + index), float(index))
        if operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                if "ConditionCheck" in op:  # a transactional read of one item
                    cc_key = self._key(op["ConditionCheck"]["Key"])
                    size = item_size(self._items.get(cc_key))
                    out[("check", cc_key)] = (2.0 * write_units(size), 0.0)
        return out

    def _reads(
        self, operation: str, params: dict[str, Any], response: dict[str, Any]
    ) -> tuple[float, int]:
        """(RCU, items read) for a read request."""
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        if operation == "GetItem":
            item = response.get("Item")
            return read_units(item_size(item), consistent), 1 if item else 0
        if operation in ("Query", "Scan"):
            # No request of Tenure filters, so the items returned are the items read.
            size = sum(item_size(i) for i in response.get("Items", []))
            return read_units(size, consistent), int(response.get("ScannedCount", 0))
        if operation == "BatchGetItem":
            items = response.get("Responses", {}).get(self.table, [])
            return sum(read_units(item_size(i), False) for i in items), len(items)
        if operation == "TransactGetItems":
            items = [r.get("Item") for r in response.get("Responses", [])]
            return sum(2 * read_units(item_size(i), True) for i in items), sum(
                1 for i in items if i
            )
        return 0.0, 0


def _reported(consumed: Any) -> float:
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(float(c.get("CapacityUnits", 0.0)) for c in consumed or []))


def _read_units(calls: list[Call], per: int) -> dict[str, Any]:
    """RCU per `per`: DynamoDB Local's figure for each read, which follows AWS's rules (whole
    index items count even behind a ProjectionExpression, which our estimate cannot see);
    where it reports 0 (a query that found nothing) AWS's minimum, from our estimate. A
    backend that reports nothing at all (moto) gets our estimate throughout."""
    reads = [c for c in calls if c.operation in READ_OPS]
    estimate = sum(c.rcu for c in reads)
    reported = sum(c.reported for c in reads)
    if not reported:
        return {"rcu_per_renewal": estimate / per, "rcu_source": "estimate"}
    return {
        "rcu_per_renewal": sum(c.reported or c.rcu for c in reads) / per,
        "rcu_source": "dynamodb-local",
        "rcu_estimate_per_renewal": estimate / per,
        "reported_rcu_per_renewal": reported / per,
    }


def _summary(calls: list[Call], per: int) -> dict[str, Any]:
    per = max(per, 1)
    by_op = Counter(c.operation for c in calls)
    by_step = Counter(f"{c.operation} {c.step}" for c in calls)
    return {
        "requests": len(calls),
        "requests_per_renewal": len(calls) / per,
        "by_operation": {op: n / per for op, n in sorted(by_op.items(), key=lambda x: -x[1])},
        "by_operation_total": dict(by_op),
        "by_step": {step: n / per for step, n in sorted(by_step.items(), key=lambda x: -x[1])},
        "wcu_per_renewal": sum(c.wcu for c in calls) / per,
        "index_wcu_per_renewal": sum(c.index_wcu for c in calls) / per,
        **_read_units(calls, per),
        "reported_wcu_per_renewal": sum(c.reported for c in calls if c.operation not in READ_OPS)
        / per,
        "failed_requests": sum(1 for c in calls if c.failed),
        "dynamodb_seconds": sum(c.seconds for c in calls),
    }


# -- 1, 3, 4: the pipeline ---------------------------------------------------------------------
@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The handlers' EMF lines and Powertools warnings are for CloudWatch, not the table."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        yield


def renewal_pipeline(stack: LocalStack, subscriptions: int = 200) -> dict[str, Any]:
    """Renew `subscriptions` paid monthly subscriptions (4242 card) through the handlers.

    Setup goes through the API handler (plan, customer, card, subscription: the first
    invoice is charged on subscribe). Then the clock jumps to the end of the first period
    and the scheduler and charger run as the simulator runs them: scheduler, drain the
    queue through the charger in batches of 10, again until a run queues less than a page.
    Everything after the jump is counted, scheduler queries included.
    """
    import boto3

    from tenure import bootstrap
    from tenure.domain.invoices import InvoiceKind, InvoiceStatus
    from tenure.domain.subscription import SubscriptionStatus
    from tenure.domain.timeutil import iso, parse_iso
    from tenure.fakes import FixedClock
    from tenure.payments.sandbox import SandboxGateway, payment_method_for
    from tenure.services.context import Services
    from tenure.services.due import PAGE
    from tenure.store.dynamodb import DynamoRepository
    from tenure_local.runtime import functions

    stack.apply_env()
    bootstrap.reset()
    recorder = DynamoRecorder.for_stack(stack)
    ddb = recorder.attach(boto3.client("dynamodb"))
    sqs = boto3.client("sqs")
    queue_url = stack.env["RENEWAL_QUEUE_URL"]
    repo = DynamoRepository(ddb, stack.table_name)
    clock = FixedClock(START)
    gateway = SandboxGateway(clock=lambda: int(clock.now().timestamp()))
    bootstrap.install(Services(repo=repo, clock=clock, gateway=gateway))
    auth = {"authorization": f"Bearer {stack.env['TENURE_API_TOKEN']}"}

    def api(method: str, path: str, body: Any) -> dict[str, Any]:
        response = functions.invoke("api", functions.http_event(method, path, body, headers=auth))
        status = int(response.get("statusCode", 500))
        if status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {response.get('body')}")
        payload: dict[str, Any] = json.loads(response.get("body") or "{}")
        return payload

    try:
        with quiet():
            setup_began = time.perf_counter()
            api(
                "POST",
                "/v1/plans",
                {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"},
            )
            ids = [f"sub_r{n:05d}" for n in range(subscriptions)]
            ends = set()
            card = payment_method_for("4242424242424242")
            for n, sub_id in enumerate(ids):
                customer = f"cus_r{n:05d}"
                api("POST", "/v1/customers", {"id": customer, "email": f"{customer}@example.com"})
                api(
                    "POST",
                    f"/v1/customers/{customer}/payment-methods",
                    {"payment_method": card, "default": True},
                )
                created = api(
                    "POST",
                    "/v1/subscriptions",
                    {"id": sub_id, "customer": customer, "plan": "basic"},
                )
                sub = created.get("subscription", created)
                if sub.get("status") != "active":
                    raise RuntimeError(f"{sub_id} is {sub.get('status')!r} after subscribing")
                ends.add(sub["current_period_end"])
            setup_seconds = time.perf_counter() - setup_began
            if len(ends) != 1:
                raise RuntimeError(f"subscriptions renew at {len(ends)} different moments")
            renew_at = parse_iso(ends.pop())
            clock.set(renew_at)

            provider_before = sum(gateway.calls.values())
            mark = recorder.mark()
            recorder.keep_params = True
            scheduler_runs = 0
            arn = "arn:aws:sqs:us-east-1:000000000000:renewals"
            began = time.perf_counter()
            for _ in range(1000):  # bounded, as in the simulator
                scheduler_runs += 1
                queued = functions.invoke(
                    "renewals-scheduler", functions.scheduler_event(iso(renew_at) or "")
                ).get("queued", 0)
                worked = 0
                while batch := sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", []):
                    response = functions.invoke("renewals-charger", functions.sqs_event(batch, arn))
                    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
                    worked += len(batch) - len(failed)
                    sqs.delete_message_batch(
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(batch)
                        ],
                    )
                if not queued or not worked or queued < PAGE:
                    break
            seconds = time.perf_counter() - began
            recorder.keep_params = False
            window = recorder.calls[mark:]
            provider_calls = sum(gateway.calls.values()) - provider_before

            # Outside the measured window: which renewals succeeded (renewal invoice paid once).
            renewed = 0
            for sub_id in ids:
                sub_now = repo.get_subscription(sub_id)
                paid = [
                    i
                    for i in repo.list_invoices(sub_id)
                    if i.kind is InvoiceKind.RENEWAL and i.status is InvoiceStatus.PAID
                ]
                if sub_now and sub_now.status is SubscriptionStatus.ACTIVE and len(paid) == 1:
                    renewed += 1

            raw = replay(stack, window)
    finally:
        bootstrap.reset()
        stack.restore_env()

    summary = _summary(window, renewed)
    per_s = renewed / seconds if seconds else 0.0
    raw_per_s = renewed / raw["seconds"] if raw["seconds"] else 0.0
    return {
        "backend": stack.dynamodb_backend,
        "subscriptions": subscriptions,
        "renewed": renewed,
        "setup_seconds": setup_seconds,
        "scheduler_runs": scheduler_runs,
        "seconds": seconds,
        "renewals_per_s": per_s,
        "dynamodb_share": summary["dynamodb_seconds"] / seconds if seconds else 0.0,
        "raw": raw,
        "raw_renewals_per_s": raw_per_s,
        "pipeline_over_raw": per_s / raw_per_s if raw_per_s else 0.0,
        "provider_calls": provider_calls,
        "provider_calls_per_renewal": provider_calls / renewed if renewed else 0.0,
        **summary,
    }


def _unconditional(params: dict[str, Any]) -> dict[str, Any]:
    """The same write without its condition (a replay cannot meet version checks twice)."""
    out = copy.deepcopy(params)
    puts = (
        [out]
        if "Item" in out
        else [op["Put"] for op in out.get("TransactItems", []) if "Put" in op]
    )
    for put in puts:
        for key in _CONDITION_KEYS:
            put.pop(key, None)
    return out


def replay(stack: LocalStack, calls: list[Call]) -> dict[str, Any]:
    """Send the recorded requests again, one at a time on one client, straight to DynamoDB.

    Same operations, same keys, same items (so the same sizes), same table; writes lose
    their conditions, which a replay could not meet again. Writes replay in order, so the
    table ends as it was.
    """
    client = stack.dynamodb_client()
    prepared = []
    for call in calls:
        if call.params is None:
            continue
        params = call.params
        if call.operation in ("PutItem", "TransactWriteItems"):
            params = _unconditional(params)
        method = getattr(client, _snake(call.operation))
        prepared.append((method, params))
    failed = 0
    began = time.perf_counter()
    for method, params in prepared:
        try:
            method(**params)
        except ClientError:
            failed += 1
    seconds = time.perf_counter() - began
    return {
        "requests": len(prepared),
        "seconds": seconds,
        "requests_per_s": len(prepared) / seconds if seconds else 0.0,
        "failed": failed,
    }


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


# -- 2: items the scheduler reads --------------------------------------------------------------
def _subscription_items(count: int, start: int, due: int, now: datetime) -> list[dict[str, Any]]:
    """Subscription items as DynamoRepository.commit writes them (keys from store/dynamodb.py).

    Items 0..due-1 are due within the day before `now`; of the rest, one in five is canceled
    (no due keys, so not in the DueIndex) and the others renew within 30 days after `now`.
    """
    from tenure.domain.plans import Plan
    from tenure.domain.subscription import DueKind, Subscription
    from tenure.domain.timeutil import iso
    from tenure.store import codec
    from tenure.store.dynamodb import due_shard
    from tenure.store.serde import to_item

    plan = Plan(id="basic", amount=1000, currency="USD", interval="month")
    sub = Subscription.subscribe("sub_template", "cus_template", plan, now - timedelta(days=31))
    template = to_item(codec.subscription_to_attrs(sub) | {"entity": "subscription", "version": 2})
    items = []
    for n in range(start, start + count):
        sub_id, customer = f"sub_{n:07d}", f"cus_{n:07d}"
        item = dict(template)
        if n < due:
            end = now - timedelta(seconds=60 * (n % 1440))
        else:
            end = now + timedelta(hours=1) + timedelta(minutes=n % (30 * 1440))
        item |= {
            "PK": {"S": f"SUB#{sub_id}"},
            "SK": {"S": "SUB"},
            "GSI1PK": {"S": f"CUS#{customer}"},
            "GSI1SK": {"S": f"SUB#{iso(sub.created_at)}#{sub_id}"},
            "id": {"S": sub_id},
            "customer_id": {"S": customer},
            "current_period_end": {"S": iso(end) or ""},
        }
        if n >= due and n % 5 == 0:
            item["status"] = {"S": "canceled"}
        else:
            item["DuePK"] = {"S": f"DUE#{due_shard(sub_id)}"}
            item["DueSK"] = {"S": f"{iso(end)}#{DueKind.RENEWAL}#{sub_id}"}
        items.append(item)
    return items


def _batch_write(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    batch_write(client, table, [{"PutRequest": {"Item": item}} for item in items])


def scheduler_reads(
    stack: LocalStack,
    sizes: tuple[int, ...] = (10_000, 100_000),
    due: int = 1_000,
    load_budget_s: float | None = None,
    chunk: int = 5_000,
) -> dict[str, Any]:
    """Items the DueIndex queries read for `due` due renewals, per table size.

    One scratch table with the real table's definition is filled with BatchWriteItem up to
    each size in turn. At each size, two readings:
    - `one_call`: DynamoRepository.due(now, limit=due), one call;
    - `deployed`: as the scheduler runs in production, due(now, limit=PAGE) repeatedly, each
      returned item then moved out of the due range (as its renewal does) until none is due.
    The first size is always loaded whole. Beyond it, loading goes chunk by chunk, and a
    chunk that would end after the budget is not started: the size then measured is what
    was loaded (`short_of` says what it fell short of). The budget: see `load_budget`.
    """
    import boto3

    from tenure.domain.timeutil import iso
    from tenure.services.due import PAGE
    from tenure.store.dynamodb import DynamoRepository

    load_budget_s = load_budget(load_budget_s)
    now = datetime(2026, 2, 1, tzinfo=UTC)
    table = f"{stack.name}-due-{uuid.uuid4().hex[:8]}"
    admin = stack.dynamodb_client()
    admin.create_table(**table_create_kwargs(table, stack.template))
    rows: list[dict[str, Any]] = []
    loaded = 0
    load_seconds = 0.0
    try:
        wait_table_active(admin, table)
        recorder = DynamoRecorder.for_stack(stack, table)
        client = recorder.attach(
            boto3.client(
                "dynamodb",
                endpoint_url=stack.env["AWS_ENDPOINT_URL_DYNAMODB"],
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        )
        repo = DynamoRepository(client, table)
        due_items = _subscription_items(due, 0, due, now)
        last_chunk_s = 0.0
        for size in sorted(sizes):
            if size <= loaded:
                continue
            while loaded < size:
                count = min(chunk, size - loaded)
                if rows and load_seconds + last_chunk_s * count / chunk > load_budget_s:
                    break  # the next chunk would not fit: measure at what is loaded
                began = time.perf_counter()
                _batch_write(admin, table, _subscription_items(count, loaded, due, now))
                last_chunk_s = time.perf_counter() - began
                load_seconds += last_chunk_s
                loaded += count
            if rows and rows[-1]["table_items"] == loaded:
                rows[-1]["short_of"] = size
                break

            mark = recorder.mark()
            found = repo.due(now, limit=due)
            one = recorder.calls[mark:]

            mark = recorder.mark()
            runs = queued = 0
            while page := repo.due(now, limit=PAGE):
                runs += 1
                queued += len(page)
                later = now + timedelta(days=31)
                for d in page:  # renewed: its next due moment is a period later
                    admin.update_item(
                        TableName=table,
                        Key={"PK": {"S": f"SUB#{d.entity_id}"}, "SK": {"S": "SUB"}},
                        UpdateExpression="SET DueSK = :sk",
                        ExpressionAttributeValues={
                            ":sk": {"S": f"{iso(later)}#{d.kind}#{d.entity_id}"}
                        },
                    )
            deployed = recorder.calls[mark:]
            _batch_write(admin, table, due_items)  # due again, for the next size
            rows.append(
                {
                    "table_items": loaded,
                    "short_of": size if loaded < size else None,
                    "due": due,
                    "one_call_returned": len(found),
                    "one_call_items_read": sum(c.items_read for c in one),
                    "one_call_queries": len(one),
                    "one_call_rcu": _read_units(one, 1)["rcu_per_renewal"],
                    "deployed_page": PAGE,
                    "deployed_runs": runs + 1,  # the last run finds nothing
                    "deployed_queued": queued,
                    "deployed_items_read": sum(c.items_read for c in deployed),
                    "deployed_queries": len(deployed),
                    "deployed_rcu": _read_units(deployed, 1)["rcu_per_renewal"],
                }
            )
    finally:
        with contextlib.suppress(ClientError):
            admin.delete_table(TableName=table)
    return {
        "rows": rows,
        "loaded_items": loaded,
        "load_budget_s": max(load_budget_s, 0.0),
        "load_seconds": load_seconds,
        "load_items_per_s": loaded / load_seconds if load_seconds else 0.0,
    }


# -- 4: the provider bound ---------------------------------------------------------------------
def load_budget(given: float | None) -> float:
    """Seconds a bench may spend loading its large tables: `given`, else
    $TENURE_BENCH_LOAD_S, else DEFAULT_LOAD_BUDGET_S."""
    if given is not None:
        return given
    return _env_float(LOAD_BUDGET_ENV, DEFAULT_LOAD_BUDGET_S)


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def provider_rps() -> float:
    """The deployment's provider budget, read as the gateways read it (default 80/s)."""
    from tenure.settings import Settings

    return Settings().provider_rate_limit


def provider_projection(calls_per_renewal: float, rps: float | None = None) -> dict[str, Any]:
    """Hours to renew PROJECTED_RENEWALS when the provider's rate limit is the bottleneck
    (enough charger concurrency assumed: docs/payments.md, "Provider rate limit")."""
    rate = rps or provider_rps()

    def hours(calls: float, per_s: float) -> float:
        return calls * PROJECTED_RENEWALS / per_s / 3600

    return {
        "renewals": PROJECTED_RENEWALS,
        "provider_rps": rate,
        "calls_per_renewal": calls_per_renewal,
        "hours": hours(calls_per_renewal, rate),
        "floor_hours_one_call": hours(1, rate),
        "hours_at_stripe_live_limit": hours(calls_per_renewal, STRIPE_LIVE_RPS),
    }


def run_all(
    subscriptions: int = 200,
    sizes: tuple[int, ...] = (10_000, 100_000),
    load_budget_s: float | None = None,
) -> dict[str, Any]:
    """Every renewal figure; see scheduler_reads for the load budget. The scheduler tables get
    a DynamoDB Local of their own: loading a table measured three to four times slower while
    another table of the same DynamoDB Local held items (docs/benchmarks.md)."""
    with LocalStack() as stack:
        pipeline = renewal_pipeline(stack, subscriptions)
    with LocalStack() as stack:
        reads = scheduler_reads(stack, sizes, load_budget_s=load_budget_s)
    return {
        "pipeline": pipeline,
        "scheduler": reads,
        "provider": provider_projection(pipeline["provider_calls_per_renewal"]),
    }
