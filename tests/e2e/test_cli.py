"""The `tenure` command as a user runs it: exit codes, messages, files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def tenure(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tenure_local.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


BASE = """
start: 2026-01-31T09:00:00Z
until: 2026-03-01T00:00:00Z
plans:
  - {id: basic, amount: 1000, currency: USD, interval: month}
customers:
  - {id: alice, email: alice@example.com, card: "4242424242424242"}
actions:
  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, id: sub-alice}
"""


def test_an_invalid_action_exits_2_naming_the_action_and_field_and_runs_nothing(
    tmp_path: Path,
) -> None:
    bad = (
        BASE
        + "  - {at: 2026-02-10T00:00:00Z, do: change_plan, subscription: sub-alice, plan: gold}\n"
    )
    (tmp_path / "s.yaml").write_text(bad)
    done = tenure("simulate", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "actions[1].plan" in done.stderr and "gold" in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_dates_and_missing_fields_exit_2(tmp_path: Path) -> None:
    cases = {
        "actions[1].at": BASE + "  - {at: not-a-date, do: resume, subscription: sub-alice}\n",
        "actions[1].subscription": BASE + "  - {at: 2026-02-10T00:00:00Z, do: resume}\n",
        "actions[1].customer": BASE
        + "  - {at: 2026-02-10T00:00:00Z, do: update_card, customer: bob,"
        + " card: '4242424242424242'}\n",
        "plans[0].interval_count": BASE.replace(
            "interval: month}", "interval: month, interval_count: 0}"
        ),
        "customers[0].email": BASE.replace("alice@example.com", "not-an-email"),
    }
    for field, text in cases.items():
        (tmp_path / "s.yaml").write_text(text)
        done = tenure("simulate", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
        assert done.returncode == 2, field
        assert field in done.stderr, (field, done.stderr)


def test_simulate_prints_where_the_report_is_and_writes_the_files(tmp_path: Path) -> None:
    raw = yaml.safe_load(BASE)
    (tmp_path / "s.json").write_text(json.dumps(raw, default=lambda d: d.isoformat()))
    done = tenure("simulate", str(tmp_path / "s.json"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert f"report: {(tmp_path / 'out' / 'report.html').resolve()}" in done.stdout
    state = json.loads((tmp_path / "out" / "state.json").read_text())
    assert [s["status"] for s in state["subscriptions"]] == ["active"]
    assert "  MRR        $10.00 at the end, from $0.00 at the start" in done.stdout
    assert "customer-months/s" not in done.stderr  # the engine's statistics: --verbose


def test_invoke_runs_a_handler_with_an_event_file_and_prints_its_json() -> None:
    done = tenure("invoke", "api", "--event", "events/api/healthz.json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["statusCode"] == 200


def test_invoke_refuses_an_unknown_function() -> None:
    done = tenure("invoke", "nope", "--event", "events/api/healthz.json")
    assert done.returncode == 2
    assert "unknown function" in done.stderr


def test_invoke_metrics_copies_the_report_it_stored_in_the_local_bucket(tmp_path: Path) -> None:
    folder = tmp_path / "local-report"
    done = tenure(
        "invoke", "metrics", "--event", "events/metrics/one-day.json", "--report-out", str(folder)
    )
    assert done.returncode == 0, done.stderr
    # The handler's logs and metrics come first on stdout, one line each, as in Lambda.
    printed = "\n" + done.stdout
    result = json.loads(printed[printed.rindex("\n{\n") :])
    assert result["report"] is True
    assert f"report: {(folder / 'report.html').resolve()}" in done.stderr
    assert "(from s3://tenure-local-reports/reports/)" in done.stderr
    assert (folder / "report.html").read_text().lstrip().lower().startswith("<!doctype html>")
    assert sorted(p.name for p in folder.iterdir()) == [
        "metrics.json",
        "monthly.csv",
        "report.html",
    ]


def test_invoking_another_function_copies_no_report(tmp_path: Path) -> None:
    done = tenure(
        "invoke", "api", "--event", "events/api/healthz.json", "--report-out", str(tmp_path / "r")
    )
    assert done.returncode == 0, done.stderr
    assert "report:" not in done.stderr
    assert not (tmp_path / "r").exists()
