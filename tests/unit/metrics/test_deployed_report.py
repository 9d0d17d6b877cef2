"""The report of a deployed table: which days it covers and what it reads to find them."""

from datetime import date, timedelta
from typing import Any

import pytest
from metrics_helpers import T0, Business, day_of

from tenure.report.files import ReportFile
from tenure.services import report


class CountingShelf:
    def __init__(self) -> None:
        self.files: dict[str, ReportFile] = {}

    def put(self, file: ReportFile) -> None:
        self.files[file.name] = file


def _three_customers_one_leaves(business: Business) -> None:
    for n in range(3):
        business.customer(f"c{n}")
        business.subscribe(f"c{n}", "monthly-100", f"s{n}")
    business.at(T0 + timedelta(days=1)).cancel("s2")


def test_the_report_runs_from_the_first_day_aggregated_to_the_last(business: Business) -> None:
    _three_customers_one_leaves(business)
    business.aggregate(T0.date(), day_of(T0, 9))
    doc = report.deployed_document(business.svc)
    assert (doc["start"], doc["until"]) == ("2026-02-01", "2026-02-10")
    assert doc == business.document(T0.date(), day_of(T0, 9))


def test_the_report_of_a_named_day_ends_on_that_day(business: Business) -> None:
    _three_customers_one_leaves(business)
    business.aggregate(T0.date(), day_of(T0, 9))
    doc = report.deployed_document(business.svc, through=day_of(T0, 1))
    assert (doc["start"], doc["until"]) == ("2026-02-01", "2026-02-02")
    assert doc["daily"][-1]["mrr"] == 20000


def test_an_old_table_is_reported_over_a_bounded_window_of_days(
    business: Business, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_customers_one_leaves(business)
    business.aggregate(T0.date(), day_of(T0, 29))
    asked: list[list[str]] = []
    real = business.repo.get_snapshots

    def counted(days: list[str]) -> dict[str, dict[str, Any]]:
        asked.append(days)
        return real(days)

    monkeypatch.setattr(business.repo, "get_snapshots", counted)
    monkeypatch.setattr(report, "REPORT_DAYS", 7)
    doc = report.deployed_document(business.svc)
    assert (doc["start"], doc["until"]) == ("2026-02-24", "2026-03-02")
    # Seven days and the day before them (the opening levels), by key: never a scan.
    assert [len(days) for days in asked] == [8]


def test_a_table_never_aggregated_has_nothing_to_report(business: Business) -> None:
    _three_customers_one_leaves(business)
    with pytest.raises(report.NothingToReportError, match="has not run"):
        report.deployed_document(business.svc)


def test_a_day_before_any_snapshot_has_nothing_to_report(business: Business) -> None:
    business.aggregate(T0.date())
    with pytest.raises(report.NothingToReportError, match="2026-01-01"):
        report.deployed_document(business.svc, through=date(2026, 1, 1))


def test_publishing_puts_the_page_the_document_and_the_monthly_table_on_the_shelf(
    business: Business,
) -> None:
    _three_customers_one_leaves(business)
    business.aggregate(T0.date(), day_of(T0, 1))
    shelf = CountingShelf()
    files = report.publish_report(business.svc, shelf)
    assert sorted(shelf.files) == ["metrics.json", "monthly.csv", "report.html"]
    assert [f.name for f in files] == ["report.html", "metrics.json", "monthly.csv"]
    assert b"MRR is $200 on Feb 2, 2026" in shelf.files["report.html"].body


def test_the_reporting_currency_can_be_named(business: Business) -> None:
    _three_customers_one_leaves(business)
    business.customer("e0")
    business.subscribe("e0", "monthly-eur", "e0")
    business.aggregate(T0.date(), day_of(T0, 1))
    assert report.deployed_document(business.svc)["currency"] == "EUR"  # the first found
    doc = report.deployed_document(business.svc, currency="USD")
    assert doc["currency"] == "USD" and list(doc["other_currencies"]) == ["EUR"]
