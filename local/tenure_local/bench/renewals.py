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
import hashlib
import io
import json
import os
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tenure_local.bench.capacity import (
    Call,
    DynamoRecorder,
    TableGrowth,
    read_unit_figures,
    request_summary,
    scratch_table,
)
from tenure_local.bench.load import batch_write
from tenure_local.stack.local_stack import LocalStack

PROVIDER_RPS_ENV = "PROVIDER_RATE_LIMIT"  # tenure.settings.Settings.provider_rate_limit
STRIPE_LIVE_RPS = 100.0  # Stripe's live-mode rate limit, requests per second
PROJECTED_RENEWALS = 1_000_000
LOAD_BUDGET_ENV = "TENURE_BENCH_LOAD_S"
DEFAULT_LOAD_BUDGET_S = 900.0  # room for the 100,000-subscription tables (~1,000 items/s here)
START = datetime(2026, 1, 1, tzinfo=UTC)
_CONDITION_KEYS = ("ConditionExpression", "ExpressionAttributeValues", "ExpressionAttributeNames")


# -- 1, 3, 4: the pipeline ---------------------------------------------------------------------
@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The handlers' EMF lines and Powertools warnings are for CloudWatch, not the table."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        yield


def bench_ids(n: int, long_ids: bool = False) -> tuple[str, str]:
    """(subscription id, customer id) of the bench's `n`-th subscription: `sub_r00000` and
    `cus_r00000`, or with `long_ids` ids of the length the API makes (`sub_`/`cus_` and 24
    hex characters, functions/api; the sandbox's provider customers are as long)."""
    if not long_ids:
        return f"sub_r{n:05d}", f"cus_r{n:05d}"
    digest = hashlib.sha256(f"bench {n}".encode()).hexdigest()
    return f"sub_{digest[:24]}", f"cus_{digest[24:48]}"


@contextlib.contextmanager
def stripe_length_card(long_ids: bool) -> Iterator[str]:
    """The 4242 test card's sandbox payment method: `pm_card_visa`, or with `long_ids` an
    alias of it as long as Stripe's ids (`pm_` and 24 characters), known to the sandbox
    for as long as the bench runs."""
    from tenure.payments.sandbox_cards import BY_METHOD, payment_method_for

    card = payment_method_for("4242424242424242") or ""
    if not long_ids:
        yield card
        return
    alias = "pm_" + hashlib.sha256(b"bench card").hexdigest()[:24]
    BY_METHOD[alias] = BY_METHOD[card]
    try:
        yield alias
    finally:
        BY_METHOD.pop(alias, None)


def renewal_pipeline(
    stack: LocalStack, subscriptions: int = 200, long_ids: bool = False
) -> dict[str, Any]:
    """Renew `subscriptions` paid monthly subscriptions (4242 card) through the handlers.

    Setup goes through the API handler (plan, customer, card, subscription: the first
    invoice is charged on subscribe). Then the clock jumps to the end of the first period
    and the scheduler and charger run as the simulator runs them: scheduler, drain the
    queue through the charger in batches of 10, again until a run queues less than a page.
    Everything after the jump is counted, scheduler queries included. With `long_ids` the
    customers, subscriptions and the card's payment method have ids of the API's and
    Stripe's length (`bench_ids`, `stripe_length_card`), the same emails otherwise.
    """
    import boto3

    from tenure import bootstrap
    from tenure.domain.invoices import InvoiceKind, InvoiceStatus
    from tenure.domain.subscription import SubscriptionStatus
    from tenure.domain.timeutil import iso, parse_iso
    from tenure.fakes import FixedClock
    from tenure.payments.sandbox import SandboxGateway
    from tenure.services.context import Services
    from tenure.services.due import PAGE
    from tenure.store.dynamodb import DynamoRepository
    from tenure_local.runtime import functions

    stack.apply_env()
    bootstrap.use(None)
    recorder = DynamoRecorder.for_stack(stack)
    ddb = recorder.attach(boto3.client("dynamodb"))
    sqs = boto3.client("sqs")
    queue_url = stack.env["RENEWAL_QUEUE_URL"]
    repo = DynamoRepository(ddb, stack.table_name)
    clock = FixedClock(START)
    gateway = SandboxGateway(clock=lambda: int(clock.now().timestamp()))
    bootstrap.use(bootstrap.Wiring(Services(repo=repo, clock=clock, gateway=gateway)))
    auth = {"authorization": f"Bearer {stack.env['TENURE_API_TOKEN']}"}

    def api(method: str, path: str, body: Any) -> dict[str, Any]:
        response = functions.invoke("api", functions.http_event(method, path, body, headers=auth))
        status = int(response.get("statusCode", 500))
        if status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {response.get('body')}")
        payload: dict[str, Any] = json.loads(response.get("body") or "{}")
        return payload

    try:
        with quiet(), stripe_length_card(long_ids) as card:
            setup_began = time.perf_counter()
            api(
                "POST",
                "/v1/plans",
                {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"},
            )
            pairs = [bench_ids(n, long_ids) for n in range(subscriptions)]
            ids = [sub_id for sub_id, _ in pairs]
            ends = set()
            for n, (sub_id, customer) in enumerate(pairs):
                email = f"cus_r{n:05d}@example.com"  # as with short ids: only ids grow
                api("POST", "/v1/customers", {"id": customer, "email": email})
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
            before = recorder.images()
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
            floor_wcu, floor_index_wcu = recorder.write_floor(before, window)
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

            by_item = recorder.wcu_by_item(before, window, max(renewed, 1))
            raw = replay(stack, window)
    finally:
        bootstrap.use(None)
        stack.restore_env()

    summary = request_summary(window, renewed)
    per_s = renewed / seconds if seconds else 0.0
    raw_per_s = renewed / raw["seconds"] if raw["seconds"] else 0.0
    return {
        "backend": stack.dynamodb_backend,
        "subscriptions": subscriptions,
        "long_ids": long_ids,
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
        # Each item the renewals changed written once, in one transaction (capacity.write_floor).
        "floor_wcu_per_renewal": floor_wcu / renewed if renewed else 0.0,
        "floor_index_wcu_per_renewal": floor_index_wcu / renewed if renewed else 0.0,
        # `<step> <item kind>` -> [WCU, on indexes] per subscription renewed (capacity.py).
        "wcu_by_item": by_item,
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
    """Subscription items as DynamoRepository.commit writes them (its keys: store/commit.py).

    Items 0..due-1 are due within the day before `now`; of the rest, one in five is canceled
    (no due keys, so not in the DueIndex) and the others renew within 30 days after `now`.
    """
    from tenure.domain.calendar import IntervalUnit
    from tenure.domain.plans import Plan
    from tenure.domain.subscription import DueKind, Subscription
    from tenure.domain.timeutil import iso
    from tenure.store import codec
    from tenure.store.dynamodb import due_shard

    plan = Plan(id="basic", amount=1000, currency="USD", interval=IntervalUnit.MONTH)
    sub = Subscription.subscribe("sub_template", "cus_template", plan, now - timedelta(days=31))
    template = codec.to_item(
        codec.subscription_to_attrs(sub) | {"entity": "subscription", "version": 2}
    )
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
    from tenure.domain.timeutil import iso
    from tenure.services.due import PAGE
    from tenure.store.dynamodb import DynamoRepository

    load_budget_s = load_budget(load_budget_s)
    now = datetime(2026, 2, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    growth = TableGrowth(chunk, load_budget_s)
    with scratch_table(stack, "due") as (table, admin, client, recorder):
        repo = DynamoRepository(client, table)
        due_items = _subscription_items(due, 0, due, now)

        def write(count: int, first: int) -> int:
            _batch_write(admin, table, _subscription_items(count, first, due, now))
            return count

        for size in sorted(sizes):
            if size <= growth.loaded:
                continue
            growth.grow_to(size, write, measured=bool(rows))
            loaded = growth.loaded
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
                    "one_call_rcu": read_unit_figures(one, 1)["rcu_per_renewal"],
                    "deployed_page": PAGE,
                    "deployed_runs": runs + 1,  # the last run finds nothing
                    "deployed_queued": queued,
                    "deployed_items_read": sum(c.items_read for c in deployed),
                    "deployed_queries": len(deployed),
                    "deployed_rcu": read_unit_figures(deployed, 1)["rcu_per_renewal"],
                }
            )
    return {
        "rows": rows,
        "loaded_items": growth.loaded,
        "load_budget_s": max(load_budget_s, 0.0),
        "load_seconds": growth.seconds,
        "load_items_per_s": growth.loaded / growth.seconds if growth.seconds else 0.0,
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
    from tenure import bootstrap

    return bootstrap.settings().provider_rate_limit


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
    # The same renewals with ids of real length (the API's and Stripe's): what items cost
    # when ids are not the bench's short ones.
    with LocalStack() as stack:
        pipeline_long_ids = renewal_pipeline(stack, subscriptions, long_ids=True)
    with LocalStack() as stack:
        reads = scheduler_reads(stack, sizes, load_budget_s=load_budget_s)
    return {
        "pipeline": pipeline,
        "pipeline_long_ids": pipeline_long_ids,
        "scheduler": reads,
        "provider": provider_projection(pipeline["provider_calls_per_renewal"]),
    }
