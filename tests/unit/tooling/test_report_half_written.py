"""`tenure report DIR` on a folder whose files were cut short or are not a run's: the reason
with the file (and line), exit code 2, never a traceback, and the report.html already there
left as it was rather than half rewritten."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app

GOOD = """\
start: 2026-01-31T09:00:00Z
until: 2026-03-01T00:00:00Z
plans: [{id: basic, amount: 1000, currency: USD, interval: month}]
customers: [{id: alice, email: alice@example.com, card: "4242424242424242"}]
actions: [{at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic}]
"""
EARLIER = "<html>the report of the finished run</html>"


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run's folder (memory engine), its report.html replaced by a marker."""
    root = tmp_path_factory.mktemp("run")
    (root / "s.yaml").write_text(GOOD)
    args = ["simulate", str(root / "s.yaml"), "--engine", "memory", "--out", str(root / "out")]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    (root / "out" / "report.html").write_text(EARLIER)
    return root / "out"


@pytest.fixture
def folder(finished: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def report(folder: Path) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["report", str(folder)])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, flat(done.output)


def test_the_finished_folder_makes_a_report(folder: Path) -> None:
    code, said = report(folder)

    assert code == 0, said
    assert (folder / "report.html").read_text() != EARLIER


def test_events_cut_short_are_refused_with_the_line_and_the_report_kept(folder: Path) -> None:
    events = folder / "events.jsonl"
    first, second, *_ = events.read_text().splitlines(keepends=True)
    events.write_text(first + second[:30])  # the second line cut in its middle

    code, said = report(folder)

    assert (
        code == 2
        and flat(f"{events} line 2 is not JSON") in said
        and flat("no report written") in said
    )
    assert (folder / "report.html").read_text() == EARLIER
    assert not (folder / ".report.html.part").exists()


def test_metrics_json_that_is_not_an_object_is_refused(folder: Path) -> None:
    (folder / "metrics.json").write_text("[]")

    code, said = report(folder)

    assert code == 2 and flat("metrics.json holds list; expected a JSON object") in said
    assert (folder / "report.html").read_text() == EARLIER


def test_metrics_json_of_another_shape_is_refused_and_the_report_kept(folder: Path) -> None:
    (folder / "metrics.json").write_text(json.dumps({"currency": "USD"}))

    code, said = report(folder)

    assert code == 2 and flat("is not as `tenure simulate` writes them (KeyError: 'start')") in said
    assert (folder / "report.html").read_text() == EARLIER
    assert not (folder / ".report.html.part").exists()
