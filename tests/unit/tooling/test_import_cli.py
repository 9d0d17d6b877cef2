"""`tenure import stripe|csv` on a deployed table (moto stands in for DynamoDB): exit codes,
--dry-run, and a second run that changes nothing."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from deployed import TABLE, deployed_table
from typer.testing import CliRunner

from tenure.fakes import FixedClock
from tenure_local.cli import imports
from tenure_local.cli.main import app
from tenure_local.stack.local_stack import LocalStack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
STRIPE = FIXTURES / "stripe" / "import"
CSV = FIXTURES / "import_csv"
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The import's moment is the clock adapter's: fixed here, as the exports were made then.
    monkeypatch.setattr(imports, "SystemClock", lambda: FixedClock(NOW))
    with deployed_table(monkeypatch) as client:
        yield client


def items(client: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.scan(TableName=TABLE)["Items"]
    return sorted(found, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["import", *args])


def test_importing_a_stripe_folder_twice_writes_once_and_exits_0(table: Any) -> None:
    first = run("stripe", str(STRIPE), "--table", TABLE)
    assert first.exit_code == 0, first.output
    written = items(table)
    assert any(i["PK"]["S"] == "SUB#sub_Chen003" for i in written)
    second = run("stripe", str(STRIPE), "--table", TABLE, "--json")
    assert second.exit_code == 0, second.output
    assert items(table) == written
    report = json.loads(second.output)
    assert report["counts"]["customers unchanged"] == 4


def test_a_dry_run_writes_nothing(table: Any) -> None:
    result = run("stripe", str(STRIPE), "--table", TABLE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written" in result.output
    assert items(table) == []


def test_an_import_with_a_refusal_exits_1_and_says_why(table: Any, tmp_path: Path) -> None:
    for source in STRIPE.glob("*.json"):
        text = source.read_text().replace('"usd"', '"xyz"')
        (tmp_path / source.name).write_text(text)
    result = run("stripe", str(tmp_path), "--table", TABLE)
    assert result.exit_code == 1
    assert "unknown currency 'xyz'" in result.output
    assert not any(i["PK"]["S"] == "CUS#cus_Ana0001" for i in items(table))


def test_a_file_that_is_not_json_exits_2_and_writes_nothing(table: Any, tmp_path: Path) -> None:
    (tmp_path / "customers.json").write_text("{oops")
    result = run("stripe", str(tmp_path), "--table", TABLE)
    assert result.exit_code == 2
    assert "not JSON" in result.output
    assert items(table) == []


def test_a_folder_without_json_files_exits_2(table: Any, tmp_path: Path) -> None:
    assert run("stripe", str(tmp_path), "--table", TABLE).exit_code == 2


def test_the_csv_folder_imports_and_exits_0(table: Any) -> None:
    result = run("csv", str(CSV), "--table", TABLE)
    assert result.exit_code == 0, result.output
    assert any(i["PK"]["S"] == "SUB#sub-chen" for i in items(table))


def test_a_csv_folder_that_is_not_a_folder_exits_2(table: Any, tmp_path: Path) -> None:
    result = run("csv", str(tmp_path / "nowhere"), "--table", TABLE)
    assert result.exit_code == 2
    assert "not a folder" in result.output


def test_without_a_running_stack_or_a_table_nothing_is_written_and_it_exits_2(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalStack, "attach", staticmethod(lambda path=None: None))
    result = run("stripe", str(STRIPE))
    assert result.exit_code == 2
    assert "tenure serve" in result.output
    assert items(table) == []


def test_a_file_that_is_not_utf8_exits_2_and_writes_nothing(table: Any, tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_bytes(b"id,email\n\xff\xfe,a@example.com\n")
    result = run("csv", str(tmp_path), "--table", TABLE)
    assert result.exit_code == 2
    assert "customers.csv" in result.output
    assert items(table) == []


def test_a_stripe_export_saved_with_a_bom_imports_as_without_one(
    table: Any, tmp_path: Path
) -> None:
    for source in sorted(STRIPE.glob("*.json")):
        (tmp_path / source.name).write_bytes(b"\xef\xbb\xbf" + source.read_bytes())

    plain = run("stripe", str(STRIPE), "--table", TABLE, "--dry-run", "--json")
    with_bom = run("stripe", str(tmp_path), "--table", TABLE, "--dry-run", "--json")

    assert with_bom.exit_code == plain.exit_code == 0, with_bom.output
    counts = json.loads(with_bom.output)["counts"]
    assert counts == json.loads(plain.output)["counts"] and counts
