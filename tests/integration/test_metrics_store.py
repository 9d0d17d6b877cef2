"""The metrics' store reads on both repositories, and what a daily run reads on DynamoDB Local."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from tenure.domain.events import MrrLedgerEntry
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.ports import Commit, Repository
from tenure.services import metrics as retention
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack import LocalStack

T0 = datetime(2026, 2, 1, 9, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "memory":
        yield InMemoryRepository()
        return
    stack = request.getfixturevalue("local_stack")
    stack.reset_table()
    yield DynamoRepository(stack.dynamodb_client(), stack.env["TABLE_NAME"])


def test_customer_states_read_back_as_of_the_latest_day_before_the_one_asked(
    repo: Repository,
) -> None:
    repo.save_customer_mrr_states("2026-02-01", {"a": {"subs": {"USD": {"s": 1}}}, "b": {"n": 1}})
    repo.save_customer_mrr_states("2026-02-03", {"a": {"subs": {"USD": {"s": 3}}}})
    assert repo.get_customer_mrr_states(["a", "b", "c"], "2026-02-01") == {}
    assert repo.get_customer_mrr_states(["a", "b", "c"], "2026-02-03") == {
        "a": {"subs": {"USD": {"s": 1}}},
        "b": {"n": 1},
    }
    assert repo.get_customer_mrr_states(["a"], "2026-02-04") == {"a": {"subs": {"USD": {"s": 3}}}}
    repo.save_customer_mrr_states("2026-02-03", {"a": {"subs": {"USD": {"s": 4}}}})  # a rerun
    assert repo.get_customer_mrr_states(["a"], "2026-02-09") == {"a": {"subs": {"USD": {"s": 4}}}}


def test_snapshots_and_invoices_read_back_in_batches(repo: Repository) -> None:
    for n in range(130):
        repo.save_snapshot(f"d{n:03d}", {"day": n})
    found = repo.get_snapshots([f"d{n:03d}" for n in range(0, 140, 2)])
    assert sorted(found) == [f"d{n:03d}" for n in range(0, 130, 2)]
    assert found["d064"] == {"day": 64}
    invoice = Invoice(
        id="in_1",
        subscription_id="s1",
        customer_id="alice",
        kind=InvoiceKind.FIRST,
        period_start=T0,
        period_end=T0 + timedelta(days=28),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)],
        status=InvoiceStatus.OPEN,
        created_at=T0,
    )
    repo.commit(Commit(invoices=[invoice]))
    assert list(repo.get_invoices(["in_1", "in_nope"])) == ["in_1"]


class ItemCounter:
    """Counts the items DynamoDB returns to one client (what reads are billed by)."""

    def __init__(self, client: Any) -> None:
        self.items = 0
        client.meta.events.register("after-call.dynamodb.*", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items += len(parsed.get("Items", [])) + (1 if parsed.get("Item") else 0)
        self.items += sum(len(v) for v in parsed.get("Responses", {}).values())


def fill(repo: DynamoRepository, customers: int, day: date) -> None:
    """A table with `customers` paying customers remembered by the aggregator up to `day`."""
    at = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
    for start in range(0, customers, 50):
        ledger = [
            MrrLedgerEntry(f"s{n}", f"c{n}", "USD", at, 0, 1000, "SubscriptionActivated")
            for n in range(start, min(start + 50, customers))
        ]
        repo.commit(Commit(ledger=ledger))


@pytest.mark.parametrize("changes", [0, 40])
def test_a_daily_run_reads_the_same_items_whatever_the_table_size(
    local_stack: LocalStack, changes: int
) -> None:
    reads = {}
    for customers in (100, 600):
        local_stack.reset_table()
        client = boto3.client("dynamodb")
        repo = DynamoRepository(client, local_stack.env["TABLE_NAME"])
        svc = Services(repo=repo, clock=FixedClock(T0))
        first = T0.date()
        fill(repo, customers, first)
        retention.backfill(svc, first, first + timedelta(days=1))
        busy = first + timedelta(days=2)
        at = datetime(busy.year, busy.month, busy.day, 10, tzinfo=UTC)
        ledger = [
            MrrLedgerEntry(f"s{n}", f"c{n}", "USD", at, 1000, 2000, "SubscriptionPlanChanged")
            for n in range(changes)
        ]
        repo.commit(Commit(ledger=ledger))
        counter = ItemCounter(client)
        retention.aggregate_day(svc, busy)
        reads[customers] = counter.items
    assert reads[100] == reads[600]
    # The previous snapshot, each ledger entry, and the state of each customer it touches.
    assert reads[100] == 1 + 2 * changes
