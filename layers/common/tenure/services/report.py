"""The retention report of a deployed table: which days it covers, its files, where they go.

The metrics function shelves these files in the stack's report bucket after each daily run;
`tenure report --table` writes the same files to a folder with the user's credentials. Both
read a bounded window of daily snapshots by key, never the whole table.
"""

import json
from datetime import date, timedelta
from typing import Any

from tenure.domain import mrr
from tenure.report.csv_export import export_csv
from tenure.report.files import ReportFile, ReportShelf
from tenure.report.page import render_report
from tenure.services.context import Services
from tenure.services.retention import CURSOR, document_from_snapshots, snapshots_between

# A year and the month so far: the report's monthly tables and cohorts reach back 13 months,
# and its reads stay at five BatchGetItem pages whatever the table's age.
REPORT_DAYS = 400
TITLE = "Tenure report"


class NothingToReportError(LookupError):
    """The table holds no daily snapshot yet: the metrics function has not run on it."""


def latest_day(svc: Services) -> date:
    """The last day the metrics function aggregated."""
    cursor = svc.repo.get_snapshot(CURSOR)
    if not cursor or not cursor.get("day"):
        raise NothingToReportError(
            "no day has been aggregated yet: the metrics function has not run"
        )
    return date.fromisoformat(cursor["day"])


def deployed_document(
    svc: Services, through: date | None = None, currency: str | None = None
) -> dict[str, Any]:
    """The metrics document (docs/metrics.md) of the last REPORT_DAYS days through `through`
    (default: the last day aggregated), starting at the first day that has a snapshot so a
    young deployment's report does not open on months of nothing."""
    last = through or latest_day(svc)
    snapshots = snapshots_between(svc, last - timedelta(days=REPORT_DAYS - 1), last)
    if not snapshots:
        raise NothingToReportError(f"no daily snapshot up to {mrr.day_key(last)}")
    # The window's opening day (the day before its first) only gives opening levels.
    first = max(date.fromisoformat(min(snapshots)), last - timedelta(days=REPORT_DAYS - 1))
    return document_from_snapshots(first, last, snapshots, currency or None)


def report_files(doc: dict[str, Any], title: str = TITLE) -> list[ReportFile]:
    """The page, the document it was drawn from, and its monthly table for a spreadsheet."""
    html = render_report(title, doc, None)
    return [
        ReportFile("report.html", html.encode(), "text/html; charset=utf-8"),
        ReportFile(
            "metrics.json",
            (json.dumps(doc, indent=2) + "\n").encode(),
            "application/json; charset=utf-8",
        ),
        ReportFile("monthly.csv", export_csv(doc, "monthly").encode(), "text/csv; charset=utf-8"),
    ]


def publish_report(
    svc: Services, shelf: ReportShelf, currency: str | None = None, title: str = TITLE
) -> list[ReportFile]:
    """Render the report through the last day aggregated and put each of its files on the shelf."""
    files = report_files(deployed_document(svc, currency=currency), title)
    for file in files:
        shelf.put(file)
    return files
