"""The metrics function: aggregates days into snapshots and publishes the headline figures.

Scheduled daily just after midnight UTC ({"scheduled_time": ...}: yesterday, plus any day a
missed run left behind), or on demand for a range ({"from": "2026-02-01", "to": "2026-02-28"})
or one day ({"date": "2026-02-01"}). Re-running a day writes the same snapshot.

Then, when the stack names a report bucket (TENURE_REPORT_BUCKET), it shelves the report through
the last day aggregated there: report.html, metrics.json and monthly.csv (docs/operations.md).
"""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure import bootstrap
from tenure.report.files import ReportShelfError
from tenure.services import retention

logger = Logger()
emf = Metrics()
COUNTS = {"Customers", "CustomersNew", "CustomersLost", "VoluntaryChurned", "InvoluntaryChurned"}


class InvalidMetricsRequestError(ValueError):
    """The event asks for nothing the metrics function can do."""


@dataclass(frozen=True, slots=True)
class MetricsRequest:
    """What to aggregate: a schedule's moment, one day, or a range of days (inclusive)."""

    scheduled_time: datetime | None = None
    day: date | None = None
    first: date | None = None
    last: date | None = None


def parse(event: Any) -> MetricsRequest:
    """The request an event makes. Stdlib only: pydantic's import would double this
    function's cold start for four fields. Days and moments are ISO 8601; a plain
    EventBridge event's `time` stands for `scheduled_time`."""
    if not isinstance(event, dict):
        raise InvalidMetricsRequestError("the event must be a JSON object")
    moment = event.get("scheduled_time", event.get("time"))
    request = MetricsRequest(
        scheduled_time=_read(moment, datetime.fromisoformat, "scheduled_time"),
        day=_read(event.get("date", event.get("day")), date.fromisoformat, "date"),
        first=_read(event.get("from", event.get("first")), date.fromisoformat, "from"),
        last=_read(event.get("to", event.get("last")), date.fromisoformat, "to"),
    )
    if (request.first is None) != (request.last is None):
        raise InvalidMetricsRequestError("a range needs both `from` and `to`")
    if request.first and request.last and request.last < request.first:
        raise InvalidMetricsRequestError("`to` is before `from`")
    if not (request.scheduled_time or request.day or request.first):
        raise InvalidMetricsRequestError("give `scheduled_time`, `date`, or `from` and `to`")
    return request


def _read[T](value: Any, parse_iso: Callable[[str], T], name: str) -> T | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except (TypeError, ValueError) as exc:
        raise InvalidMetricsRequestError(f"`{name}` is not an ISO 8601 value: {value!r}") from exc


@logger.inject_lambda_context
@emf.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event)
    wired = bootstrap.wiring()
    svc = wired.services
    if request.first and request.last:
        days = retention.backfill(svc, request.first, request.last)
    elif request.day:
        days = retention.backfill(svc, request.day, request.day)
    else:
        assert request.scheduled_time is not None
        # Just after midnight: the day that ended is yesterday.
        days = retention.catch_up(svc, request.scheduled_time.date() - timedelta(days=1))
    last = days[-1].day
    _publish(retention.headline(svc, last))
    emf.add_metric(name="MetricsDaysAggregated", unit=MetricUnit.Count, value=len(days))
    logger.info(
        "metrics aggregated",
        extra={
            "first": days[0].day.isoformat(),
            "last": last.isoformat(),
            "days": len(days),
            "ledger_entries": sum(d.ledger_entries for d in days),
            "inconsistent_entries": sum(d.inconsistent for d in days),
        },
    )
    shelved = _shelve_report(wired)
    return {
        "report": shelved,
        "first": days[0].day.isoformat(),
        "last": last.isoformat(),
        "days": len(days),
        "ledger_entries": sum(d.ledger_entries for d in days),
        "currencies": sorted(days[-1].snapshot.get("currencies", {})),
    }


def _publish(figures: dict[str, dict[str, float]]) -> None:
    """One EMF document per currency, with the currency as a dimension."""
    for currency, row in figures.items():
        currency_emf = EphemeralMetrics()
        currency_emf.add_dimension(name="Currency", value=currency)
        for name, value in row.items():
            unit = MetricUnit.Count if name in COUNTS else MetricUnit.NoUnit
            currency_emf.add_metric(name=name, unit=unit, value=value)
        currency_emf.flush_metrics()


def _shelve_report(wired: bootstrap.Wiring) -> bool | None:
    """Put the report in the bucket: True when stored, None when the stack has no bucket.

    The snapshots are saved by now and re-running would only repeat them, so a bucket that
    refuses the report does not fail the run (nor trigger its retries): it is logged and
    counted (ReportWriteFailed) for the alarm, and tomorrow's run writes a fresh report."""
    settings = wired.settings
    shelf = wired.report_shelf()
    if shelf is None:
        return None
    # Imported here: runs without a bucket (the simulator) never render the page.
    from tenure.services import report

    try:
        files = report.publish_report(wired.services, shelf, settings.reporting_currency)
    except ReportShelfError as exc:
        emf.add_metric(name="ReportWriteFailed", unit=MetricUnit.Count, value=1)
        logger.error("report not stored", extra={"reason": str(exc)})
        return False
    logger.info(
        "report stored",
        extra={"bucket": settings.report_bucket, "keys": [shelf.key(f.name) for f in files]},
    )
    return True


cold_start.done()
