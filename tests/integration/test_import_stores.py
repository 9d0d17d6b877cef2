"""Imports on DynamoDB Local as on the in-memory fake: the same state, written once, and the
imports function run as `tenure invoke imports` runs it, against the stack's S3 (moto)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.imports.stripe_export import parse_document, read_objects
from tenure.ports import Repository
from tenure.services.context import Services
from tenure.services.imports import ImportReport, import_batch
from tenure.settings import Settings
from tenure.store.dynamodb import DynamoRepository
from tenure_local.runtime import functions
from tenure_local.runtime.state import build_state
from tenure_local.stack.local_stack import LocalStack

EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "stripe" / "import"
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
CUSTOMERS = ["cus_Ana0001", "cus_Bob0002", "cus_Chen003", "cus_Dana004"]


def objects() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(EXPORT.glob("*.json")):
        found.extend(parse_document(path.read_text(), path.name))
    return found


def imported(repo: Repository) -> ImportReport:
    svc = Services(repo=repo, clock=FixedClock(NOW))
    return import_batch(svc, read_objects(objects(), NOW), dry_run=False)


def recording(service: str, actions: set[str]) -> Any:
    """A client that notes the IAM action of each call (a transaction's, per item)."""
    client = bootstrap.boto_client(service)

    def note(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                [kind] = item
                actions.add(
                    f"dynamodb:{kind}Item"
                    if kind != "ConditionCheck"
                    else "dynamodb:ConditionCheckItem"
                )
        else:
            actions.add(f"{service}:{model.name}")

    client.meta.events.register("provide-client-params.*.*", note)
    return client


def test_importing_twice_changes_nothing_on_either_store(repo: Repository) -> None:
    assert not imported(repo).refused
    first = build_state(repo, CUSTOMERS)
    second = imported(repo)
    assert not second.refused
    assert build_state(repo, CUSTOMERS) == first
    assert {line.outcome for line in second.lines} == {"unchanged", "skipped"}


def test_both_stores_hold_the_same_import(local_stack: LocalStack) -> None:
    local_stack.reset_table()
    dynamo = DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])
    memory = InMemoryRepository()
    imported(dynamo)
    imported(memory)
    assert build_state(dynamo, CUSTOMERS) == build_state(memory, CUSTOMERS)
    assert len(build_state(dynamo, CUSTOMERS)["subscriptions"]) == 4


def test_the_imports_function_reads_the_export_from_the_stacks_bucket(
    local_stack: LocalStack,
) -> None:
    local_stack.reset_table()
    export = [json.loads(p.read_text()) for p in sorted(EXPORT.glob("*.json"))]
    key = "imports/stripe-export.json"
    s3 = local_stack.client("s3")
    s3.put_object(Bucket=local_stack.import_bucket, Key=key, Body=json.dumps(export).encode())
    actions: set[str] = set()
    clients = bootstrap.AwsClients(lambda service: recording(service, actions))
    bootstrap.use(bootstrap.build(Settings(), clock=FixedClock(NOW), clients=clients))
    try:
        result = functions.invoke("imports", {"key": key, "format": "stripe"})
    finally:
        bootstrap.use(None)
        s3.delete_object(Bucket=local_stack.import_bucket, Key=key)
    assert not result["refused"], result
    assert result["counts"]["customers imported"] == 4
    # What the template grants it (tests/unit/test_template.py holds the same list).
    assert actions <= {
        "s3:GetObject",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
    }, actions
    assert {"s3:GetObject", "dynamodb:PutItem"} <= actions
    dynamo = DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])
    assert dynamo.get_subscription("sub_Chen003") is not None
