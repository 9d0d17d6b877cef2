"""The metrics function: aggregates days into snapshots and publishes the headline figures.

Scheduled daily just after midnight UTC ({"scheduled_time": ...}: yesterday, plus any day a
missed run left behind), or on demand for a range ({"from": "2026-02-01", "to": "2026-02-28"})
or one day ({"date": "2026-02-01"}). Re-running a day writes the same snapshot.
"""

from datetime import date, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenure import bootstrap
from tenure.services import metrics as retention

logger = Logger()
metrics = Metrics()
COUNTS = {"Customers", "CustomersNew", "CustomersLost", "VoluntaryChurned", "InvoluntaryChurned"}


class MetricsRequest(BaseModel):
    """What to aggregate: a schedule's moment, one day, or a range of days (inclusive)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    scheduled_time: datetime | None = None
    day: date | None = Field(default=None, alias="date")
    first: date | None = Field(default=None, alias="from")
    last: date | None = Field(default=None, alias="to")

    @model_validator(mode="before")
    @classmethod
    def _plain_eventbridge_event(cls, data: Any) -> Any:
        if isinstance(data, dict) and "time" in data and "scheduled_time" not in data:
            data = {**data, "scheduled_time": data["time"]}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> "MetricsRequest":
        if (self.first is None) != (self.last is None):
            raise ValueError("a range needs both `from` and `to`")
        if self.first and self.last and self.last < self.first:
            raise ValueError("`to` is before `from`")
        if not (self.scheduled_time or self.day or self.first):
            raise ValueError("give `scheduled_time`, `date`, or `from` and `to`")
        return self


class InvalidMetricsRequestError(ValueError):
    """The event asks for nothing the metrics function can do."""


def parse(event: dict[str, Any]) -> MetricsRequest:
    try:
        return MetricsRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidMetricsRequestError(str(exc)) from exc


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event)
    svc = bootstrap.services()
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
    metrics.add_metric(name="MetricsDaysAggregated", unit=MetricUnit.Count, value=len(days))
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
    return {
        "first": days[0].day.isoformat(),
        "last": last.isoformat(),
        "days": len(days),
        "ledger_entries": sum(d.ledger_entries for d in days),
        "currencies": sorted(days[-1].snapshot.get("currencies", {})),
    }


def _publish(figures: dict[str, dict[str, float]]) -> None:
    """One EMF document per currency, with the currency as a dimension."""
    for currency, row in figures.items():
        emf = EphemeralMetrics()
        emf.add_dimension(name="Currency", value=currency)
        for name, value in row.items():
            unit = MetricUnit.Count if name in COUNTS else MetricUnit.NoUnit
            emf.add_metric(name=name, unit=unit, value=value)
        emf.flush_metrics()
