"""The differential test: a scenario run on the memory engine writes the very bytes the
DynamoDB Local engine writes (state.json, metrics.json, events.jsonl, every email)."""

from pathlib import Path

import pytest

from tenure_local.simulator.engine_diff import differing_files, run_on_both
from tenure_local.simulator.scenario import load
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "example",
    [
        "demo.yaml",
        "webhooks.yaml",
        "installments.yaml",
        "collections.yaml",
        "razorpay.yaml",
        "pay-your-way.yaml",
        "seats.yaml",
        "price-change.yaml",
        "catalog.yaml",
        "refund-failed.yaml",
    ],
)
def test_the_memory_engine_writes_what_dynamodb_local_writes(
    local_stack: LocalStack, tmp_path: Path, example: str
) -> None:
    run_on_both(load(REPO / "examples" / example), tmp_path, stack=local_stack)
    emails = list((tmp_path / "memory" / "outbox").glob("*.eml"))
    assert emails, "the scenario sends email, so the outboxes are compared"
    assert differing_files(tmp_path / "dynamodb-local", tmp_path / "memory") == []


def test_both_engines_write_the_same_emails_for_trials_without_a_card(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    scenario = REPO / "tests" / "fixtures" / "scenarios" / "cardless-trials.yaml"
    run_on_both(load(scenario), tmp_path, stack=local_stack)
    emails = sorted(p.name for p in (tmp_path / "memory" / "outbox").glob("*.eml"))
    assert [name for name in emails if "card_required" in name] == [
        "20260316T120000Z-sami-card_required.eml",
        "20260316T130000Z-nora-card_required.eml",
    ]
    assert differing_files(tmp_path / "dynamodb-local", tmp_path / "memory") == []


def test_both_engines_write_the_same_three_decimal_invoices_and_charges(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    # KWD tax, proration, coupon and refund amounts rounded to tens of fils (every one paid).
    scenario = REPO / "tests" / "fixtures" / "scenarios" / "three-decimals.yaml"
    run_on_both(load(scenario), tmp_path, stack=local_stack)
    state = (tmp_path / "dynamodb-local" / "state.json").read_text()
    assert '"status": "open"' not in state and '"status": "void"' not in state
    assert differing_files(tmp_path / "dynamodb-local", tmp_path / "memory") == []


def test_a_difference_in_any_compared_file_or_email_is_reported(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        (folder / "outbox").mkdir(parents=True)
        for name in ("state.json", "metrics.json", "events.jsonl"):
            (folder / name).write_text("{}\n")
        (folder / "outbox" / "1-alice-receipt.eml").write_bytes(b"Subject: hi\r\n")
    assert differing_files(first, second) == []
    (second / "events.jsonl").write_text("{} \n")
    (second / "outbox" / "1-alice-receipt.eml").write_bytes(b"Subject: hi!\r\n")
    (first / "outbox" / "2-bob-receipt.eml").write_bytes(b"Subject: yo\r\n")
    assert differing_files(first, second) == [
        "events.jsonl",
        "outbox/1-alice-receipt.eml",
        f"outbox/2-bob-receipt.eml (only in {first})",
    ]
