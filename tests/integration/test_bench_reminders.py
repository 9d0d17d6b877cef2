"""The reminders bench on DynamoDB Local: the same due emails cost the same items read in a
small table and in a table five times larger, and every one of them is sent."""

from typing import Any

import pytest

from tenure.services.reminders import EMAILS_PER_CLAIM
from tenure_local.bench.reminders import reminder_reads
from tenure_local.stack.local_stack import LocalStack


@pytest.fixture(scope="module")
def figures(local_stack: LocalStack) -> dict[str, Any]:
    # Runs of up to 24 (3 a due shard): the 50 take several runs, as 1,000 can in production.
    return reminder_reads(local_stack, sizes=(200, 1_000), due=50, load_budget_s=600, limit=24)


def test_both_table_sizes_are_loaded_whole(figures: dict[str, Any]) -> None:
    assert [r["subscriptions"] for r in figures["rows"]] == [200, 1_000]
    assert all(r["short_of"] is None for r in figures["rows"])


def test_every_due_email_is_sent_at_each_size(figures: dict[str, Any]) -> None:
    for row in figures["rows"]:
        assert row["sent"] == 50
        assert row["outcomes"] == {"sent": 50}


def test_items_read_do_not_grow_with_the_table(figures: dict[str, Any]) -> None:
    small, large = figures["rows"]
    assert small["items_read"] == large["items_read"]
    assert figures["equal_items_read"]


def test_the_runs_read_each_due_notice_once(figures: dict[str, Any]) -> None:
    for row in figures["rows"]:
        assert len(row["read_per_run"]) > 2
        assert all(n <= 24 for n in row["read_per_run"])
        assert sum(row["read_per_run"]) == 50
        assert row["read_per_run"][-1] == 0  # the last run finds nothing left


def test_an_email_reads_only_its_notice_and_writes_its_claim_and_record(
    figures: dict[str, Any],
) -> None:
    for row in figures["rows"]:
        sent, ops = row["sent"], row["by_operation"]
        # The claims of up to EMAILS_PER_CLAIM emails, then their records, one transaction each
        batches = sum(-(-read // EMAILS_PER_CLAIM) for read in row["read_per_run"])
        assert round(ops["TransactWriteItems"] * sent) == 2 * batches < 2 * sent
        # The plan and the retention programs, each read once by a run's store
        assert round(ops.get("GetItem", 0) * sent) <= 2
        assert set(ops) <= {"TransactWriteItems", "GetItem", "Query"}
        assert row["items_read"] <= sent + 2  # each notice from the due query, plan, programs
