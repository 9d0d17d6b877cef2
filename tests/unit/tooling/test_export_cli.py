"""`tenure export DIR`: the whole business as JSON Lines per kind (moto stands in for a
deployed table; the running stack is found the way `tenure invoke` finds it)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from deployed import REGION, TABLE, deployed_table, paying_subscriber
from typer.testing import CliRunner

from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway
from tenure.services import catalog
from tenure.services import operator_actions as ops
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.cli.main import app
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with deployed_table(monkeypatch) as client:
        yield client


def a_small_business(client: Any) -> None:
    """Two customers subscribe and pay; support credits one of them (an audit entry)."""
    clock = FixedClock(T0)
    svc = Services(DynamoRepository(client, TABLE), clock, SandboxGateway(clock=clock.now))
    plan = Plan(id="team", name="Team", amount=4900, currency="EUR", interval="month")
    catalog.create_plan(svc, plan)
    for name in ("ana", "ben"):
        paying_subscriber(svc, name, "team", name=name.title())
    ops.adjust_credit(svc, "sub-ana", 100, actor="support-anna", note="goodwill")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_export_writes_one_json_lines_file_per_kind(aws: Any, tmp_path: Path) -> None:
    a_small_business(aws)
    result = CliRunner().invoke(app, ["export", str(tmp_path), "--table", TABLE])
    assert result.exit_code == 0, result.output
    customers = lines(tmp_path / "customer.jsonl")
    assert [(c["id"], c["email"]) for c in customers] == [
        ("ana", "ana@example.com"),
        ("ben", "ben@example.com"),
    ]
    assert all("PK" not in c and "GSI1PK" not in c for c in customers)
    assert {s["id"] for s in lines(tmp_path / "subscription.jsonl")} == {"sub-ana", "sub-ben"}
    assert len(lines(tmp_path / "invoice.jsonl")) == 2
    assert len(lines(tmp_path / "plan.jsonl")) == 1
    members = lines(tmp_path / "price_member.jsonl")
    assert [(m["price_id"], m["subscription_id"]) for m in members] == [
        ("team", "sub-ana"),
        ("team", "sub-ben"),
    ]
    # Each audit entry once, though the table keeps a copy under its actor too.
    assert [a["note"] for a in lines(tmp_path / "audit.jsonl")] == ["goodwill"]
    events = lines(tmp_path / "event.jsonl")
    assert "CustomerCreated" in {e["type"] for e in events} and all("id" in e for e in events)
    assert "customer.jsonl" in result.output


def test_two_exports_of_one_table_are_the_same_bytes(aws: Any, tmp_path: Path) -> None:
    a_small_business(aws)
    for folder in ("one", "two"):
        result = CliRunner().invoke(app, ["export", str(tmp_path / folder), "--table", TABLE])
        assert result.exit_code == 0, result.output
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert one == two and len(one) > 5


def test_an_unknown_table_is_a_clear_error_and_writes_nothing(aws: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", str(tmp_path / "out"), "--table", "nope"])
    assert result.exit_code == 2
    assert "cannot read table 'nope'" in result.output
    assert not (tmp_path / "out").exists()


def test_without_a_running_stack_or_a_table_the_export_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalStack, "attach", staticmethod(lambda path=None: None))
    result = CliRunner().invoke(app, ["export", str(tmp_path / "out")])
    assert result.exit_code == 2 and "tenure serve" in result.output
    assert not (tmp_path / "out").exists()


def test_a_region_without_a_table_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", str(tmp_path), "--region", REGION])
    assert result.exit_code == 2 and "--region goes with --table" in result.output


def test_a_file_as_the_folder_is_refused_before_the_table_is_read(aws: Any, tmp_path: Path) -> None:
    a_small_business(aws)
    target = tmp_path / "export"
    target.write_text("not a folder")

    result = CliRunner().invoke(app, ["export", str(target), "--table", TABLE])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2
    assert flat(f"{target} is a file; expected a folder") in flat(result.output)
    assert target.read_text() == "not a folder"


def test_a_folder_that_cannot_be_made_is_an_error_with_the_reason(aws: Any, tmp_path: Path) -> None:
    a_small_business(aws)
    (tmp_path / "export").write_text("not a folder")
    target = tmp_path / "export" / "march"

    result = CliRunner().invoke(app, ["export", str(target), "--table", TABLE])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2
    said = flat(result.output)
    assert flat(f"cannot write {target}") in said and flat("Not a directory") in said
