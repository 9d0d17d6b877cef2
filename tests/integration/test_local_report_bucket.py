"""The local stack's report bucket: the metrics function shelves its daily report there, as a
deployed stack's does in ReportBucket, while simulations keep their report to their folder."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure import bootstrap
from tenure_local.cli.report import fetch_shelved_report
from tenure_local.runtime import functions
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
SCENARIO: dict[str, Any] = {
    "start": "2026-03-01T00:00:00Z",
    "until": "2026-03-05T00:00:00Z",
    "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
    "customers": [{"id": "ann", "email": "ann@example.com", "card": "4242424242424242"}],
    "actions": [
        {"at": "2026-03-01T09:00:00Z", "do": "subscribe", "customer": "ann", "plan": "basic"}
    ],
}


def shelved(stack: LocalStack) -> list[str]:
    listed = stack.client("s3").list_objects_v2(Bucket=stack.report_bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture
def empty_bucket(local_stack: LocalStack, fresh_table: str) -> Iterator[LocalStack]:
    """The stack with an empty table and an empty report bucket; handlers wired from its
    environment, as in a Lambda container."""
    s3 = local_stack.client("s3")
    for key in shelved(local_stack):
        s3.delete_object(Bucket=local_stack.report_bucket, Key=key)
    bootstrap.use(None)
    yield local_stack
    bootstrap.use(None)


def test_the_functions_environment_names_the_stacks_report_bucket(
    local_stack: LocalStack,
) -> None:
    assert local_stack.env["TENURE_REPORT_BUCKET"] == local_stack.report_bucket
    local_stack.client("s3").head_bucket(Bucket=local_stack.report_bucket)  # raises if missing


def test_a_metrics_run_shelves_the_report_in_the_local_bucket(
    empty_bucket: LocalStack, tmp_path: Path
) -> None:
    event = json.loads((REPO / "events" / "metrics" / "one-day.json").read_text())

    result = functions.invoke("metrics", event)

    assert result["report"] is True
    assert shelved(empty_bucket) == [
        "reports/metrics.json",
        "reports/monthly.csv",
        "reports/report.html",
    ]
    page = fetch_shelved_report(empty_bucket.client("s3"), empty_bucket.report_bucket, tmp_path)
    assert page.read_text().lstrip().lower().startswith("<!doctype html>")
    assert json.loads((tmp_path / "metrics.json").read_text())["until"] == event["date"]


def test_a_simulation_on_the_stack_keeps_its_report_out_of_the_bucket(
    empty_bucket: LocalStack, tmp_path: Path
) -> None:
    Simulator(parse(SCENARIO), tmp_path / "sim", measure_raw_speed=False, stack=empty_bucket).run()

    assert (tmp_path / "sim" / "report.html").is_file()
    assert shelved(empty_bucket) == []
