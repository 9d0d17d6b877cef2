"""The metrics function on the in-memory fakes: what each event asks for, and what it publishes."""

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from metrics_helpers import T0, Business, day_of, three_customers_one_gone

from tenure import bootstrap
from tenure_local.runtime.functions import FakeContext, load_module

REPO_ROOT = Path(__file__).resolve().parents[3]
EVENTS = REPO_ROOT / "events" / "metrics"
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def load_metrics_app() -> ModuleType:
    return load_module("metrics")  # as `tenure invoke` loads it, with Lambda's import path


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[Business]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tenure")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    business = three_customers_one_gone()
    bootstrap.use(bootstrap.Wiring(business.svc))
    yield business
    bootstrap.use(None)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_metrics_app().lambda_handler(event, FakeContext("tenure-metrics"))
    return result


def emf_documents(output: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [d for d in docs if "Currency" in d]


def test_the_schedule_just_after_midnight_aggregates_the_day_that_ended(
    shop: Business, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.aggregate(T0.date())  # the day before was done by yesterday's run
    result = invoke({"scheduled_time": "2026-02-03T00:15:00Z"})
    assert (result["first"], result["last"], result["days"]) == ("2026-02-02", "2026-02-02", 1)
    assert shop.day(day_of(T0, 1))["churned_mrr"] == 10000
    published = emf_documents(capsys.readouterr().out)
    assert len(published) == 1
    usd = published[0]
    assert usd["Currency"] == "USD"
    values = {k: v[0] for k, v in usd.items() if isinstance(v, list) and k != "_aws"}
    assert (values["Mrr"], values["Customers"], values["ChurnedMrr"]) == (20000, 2, 10000)
    assert values["CustomersLost"] == 1
    assert values["MrrDrop"] == pytest.approx(1 / 3)
    assert ["Currency", "service"] in usd["_aws"]["CloudWatchMetrics"][0]["Dimensions"]


def test_a_range_on_demand_backfills_every_day_of_it(shop: Business) -> None:
    result = invoke({"from": "2026-02-01", "to": "2026-02-05"})
    assert (result["first"], result["last"], result["days"]) == ("2026-02-01", "2026-02-05", 5)
    assert shop.day(day_of(T0, 4))["mrr"] == 20000


def test_the_sample_events_are_understood(shop: Business) -> None:
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        assert invoke(event)["days"] >= 1, path.name


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"from": "2026-02-05"},
        {"from": "2026-02-05", "to": "2026-02-01"},
        {"date": "yesterday"},
        {"date": 20260201},
        {"scheduled_time": "soon"},
        {"from": "2026-02-01", "to": "2026-02-31"},
    ],
)
def test_an_event_that_asks_for_nothing_sensible_is_refused(
    shop: Business, event: dict[str, Any]
) -> None:
    app = load_metrics_app()
    with pytest.raises(app.InvalidMetricsRequestError):
        invoke(event)
    assert shop.repo.snapshots == {}
