"""Copying the report the metrics function shelved in a bucket to a folder (moto stands in
for the local stack's S3): every file or, when the bucket cannot give a report, none."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.report.files import ReportFile
from tenure.services.context import Services
from tenure.settings import Settings
from tenure.store.report_bucket import S3ReportShelf
from tenure_local.cli.main import app
from tenure_local.cli.report import ShelvedReportError, fetch_shelved_report
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import LocalStack

BUCKET = "tenure-local-reports"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def shelve(s3: Any, *names: str) -> None:
    shelf = S3ReportShelf(s3, BUCKET)
    for name in names:
        shelf.put(ReportFile(name, f"<{name}>".encode(), "text/plain"))


def test_every_file_under_the_report_prefix_is_copied_to_the_folder(
    s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    shelve(s3, "report.html", "metrics.json", "monthly.csv")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/notes.txt", Body=b"not the report's")

    path = fetch_shelved_report(s3, BUCKET, tmp_path / "report")

    assert path == tmp_path / "report" / "report.html"
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "metrics.json",
        "monthly.csv",
        "report.html",
    ]
    assert path.read_text() == "<report.html>"


def test_a_missing_bucket_is_said_by_name_and_nothing_is_written(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(ShelvedReportError) as refused:
        fetch_shelved_report(s3, BUCKET, tmp_path / "report")

    assert str(refused.value) == f"cannot read the report bucket {BUCKET!r}: NoSuchBucket"
    assert not (tmp_path / "report").exists()


def test_a_bucket_without_the_page_is_refused_and_nothing_is_written(
    s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    shelve(s3, "metrics.json")

    with pytest.raises(ShelvedReportError) as refused:
        fetch_shelved_report(s3, BUCKET, tmp_path / "report")

    assert "holds no reports/report.html" in str(refused.value)
    assert not (tmp_path / "report").exists()


def test_a_key_below_a_further_folder_is_not_written_outside_the_folder(
    s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    shelve(s3, "report.html", "../escaped.html", "nested/inner.html")

    fetch_shelved_report(s3, BUCKET, tmp_path / "report")

    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["report.html"]
    assert not (tmp_path / "escaped.html").exists()


def test_invoke_metrics_prints_the_result_then_says_why_the_copy_failed_and_exits_1(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stack that answers, and a metrics run that says it stored the report in a bucket
    # that is not there (S3 is moto's, with no bucket made).
    monkeypatch.setattr(LocalStack, "attach", staticmethod(lambda path=None: {}))
    monkeypatch.setattr(functions, "invoke", lambda name, event: {"report": True})
    services = Services(InMemoryRepository(), FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    bootstrap.use(bootstrap.Wiring(services, Settings(report_bucket=BUCKET)))
    event = tmp_path / "event.json"
    event.write_text('{"date": "2026-03-01"}')
    try:
        done = CliRunner().invoke(
            app,
            ["invoke", "metrics", "--event", str(event), "--report-out", str(tmp_path / "r")],
        )
    finally:
        bootstrap.use(None)

    assert done.exit_code == 1
    assert '"report": true' in done.stdout
    assert f"cannot read the report bucket {BUCKET!r}: NoSuchBucket" in done.output
    assert not (tmp_path / "r").exists()


def test_a_folder_that_cannot_be_written_is_a_shelved_report_error(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=BUCKET)
    shelve(s3, "report.html")
    (tmp_path / "taken").write_text("a file")

    with pytest.raises(ShelvedReportError, match=r"cannot write .*taken/report: Not a directory"):
        fetch_shelved_report(s3, BUCKET, tmp_path / "taken" / "report")

    assert (tmp_path / "taken").read_text() == "a file"
