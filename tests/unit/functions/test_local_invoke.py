"""`tenure_local.runtime.functions.invoke`: what one local invocation leaves behind."""

import json
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tenure_local.runtime import functions


def _handler_adding(name: str) -> Any:
    metrics = Metrics(namespace="Tenure")

    @metrics.log_metrics
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        return {"ok": True}

    return handle


def test_metrics_kept_while_disabled_do_not_reach_a_later_flush(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(functions, "handler", lambda name: _handler_adding("FromQuietRun"))
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(3):
        assert functions.invoke("api", {}) == {"ok": True}
    assert capsys.readouterr().out == ""

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(functions, "handler", lambda name: _handler_adding("Later"))
    functions.invoke("api", {})
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 1
    assert printed[0]["Later"] in (1.0, [1.0])
    assert "FromQuietRun" not in printed[0]


def test_metrics_are_dropped_when_the_handler_raises(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = Metrics(namespace="Tenure")

    def failing(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="BeforeFailure", unit=MetricUnit.Count, value=1)
        raise RuntimeError("boom")

    monkeypatch.setattr(functions, "handler", lambda name: failing)
    with pytest.raises(RuntimeError, match="boom"):
        functions.invoke("api", {})
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    later = Metrics(namespace="Tenure")
    later.add_metric(name="Later", unit=MetricUnit.Count, value=1)
    later.flush_metrics()
    printed = json.loads(capsys.readouterr().out)
    assert "BeforeFailure" not in printed


def test_dimensions_and_metadata_an_invocation_set_are_dropped_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two instances, as two handlers have: whatever either left, the next invocation's
    # flush does not carry it.
    first, second = Metrics(namespace="Tenure"), Metrics(namespace="Tenure")

    def leaving_context(event: dict[str, Any], context: Any) -> dict[str, Any]:
        first.add_dimension(name="Plan", value="gold")
        second.add_metadata(key="invoice", value="inv_1")
        second.add_metric(name="Left", unit=MetricUnit.Count, value=1)
        return {}

    monkeypatch.setattr(functions, "handler", lambda name: leaving_context)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    functions.invoke("api", {})
    functions.invoke("webhooks", {})

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(functions, "handler", lambda name: _handler_adding("Later"))
    functions.invoke("api", {})
    (printed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed["Later"] in (1.0, [1.0])
    assert "Left" not in printed and "Plan" not in printed and "invoice" not in printed
