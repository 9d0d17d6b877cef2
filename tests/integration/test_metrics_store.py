"""The metrics' store reads on both repositories, and what a daily run reads on DynamoDB Local."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from tenure.domain.customers import Customer
from tenure.domain.errors import ConcurrencyError
from tenure.domain.events import CustomerFacts, MrrLedgerEntry
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.fakes import FixedClock
from tenure.ports import Commit, Repository
from tenure.services import retention
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 2, 1, 9, tzinfo=UTC)


def test_ledger_entries_come_back_stamped_with_their_customers_mrr_in_commit_order(
    repo: Repository,
) -> None:
    def moved(sub: str, before: int, after: int, days: int, customer: str = "ann") -> None:
        at = T0 + timedelta(days=days)
        repo.commit(Commit(ledger=[MrrLedgerEntry(sub, customer, "USD", at, before, after, "x")]))

    moved("s1", 0, 1000, 0)  # new
    moved("s2", 0, 500, 1)  # a second subscription: expansion
    moved("b1", 0, 700, 1, customer="bob")
    moved("s1", 1000, 0, 2)  # one of two cancelled: contraction
    moved("s2", 500, 0, 30)  # the last one, in March: churn
    moved("s3", 0, 2000, 31)  # back: reactivation, still of the February cohort
    ledger = repo.ledger_between(T0, T0 + timedelta(days=32))
    ann = [e.customer for e in ledger if e.customer_id == "ann"]
    assert [(f.seq, f.before, f.after) for f in ann if f] == [
        (1, 0, 1000),
        (2, 1000, 1500),
        (3, 1500, 500),
        (4, 500, 0),
        (5, 0, 2000),
    ]
    assert [f.paid_before for f in ann if f] == [False, True, True, True, True]
    assert {f.cohort for f in ann if f} == {"2026-02"}
    # Paying when each entry's month began: not in February (new), yes in March.
    assert [f.paying_at_month_start for f in ann if f] == [False, False, False, True, True]
    bob = [e.customer for e in ledger if e.customer_id == "bob"]
    assert bob == [CustomerFacts(1, 0, 700, False, "2026-02", False)]


def test_two_changes_of_one_customer_racing_both_commit_in_turn(local_stack: LocalStack) -> None:
    """A commit whose customer's MRR moved between its read and its write reads it again."""
    local_stack.reset_table()
    client = local_stack.dynamodb_client()
    table = local_stack.env["TABLE_NAME"]
    rival = DynamoRepository(client, table)

    class Interrupted(DynamoRepository):
        raced = False

        def _ledger_ops(
            self, ledger: list[MrrLedgerEntry], read_ahead: dict[str, dict[str, Any] | None]
        ) -> list[dict[str, Any]]:
            ops = super()._ledger_ops(ledger, read_ahead)
            if not self.raced:  # the rival commits after this read, before this write
                self.raced = True
                entry = MrrLedgerEntry("s2", "ann", "USD", T0, 0, 500, "x")
                rival.commit(Commit(ledger=[entry]))
            return ops

    repo = Interrupted(client, table)
    repo.commit(Commit(ledger=[MrrLedgerEntry("s1", "ann", "USD", T0, 0, 1000, "x")]))
    ledger = repo.ledger_between(T0, T0 + timedelta(days=1))
    facts = sorted((e.customer for e in ledger if e.customer), key=lambda f: f.seq)
    assert [(f.seq, f.before, f.after, f.paid_before) for f in facts] == [
        (1, 0, 500, False),
        (2, 500, 1500, True),
    ]


def test_a_commit_refused_for_another_reason_leaves_the_customers_mrr_as_it_was(
    local_stack: LocalStack,
) -> None:
    local_stack.reset_table()
    repo = DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])
    repo.commit(Commit(ledger=[MrrLedgerEntry("s1", "ann", "USD", T0, 0, 1000, "x")]))
    stale = Customer(id="ann", email="ann@example.com", created_at=T0, version=3)
    later = T0 + timedelta(hours=1)
    with pytest.raises(ConcurrencyError, match="customer ann"):
        repo.commit(
            Commit(
                customers=[stale],
                ledger=[MrrLedgerEntry("s1", "ann", "USD", later, 1000, 0, "x")],
            )
        )
    repo.commit(Commit(ledger=[MrrLedgerEntry("s2", "ann", "USD", later, 0, 300, "x")]))
    ledger = repo.ledger_between(T0, T0 + timedelta(days=1))
    facts = [(e.subscription_id, e.customer) for e in ledger]
    assert [(s, f.seq, f.before, f.after) for s, f in facts if f] == [
        ("s1", 1, 0, 1000),
        ("s2", 2, 1000, 1300),
    ]


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
    """A table with `customers` paying customers, each with its MRR state kept by the store."""
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
    # The previous snapshot and each ledger entry: nothing per customer.
    assert reads[100] == 1 + changes
