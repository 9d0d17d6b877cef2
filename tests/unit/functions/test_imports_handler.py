"""The imports function on an export in S3 (moto): batches that go on from `next`, the same
result as the CLI, and events it cannot act on refused before anything is read."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.imports.job import InvalidImportRequestError, parse_job
from tenure.payments.sandbox import SandboxGateway
from tenure.services.context import Services
from tenure.settings import Settings
from tenure_local.runtime.functions import FakeContext, load_module

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BUCKET = "tenure-imports"
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


class ShortContext(FakeContext):
    """A context whose time runs out after the first batch."""

    def get_remaining_time_in_millis(self) -> int:
        return 1_000


@dataclass
class Stack:
    module: ModuleType
    repo: InMemoryRepository
    s3: Any

    def run(self, event: dict[str, Any], context: FakeContext | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.module.lambda_handler(
            event, context or FakeContext("tenure-imports")
        )
        return result


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TENURE_IMPORT_BUCKET", BUCKET)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        repo, clock = InMemoryRepository(), FixedClock(NOW)
        # The wiring has a gateway, as deployed: the function must not hand it to the import.
        svc = Services(repo=repo, clock=clock, gateway=SandboxGateway(clock=clock.now))
        bootstrap.use(bootstrap.Wiring(svc, Settings()))
        yield Stack(load_module("imports"), repo, s3)
        bootstrap.use(None)


def one_stripe_file(s3: Any) -> str:
    """The hand-written Stripe export, as one JSON array of list responses."""
    documents = [
        json.loads(p.read_text())
        for p in sorted((FIXTURES / "stripe/import").glob("*"))
        if p.suffix == ".json"
    ]
    key = "imports/stripe.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(documents).encode())
    return key


def test_a_stripe_export_is_imported_in_batches_that_go_on_from_next(stack: Stack) -> None:
    key = one_stripe_file(stack.s3)
    first = stack.run({"key": key, "batch_size": 3}, ShortContext("tenure-imports"))
    assert (first["customers"], first["next"]) == (4, 3)
    assert stack.repo.get_customer("cus_Chen003") is not None
    assert stack.repo.get_customer("cus_Dana004") is None
    rest = stack.run({"key": key, "batch_size": 3, "start": first["next"]})
    assert rest["next"] is None
    assert stack.repo.get_customer("cus_Dana004") is not None
    assert not first["refused"] and not rest["refused"]


def test_with_time_left_one_invocation_imports_every_batch(stack: Stack) -> None:
    key = one_stripe_file(stack.s3)
    result = stack.run({"key": key, "batch_size": 1})
    assert result["next"] is None
    assert result["counts"]["customers imported"] == 4
    assert result["counts"]["plans imported"] == 2  # reported once, not once per batch
    assert stack.repo.list_invoices("sub_Ana0001") == []


def test_a_csv_folder_is_imported_from_its_prefix(stack: Stack) -> None:
    for path in (FIXTURES / "import_csv").glob("*.csv"):
        stack.s3.put_object(Bucket=BUCKET, Key=f"imports/march/{path.name}", Body=path.read_bytes())
    result = stack.run({"key": "imports/march", "format": "csv", "dry_run": True})
    assert result["counts"]["customers would_import"] == 3
    assert stack.repo.get_customer("ana") is None


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({}, "`key`"),
        ({"key": "imports/x.json", "format": "xml"}, "`format`"),
        ({"key": "imports/x.json", "start": -1}, "`start`"),
        ({"key": "imports/x.json", "batch_size": 0}, "`batch_size`"),
        ({"key": "imports/x.json", "dry_run": "yes"}, "`dry_run`"),
    ],
)
def test_an_event_it_cannot_act_on_is_refused_and_writes_nothing(
    stack: Stack, event: dict[str, Any], why: str
) -> None:
    with pytest.raises(InvalidImportRequestError, match=why):
        stack.run(event)
    assert stack.repo.list_plans() == []


@pytest.mark.parametrize(
    ("event", "body", "why"),
    [
        ({"key": "imports/missing.json"}, None, "no object imports/missing.json"),
        ({"key": "imports/bad.json"}, b"{oops", "not JSON"),
        ({"key": "imports/empty", "format": "csv"}, None, "customers.csv is missing"),
    ],
)
def test_an_export_that_cannot_be_read_is_one_refusal_and_nothing_is_written(
    stack: Stack, event: dict[str, Any], body: bytes | None, why: str
) -> None:
    if body is not None:
        stack.s3.put_object(Bucket=BUCKET, Key=event["key"], Body=body)
    result = stack.run(event)
    assert result["refused"] and result["next"] is None
    [line] = result["lines"]
    assert (line["kind"], line["outcome"]) == ("export", "refused")
    assert why in line["reason"]
    assert stack.repo.list_plans() == []


def test_without_a_bucket_named_or_configured_the_event_is_refused() -> None:
    with pytest.raises(InvalidImportRequestError, match="`bucket`"):
        parse_job({"key": "imports/x.json"}, default_bucket="")
