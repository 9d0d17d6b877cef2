"""`tenure report --table` on the local stack's table after a simulation: the same figures the
simulation reported, read back from DynamoDB Local by key."""

import json
from pathlib import Path

import pytest
from test_metrics_report import SCENARIO
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack


@pytest.fixture(scope="module")
def simulated(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("table-report") / "sim"
    Simulator(parse(SCENARIO), out, measure_raw_speed=False, stack=local_stack).run()
    return out


def test_the_report_of_the_simulated_table_has_the_simulations_figures(
    local_stack: LocalStack, simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulation reports in its first plan's currency; name it, as an operator would.
    monkeypatch.setenv("REPORTING_CURRENCY", "USD")
    out = tmp_path / "report"
    done = CliRunner().invoke(app, ["report", "--table", local_stack.table_name, "--out", str(out)])
    assert done.exit_code == 0, done.output
    from_table = json.loads((out / "metrics.json").read_text())
    assert from_table == json.loads((simulated / "metrics.json").read_text())
    assert "MRR is $187 on May 1, 2026" in (out / "report.html").read_text()
    assert (out / "monthly.csv").read_text().startswith("month,mrr_start,mrr_end")


def test_a_table_the_local_stack_does_not_hold_is_refused(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    done = CliRunner().invoke(
        app, ["report", "--table", "no-such-table", "--out", str(tmp_path / "r")]
    )
    assert done.exit_code == 2
    assert "no table named 'no-such-table'" in done.output
    assert not (tmp_path / "r").exists()
