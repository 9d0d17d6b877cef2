"""Backfill is idempotent, the schedule catches up missed days, and reads follow the changes."""

import copy
from datetime import date, timedelta
from typing import Any

from metrics_helpers import T0, Business, day_of, make_business

from tenure.services import retention


def a_busy_month(business: Business) -> None:
    for n in range(6):
        business.at(T0 + timedelta(days=n * 3)).customer(f"c{n}")
        business.subscribe(f"c{n}", "monthly-100" if n % 2 else "yearly-600", f"s{n}")
    business.at(T0 + timedelta(days=12)).change_plan("s1", "monthly-200")
    business.at(T0 + timedelta(days=15)).cancel("s3")
    business.at(T0 + timedelta(days=20)).subscribe("c3", "monthly-200", "s3b")


def test_running_a_range_again_writes_the_same_snapshots_and_nothing_else(
    business: Business,
) -> None:
    a_busy_month(business)
    first, last = T0.date(), day_of(T0, 27)
    states = copy.deepcopy(business.repo.customer_mrr)
    business.aggregate(first, last)
    snapshots = copy.deepcopy(business.repo.snapshots)
    business.aggregate(first, last)
    assert business.repo.snapshots == snapshots
    assert business.repo.customer_mrr == states  # kept by commits; the run only reads


def test_running_an_earlier_day_again_after_later_days_gives_the_same_snapshot(
    business: Business,
) -> None:
    a_busy_month(business)
    business.aggregate(T0.date(), day_of(T0, 27))
    before = copy.deepcopy(business.repo.snapshots)
    for n in (15, 3, 20):  # out of order, after every later day exists
        business.aggregate(day_of(T0, n))
    assert business.repo.snapshots == before


def test_the_schedule_catches_up_every_day_a_missed_run_left_behind(business: Business) -> None:
    a_busy_month(business)
    business.aggregate(T0.date(), day_of(T0, 5))  # the first backfill, from the first day
    assert business.repo.get_snapshot(retention.CURSOR) == {"day": day_of(T0, 5).isoformat()}
    # Runs for days 6..9 never happened; the run after day 10 does them first.
    days = retention.catch_up(business.svc, day_of(T0, 10))
    assert [d.day for d in days] == [day_of(T0, n) for n in range(6, 11)]
    reference = make_business()
    a_busy_month(reference)
    reference.aggregate(T0.date(), day_of(T0, 10))
    for n in range(11):
        key = day_of(T0, n).isoformat()
        assert business.repo.snapshots[key] == reference.repo.snapshots[key], key


def test_the_scheduled_run_repeats_the_last_day_when_retried(business: Business) -> None:
    a_busy_month(business)
    retention.catch_up(business.svc, day_of(T0, 3))
    again = retention.catch_up(business.svc, day_of(T0, 3))
    assert [d.day for d in again] == [day_of(T0, 3)]


class CountingRepository:
    """Counts the items each read returns (what a DynamoDB read is billed by)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.items = 0
        self.calls: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if not name.startswith(("get_", "list_", "ledger_", "events_")):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.add(name)
            found = method(*args, **kwargs)
            self.items += _size(found)
            return found

        return counted


def _size(found: Any) -> int:
    if found is None:
        return 0
    if isinstance(found, list | dict) and not (isinstance(found, dict) and "currencies" in found):
        return len(found)
    return 1


def reads_on(business: Business, day: date) -> int:
    return counted_run(business, day).items


def counted_run(business: Business, day: date) -> CountingRepository:
    counting = CountingRepository(business.repo)
    svc = copy.copy(business.svc)
    svc.repo = counting
    retention.aggregate_day(svc, day)
    return counting


def test_a_day_with_no_changes_reads_the_same_few_items_whatever_the_table_size() -> None:
    small, large = make_business(), make_business()
    for business, customers in ((small, 5), (large, 120)):
        for n in range(customers):
            business.customer(f"c{n}")
            business.subscribe(f"c{n}", "monthly-100", f"s{n}")
        business.aggregate(T0.date())
    quiet = day_of(T0, 3)  # nothing renews or changes on day 3
    small.aggregate(day_of(T0, 1), day_of(T0, 2))
    large.aggregate(day_of(T0, 1), day_of(T0, 2))
    assert reads_on(small, quiet) == reads_on(large, quiet) == 1  # the previous snapshot


def test_a_day_with_changes_reads_what_those_changes_touch_and_nothing_else() -> None:
    sizes = {}
    for customers in (10, 200):
        business = make_business()
        for n in range(customers):
            business.customer(f"c{n}")
            business.subscribe(f"c{n}", "monthly-100", f"s{n}")
        business.aggregate(T0.date(), day_of(T0, 1))
        changed = day_of(T0, 2)
        business.at(T0 + timedelta(days=2))
        for n in range(5):
            business.change_plan(f"s{n}", "monthly-200")
        sizes[customers] = reads_on(business, changed)
    assert sizes[10] == sizes[200]


def test_a_day_with_changes_reads_its_ledger_and_events_and_nothing_about_customers() -> None:
    business = make_business()
    for n in range(8):
        business.customer(f"c{n}")
        business.subscribe(f"c{n}", "monthly-100", f"s{n}")
    business.subscribe("c0", "monthly-200", "s0b")  # c0 has two subscriptions
    business.aggregate(T0.date(), day_of(T0, 1))
    changed = day_of(T0, 2)
    business.at(T0 + timedelta(days=2))
    business.change_plan("s1", "monthly-200")
    business.cancel("s0")  # contraction: c0 keeps s0b
    business.cancel("s2")  # churn
    run = counted_run(business, changed)
    start = retention.day_start(changed)
    ledger = business.repo.ledger_between(start, start + timedelta(days=1))
    events = business.repo.events_between(start, start + timedelta(days=1))
    paid = {e["entity_id"] for e in events if e["type"] == "InvoicePaid"}
    assert run.calls == {"get_snapshot", "ledger_between", "events_between", "get_invoices"}
    assert run.items == 1 + len(ledger) + len(events) + len(paid)
    usd = business.day(changed)
    assert (usd["expansion_mrr"], usd["contraction_mrr"], usd["churned_mrr"]) == (
        10000,
        10000,
        10000,
    )
    assert usd["customers_lost"] == 1
