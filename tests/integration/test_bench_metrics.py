"""The metrics bench on DynamoDB Local: tables loaded from staged commits hold what the
real commits would have written, so the day measured aggregates consistently, and its
cost does not grow with the table."""

from typing import Any

import pytest

from tenure_local.bench.metrics import daily_run_reads, report_build
from tenure_local.stack.local_stack import LocalStack


@pytest.fixture(scope="module")
def daily(local_stack: LocalStack) -> list[dict[str, Any]]:
    return [daily_run_reads(local_stack, size, changes=40) for size in (60, 300)]


def test_the_day_reads_the_same_items_whatever_the_table_size(
    daily: list[dict[str, Any]],
) -> None:
    small, large = daily
    assert small["items_read"] == large["items_read"]
    # The day's 40 ledger entries and the day before's snapshot: nothing else.
    assert small["items_read"] == 41


def test_loaded_tables_hold_each_customers_mrr_state(daily: list[dict[str, Any]]) -> None:
    for row in daily:
        assert row["inconsistent"] == 0
        assert row["ledger_entries"] == 40
        # One ledger entry and one MRR state per subscriber, and the first day's snapshot.
        assert row["items_loaded"] == 2 * row["subscriptions"] + 1
        usd = row["snapshot"]["currencies"]["USD"]
        # Every subscriber paid 10.00 a month; the 40 who changed pay 20.00.
        assert usd["mrr"] == row["subscriptions"] * 1000 + 40 * 1000
        assert usd["expansion_mrr"] == 40 * 1000
        assert usd["customers"] == row["subscriptions"]


def test_the_report_is_built_from_a_loaded_year(local_stack: LocalStack) -> None:
    built = report_build(local_stack, 200, months=12)
    assert built["days"] == 365
    assert built["ledger_entries"] >= 200
    assert built["page_bytes"] > 10_000
