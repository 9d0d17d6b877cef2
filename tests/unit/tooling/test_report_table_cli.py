"""`tenure report --table NAME`: the report of a deployed table (moto stands in for DynamoDB)."""

import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from deployed import REGION, TABLE, deployed_table, paying_subscriber
from typer.testing import CliRunner

from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway
from tenure.services import catalog, retention, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.cli.main import app

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("REPORTING_CURRENCY", raising=False)
    with deployed_table(monkeypatch) as client:
        yield client


def _run_a_small_business(client: Any, days: int) -> None:
    """Two customers subscribe, one leaves the next day; the metrics run aggregates each day."""
    clock = FixedClock(T0)
    svc = Services(
        repo=DynamoRepository(client, TABLE),
        clock=clock,
        gateway=SandboxGateway(clock=clock.now),
        reminders=None,
    )
    catalog.create_plan(
        svc, Plan(id="team", name="Team", amount=4900, currency="EUR", interval="month")
    )
    for name in ("ana", "ben"):
        paying_subscriber(svc, name, "team")
    clock.set(T0 + timedelta(days=1))
    subscriptions.cancel(svc, "sub-ben", at_period_end=False, reason="switched_service")
    retention.backfill(svc, T0.date(), T0.date() + timedelta(days=days - 1))


def test_the_report_of_a_deployed_table_is_written_to_the_folder(aws: Any, tmp_path: Path) -> None:
    _run_a_small_business(aws, days=3)
    out = tmp_path / "report"
    done = CliRunner().invoke(
        app, ["report", "--table", TABLE, "--region", REGION, "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "monthly.csv", "report.html"]
    doc = json.loads((out / "metrics.json").read_text())
    assert (doc["start"], doc["until"], doc["currency"]) == ("2026-03-01", "2026-03-03", "EUR")
    html = (out / "report.html").read_text()
    assert "MRR is €49 on Mar 3, 2026, with 1 paying customer" in html
    assert str((out / "report.html").resolve()) in done.stdout


def test_the_table_report_is_the_services_report_of_the_days_aggregated(
    aws: Any, tmp_path: Path
) -> None:
    from tenure.services import report

    _run_a_small_business(aws, days=2)
    done = CliRunner().invoke(app, ["report", "--table", TABLE, "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    svc = Services(repo=DynamoRepository(aws, TABLE), clock=FixedClock(T0))
    doc = retention.metrics_document(svc, date(2026, 3, 1), date(2026, 3, 2))
    assert json.loads((tmp_path / "metrics.json").read_text()) == doc
    assert (tmp_path / "report.html").read_bytes() == report.report_files(doc)[0].body


def test_a_table_that_does_not_exist_is_a_clear_error_and_writes_nothing(
    aws: Any, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    done = CliRunner().invoke(
        app, ["report", "--table", "tenure-typo", "--region", REGION, "--out", str(out)]
    )
    assert done.exit_code == 2
    assert f"no table named 'tenure-typo' in {REGION}" in done.output
    assert not out.exists()


def test_a_name_dynamodb_could_never_hold_is_a_clear_error(aws: Any, tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["report", "--table", "", "--out", str(tmp_path / "r")])
    assert done.exit_code == 2
    assert "'' is not a DynamoDB table name" in done.output
    assert not (tmp_path / "r").exists()


def test_a_table_the_metrics_function_never_ran_on_has_nothing_to_report(
    aws: Any, tmp_path: Path
) -> None:
    done = CliRunner().invoke(app, ["report", "--table", TABLE, "--out", str(tmp_path / "r")])
    assert done.exit_code == 2
    assert "the metrics function has not run" in done.output
    assert not (tmp_path / "r").exists()


def test_a_folder_and_a_table_together_are_refused(aws: Any, tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["report", str(tmp_path), "--table", TABLE])
    assert done.exit_code == 2
    assert "not both" in done.output
    assert list(tmp_path.iterdir()) == []


def test_a_region_without_a_table_is_refused(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["report", str(tmp_path), "--region", REGION])
    assert done.exit_code == 2
    assert "--table NAME" in done.output


def _without_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-aws-config"
    empty.write_text("")
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_without_a_region_it_asks_for_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _without_aws_configuration(monkeypatch, tmp_path)
    done = CliRunner().invoke(app, ["report", "--table", TABLE, "--out", str(tmp_path / "r")])
    assert done.exit_code == 2
    assert "no AWS region: pass --region or set AWS_REGION" in done.output
    assert not (tmp_path / "r").exists()


def test_without_credentials_it_says_where_they_were_looked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _without_aws_configuration(monkeypatch, tmp_path)
    done = CliRunner().invoke(
        app, ["report", "--table", TABLE, "--region", REGION, "--out", str(tmp_path / "r")]
    )
    assert done.exit_code == 2
    assert "no AWS credentials found" in done.output
    assert not (tmp_path / "r").exists()


def test_an_unreachable_dynamodb_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _without_aws_configuration(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as closed:  # a port nothing listens on once this socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    done = CliRunner().invoke(
        app, ["report", "--table", TABLE, "--region", REGION, "--out", str(tmp_path / "r")]
    )
    assert done.exit_code == 2
    assert "cannot reach DynamoDB" in done.output
    assert not (tmp_path / "r").exists()


def test_a_refusal_by_dynamodb_is_named_with_its_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = boto3.client(
        "dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_item",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform dynamodb:GetItem",
    )
    stubber.activate()
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    done = CliRunner().invoke(
        app, ["report", "--table", TABLE, "--region", REGION, "--out", str(tmp_path / "r")]
    )
    assert done.exit_code == 2
    assert f"cannot read table {TABLE!r} in {REGION}: AccessDeniedException" in done.output
    assert not (tmp_path / "r").exists()


def test_an_out_that_is_a_file_is_a_clear_error_not_a_traceback(aws: Any, tmp_path: Path) -> None:
    _run_a_small_business(aws, days=3)
    out = tmp_path / "report"
    out.write_text("not a folder")

    done = CliRunner().invoke(
        app, ["report", "--table", TABLE, "--region", REGION, "--out", str(out)]
    )

    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert done.exit_code == 2 and flat(f"cannot write {out}") in flat(done.output)
    assert out.read_text() == "not a folder"
