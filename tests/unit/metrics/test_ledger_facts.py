"""Each ledger entry is committed with its customer's facts, so a day needs nothing else."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from metrics_helpers import T0, Business, day_of, entry
from test_metrics_rates import CHANGES, FEB1, run_days

from tenure.domain import mrr
from tenure.domain.events import MrrLedgerEntry
from tenure.fakes import InMemoryRepository
from tenure.ports import Commit


def committed_days(changes: dict[date, list[Any]], first: date, last: date) -> dict[str, Any]:
    """Commit each day's entries through the store, then aggregate every day from its
    snapshot and ledger alone (no customer state handed in)."""
    repo = InMemoryRepository()
    for day in sorted(changes):
        for item in sorted((i for i in changes[day] if isinstance(i, MrrLedgerEntry)), key=_at):
            repo.commit(Commit(ledger=[item]))
    snapshots: dict[str, Any] = {}
    previous = None
    for day in mrr.days(first, last):
        start = datetime.combine(day, datetime.min.time(), UTC)
        ledger = repo.ledger_between(start, start + timedelta(days=1))
        paid = [i for i in changes.get(day, []) if isinstance(i, mrr.PaymentOutcome)]
        result = mrr.aggregate_day(day, previous, ledger, payments=paid)
        assert (result.unstamped, result.inconsistent, result.customers) == (0, 0, {})
        snapshots[day.isoformat()] = previous = result.snapshot
    return snapshots


def _at(item: MrrLedgerEntry) -> datetime:
    return item.at


def test_the_rates_oracle_gives_the_same_snapshots_from_facts_stamped_at_commit() -> None:
    last = date(2026, 4, 30)
    assert committed_days(CHANGES, FEB1, last) == run_days(CHANGES, FEB1, last)


def test_contraction_and_churn_are_told_apart_from_the_entries_alone() -> None:
    ann: dict[str, mrr.CustomerMrr] = {}
    d1, d2, d3 = (T0 + timedelta(days=n) for n in range(3))
    opened = mrr.record_entries([entry("ann", "s1", 0, 10000), entry("ann", "s2", 0, 5000)], ann)
    one_left = mrr.record_entries([entry("ann", "s1", 10000, 0, d2, "SubscriptionCanceled")], ann)
    none_left = mrr.record_entries([entry("ann", "s2", 5000, 0, d3, "SubscriptionCanceled")], ann)
    first = mrr.aggregate_day(d1.date(), None, opened).snapshot
    second = mrr.aggregate_day(d2.date(), first, one_left).snapshot
    third = mrr.aggregate_day(d3.date(), second, none_left).snapshot
    usd = [s["currencies"]["USD"] for s in (first, second, third)]
    assert (usd[0]["new_mrr"], usd[0]["customers_new"]) == (15000, 1)
    assert (usd[1]["contraction_mrr"], usd[1]["customers_lost"]) == (10000, 0)
    assert (usd[2]["churned_mrr"], usd[2]["customers_lost"]) == (5000, 1)
    assert [u["mrr"] for u in usd] == [15000, 5000, 0]


def test_a_churned_customer_who_comes_back_months_later_is_reactivation_in_the_old_cohort() -> None:
    bo: dict[str, mrr.CustomerMrr] = {}
    later = datetime(2026, 6, 3, 9, tzinfo=UTC)
    mrr.record_entries([entry("bo", "s1", 0, 10000), entry("bo", "s1", 10000, 0, T0)], bo)
    back = mrr.record_entries([entry("bo", "s2", 0, 20000, later)], bo)
    usd = mrr.aggregate_day(later.date(), None, back).snapshot["currencies"]["USD"]
    assert (usd["reactivation_mrr"], usd["new_mrr"], usd["customers_new"]) == (20000, 0, 0)
    assert usd["cohorts"] == {"2026-02": [1, 20000]}


def test_entries_dated_out_of_commit_order_still_chain_up() -> None:
    """A change told later but dated earlier (a provider's moment) follows the commits."""
    repo = InMemoryRepository()
    repo.commit(Commit(ledger=[entry("cy", "s1", 0, 10000, T0 + timedelta(hours=1))]))
    repo.commit(Commit(ledger=[entry("cy", "s1", 10000, 0, T0, "SubscriptionCanceled")]))
    ledger = repo.ledger_between(T0 - timedelta(hours=9), T0 + timedelta(hours=15))
    result = mrr.aggregate_day(T0.date(), None, ledger)
    usd = result.snapshot["currencies"]["USD"]
    assert (usd["new_mrr"], usd["churned_mrr"], usd["mrr"], usd["customers"]) == (
        10000,
        10000,
        0,
        0,
    )
    assert result.inconsistent == 0


def test_entries_committed_without_facts_are_counted() -> None:
    bare = [entry("dee", "s1", 0, 10000)]
    result = mrr.aggregate_day(T0.date(), None, bare)
    assert (result.unstamped, result.snapshot["currencies"]["USD"]["new_mrr"]) == (1, 10000)


def test_the_service_path_gives_what_the_ledger_alone_would_give_without_facts(
    business: Business,
) -> None:
    business.customer("syncalytics")
    business.subscribe("syncalytics", "yearly-2000", "gold")
    business.at(T0 + timedelta(days=1)).subscribe("syncalytics", "monthly-100", "silver")
    business.at(T0 + timedelta(days=2)).cancel("silver", reason="not_needed")
    business.at(T0 + timedelta(days=3)).cancel("gold")
    business.at(T0 + timedelta(days=40)).subscribe("syncalytics", "monthly-200", "gold-again")
    business.at(T0 + timedelta(days=41)).customer("zed")
    business.subscribe("zed", "monthly-eur")
    business.aggregate(T0.date(), day_of(T0, 45))
    # The same ledger with the facts removed, aggregated the old way (customer states
    # carried from day to day) gives the same snapshots.
    memory: dict[str, mrr.CustomerMrr] = {}
    previous = None
    for day in mrr.days(T0.date(), day_of(T0, 45)):
        start = datetime.combine(day, datetime.min.time(), UTC)
        ledger = business.repo.ledger_between(start, start + timedelta(days=1))
        bare = [replace(e, customer=None) for e in ledger]
        touched = {e.customer_id: memory.get(e.customer_id, mrr.CustomerMrr()) for e in bare}
        stored = business.repo.get_snapshot(day.isoformat())
        result = mrr.aggregate_day(day, previous, bare, touched)
        memory.update(result.customers)
        previous = result.snapshot
        assert movements(result.snapshot) == movements(stored), day


def movements(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """The MRR figures of a snapshot (payment health and exit reasons come from events)."""
    kept = ("mrr", "customers", "cohorts", "start_customers_lost", "start_customers_returned")
    return {
        currency: {
            k: v for k, v in figures.items() if k in kept or k.endswith("_mrr") or "customers_" in k
        }
        for currency, figures in (snapshot or {}).get("currencies", {}).items()
    }
