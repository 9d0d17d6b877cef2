"""`make bench` figures for the retention metrics: items a daily run reads, report build time.

Tables are synthesized through the repository (never by key shape): ledger entries
committed as the services commit them (so each customer's MRR state is kept beside the
customer, as in production) and daily snapshots, as the aggregator would have left them.
The commits are staged (`bench_load.StagedTable`) and the items they leave loaded with
BatchWriteItem, so 100,000 subscriptions load in minutes; the day measured is committed
for real.
"""

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tenure.domain import mrr
from tenure.domain.events import MrrLedgerEntry
from tenure.fakes import FixedClock
from tenure.ports import Commit
from tenure.report.page import render_report
from tenure.services import retention
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.bench.load import StagedTable, batch_write
from tenure_local.stack.local_stack import LocalStack

START = date(2025, 1, 1)


class ItemCounter:
    """Counts the items DynamoDB returns to one client, and the requests made."""

    def __init__(self, client: Any) -> None:
        self.items = 0
        self.requests = 0
        client.meta.events.register("after-call.dynamodb.*", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.requests += 1
        self.items += len(parsed.get("Items", [])) + (1 if parsed.get("Item") else 0)
        self.items += sum(len(v) for v in parsed.get("Responses", {}).values())


def _moment(day: date, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(seconds=second)


def _commit_ledger(repo: DynamoRepository, entries: list[MrrLedgerEntry]) -> None:
    # Each entry writes its customer's MRR state too: 50 entries fill one transaction.
    for start in range(0, len(entries), 50):
        repo.commit(Commit(ledger=entries[start : start + 50]))


def _staged(table: str) -> tuple[StagedTable, DynamoRepository]:
    staged = StagedTable()
    return staged, DynamoRepository(staged, table)


def _load(stack: LocalStack, staged: StagedTable) -> dict[str, float]:
    """Writes what was staged to the (fresh) table; returns items and seconds."""
    began = time.perf_counter()
    items = batch_write(stack.dynamodb_client(), stack.env["TABLE_NAME"], staged.final_requests())
    return {"items_loaded": items, "load_seconds": time.perf_counter() - began}


def daily_run_reads(stack: LocalStack, subscriptions: int, changes: int = 1000) -> dict[str, Any]:
    """Items read by one daily run with `changes` ledger entries, on a table of
    `subscriptions` paying customers (one subscription each)."""
    stack.reset_table()
    client = stack.dynamodb_client()
    repo = DynamoRepository(client, stack.env["TABLE_NAME"])
    svc = Services(repo=repo, clock=FixedClock(_moment(START)))
    joined = [
        MrrLedgerEntry(f"s{n}", f"c{n}", "USD", _moment(START, n % 3600), 0, 1000, "Activated")
        for n in range(subscriptions)
    ]
    staged, staging = _staged(stack.env["TABLE_NAME"])
    _commit_ledger(staging, joined)
    first = mrr.aggregate_day(START, None, sorted(joined, key=lambda e: e.at), {})
    staging.save_snapshot(mrr.day_key(START), first.snapshot)
    loaded = _load(stack, staged)
    busy = START + timedelta(days=1)
    picked = random.Random(7).sample(range(subscriptions), changes)
    _commit_ledger(
        repo,
        [
            MrrLedgerEntry(f"s{n}", f"c{n}", "USD", _moment(busy, i), 1000, 2000, "PlanChanged")
            for i, n in enumerate(picked)
        ],
    )
    counter = ItemCounter(client)
    began = time.perf_counter()
    summary = retention.aggregate_day(svc, busy)
    return {
        "subscriptions": subscriptions,
        "changes": changes,
        "items_read": counter.items,
        "requests": counter.requests,
        "seconds": time.perf_counter() - began,
        "ledger_entries": summary.ledger_entries,
        "inconsistent": summary.inconsistent,
        "snapshot": summary.snapshot,
    } | loaded


def report_build(stack: LocalStack, subscriptions: int, months: int = 12) -> dict[str, Any]:
    """Seconds to build metrics.json and report.html for `months` of daily snapshots of a
    business of `subscriptions` (joining through the year, ~2 % churning a month, some
    upgrading), with its ledger in the table."""
    stack.reset_table()
    client = stack.dynamodb_client()
    repo = DynamoRepository(client, stack.env["TABLE_NAME"])
    svc = Services(repo=repo, clock=FixedClock(_moment(START)))
    rng = random.Random(11)
    last = START + timedelta(days=round(months * 30.44) - 1)
    span = (last - START).days + 1
    per_day: dict[date, list[MrrLedgerEntry]] = {}
    for n in range(subscriptions):
        joined = START + timedelta(days=rng.randrange(span))
        value = rng.choice((1000, 2000, 5000, 16667))
        per_day.setdefault(joined, []).append(
            MrrLedgerEntry(f"s{n}", f"c{n}", "USD", _moment(joined, n % 3600), 0, value, "A")
        )
        left = joined + timedelta(days=int(rng.expovariate(0.02 / 30)))
        if left <= last:
            per_day.setdefault(left, []).append(
                MrrLedgerEntry(
                    f"s{n}", f"c{n}", "USD", _moment(left, 1 + n % 3600), value, 0, "Canceled"
                )
            )
    memory: dict[str, mrr.CustomerMrr] = {}
    previous = None
    ledger: list[MrrLedgerEntry] = []
    staged, staging = _staged(stack.env["TABLE_NAME"])
    for day in mrr.days(START, last):
        entries = sorted(per_day.get(day, []), key=lambda e: e.at)
        touched = {e.customer_id: memory.get(e.customer_id, mrr.CustomerMrr()) for e in entries}
        result = mrr.aggregate_day(day, previous, entries, touched)
        memory.update(result.customers)
        staging.save_snapshot(mrr.day_key(day), result.snapshot)
        previous = result.snapshot
        ledger.extend(entries)
    _commit_ledger(staging, ledger)
    loaded = _load(stack, staged)
    began = time.perf_counter()
    doc = retention.metrics_document(svc, START, last, "USD")
    page = render_report("Tenure report", doc, None)
    seconds = time.perf_counter() - began
    return {
        "subscriptions": subscriptions,
        "days": span,
        "ledger_entries": len(ledger),
        "seconds": seconds,
        "page_bytes": len(page),
    } | loaded


def run_all(
    sizes: tuple[int, ...] = (10_000, 100_000), changes: int = 1000, report_size: int = 100_000
) -> dict[str, Any]:
    # One DynamoDB Local per table: writing to a table measured four times slower while
    # another table of the same DynamoDB Local held items, deleted or not.
    reads = []
    for size in sizes:
        with LocalStack() as stack:
            stack.apply_env()
            reads.append(daily_run_reads(stack, size, changes))
    with LocalStack() as stack:
        stack.apply_env()
        build = report_build(stack, report_size)
    return {"daily_reads": reads, "report": build}
