"""The metrics function shelves the day's report in the stack's bucket (moto stands in for S3)."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from metrics_helpers import T0, Business, day_of, three_customers_one_gone
from moto import mock_aws
from test_metrics_function import emf_documents, invoke

from tenure import bootstrap
from tenure.report.files import ReportFile, ReportShelfError
from tenure.settings import Settings
from tenure.store.report_bucket import S3ReportShelf

BUCKET = "tenure-reports-test"
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TENURE_REPORT_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("REPORTING_CURRENCY", raising=False)
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def shop() -> Iterator[Business]:
    business = three_customers_one_gone()
    # Made inside moto (the `s3` fixture comes first): its clients never reach AWS.
    bootstrap.use(bootstrap.Wiring(business.svc))
    yield business
    bootstrap.use(None)


def _object(s3: Any, name: str) -> tuple[str, str]:
    found = s3.get_object(Bucket=BUCKET, Key=f"reports/{name}")
    return found["ContentType"], found["Body"].read().decode("utf-8")


def test_after_the_daily_run_the_bucket_holds_the_days_report_as_html(
    s3: Any, shop: Business
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    shop.aggregate(T0.date())
    result = invoke({"scheduled_time": "2026-02-03T00:15:00Z"})
    assert result["report"] is True
    content_type, html = _object(s3, "report.html")
    assert content_type == "text/html; charset=utf-8"
    assert html.lstrip().lower().startswith("<!doctype html>")
    # The day that ended: two customers left at $100 a month, down from three.
    assert "MRR is $200 on Feb 2, 2026, with 2 paying customers" in html
    assert "Feb 1, 2026 – Feb 2, 2026" in html


def test_the_bucket_also_holds_the_metrics_document_and_the_monthly_table(
    s3: Any, shop: Business
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    invoke({"from": "2026-02-01", "to": "2026-02-02"})
    json_type, text = _object(s3, "metrics.json")
    doc = json.loads(text)
    assert json_type == "application/json; charset=utf-8"
    assert (doc["start"], doc["until"], doc["currency"]) == ("2026-02-01", "2026-02-02", "USD")
    assert doc["daily"][-1]["mrr"] == shop.day(day_of(T0, 1))["mrr"] == 20000
    csv_type, table = _object(s3, "monthly.csv")
    assert csv_type == "text/csv; charset=utf-8"
    header, february = table.splitlines()
    assert header.startswith("month,mrr_start,mrr_end")
    assert february.startswith("2026-02,")


def test_the_report_covers_the_last_day_aggregated_not_only_the_range_just_run(
    s3: Any, shop: Business
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    shop.aggregate(T0.date(), day_of(T0, 4))
    invoke({"date": "2026-02-02"})  # an operator re-runs one past day
    doc = json.loads(_object(s3, "metrics.json")[1])
    assert (doc["start"], doc["until"]) == ("2026-02-01", "2026-02-05")


def test_a_bucket_that_refuses_the_report_does_not_fail_the_aggregation(
    s3: Any,
    shop: Business,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No bucket was created: S3 answers NoSuchBucket.
    shop.aggregate(T0.date())
    result = invoke({"scheduled_time": "2026-02-03T00:15:00Z"})
    assert result["report"] is False
    assert (result["first"], result["last"]) == ("2026-02-02", "2026-02-02")
    assert shop.day(day_of(T0, 1))["mrr"] == 20000
    [logged] = [r for r in caplog.records if r.getMessage() == "report not stored"]
    assert logged.levelname == "ERROR" and "NoSuchBucket" in logged.__dict__["reason"]
    output = capsys.readouterr().out
    counted = [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith('{"_aws"') and "ReportWriteFailed" in line
    ]
    assert [doc["ReportWriteFailed"] for doc in counted] == [[1.0]]
    # The headline figures were published before the report was tried.
    assert emf_documents(output)


def test_without_a_bucket_configured_no_report_is_written(
    s3: Any, shop: Business, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENURE_REPORT_BUCKET")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these
    s3.create_bucket(Bucket=BUCKET)
    result = invoke({"date": "2026-02-01"})
    assert result["report"] is None
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_an_unreachable_bucket_is_a_report_shelf_error_naming_the_key() -> None:
    class Unreachable:
        def put_object(self, **request: Any) -> None:
            raise EndpointConnectionError(endpoint_url="https://s3.example")

    shelf = S3ReportShelf(Unreachable(), BUCKET)
    with pytest.raises(ReportShelfError, match=r"reports/report\.html: EndpointConnectionError"):
        shelf.put(ReportFile("report.html", b"<!doctype html>", "text/html; charset=utf-8"))
