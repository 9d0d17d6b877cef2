"""`tenure simulate --out`: a folder it cannot write, or must not empty, is refused before
anything runs, with the reason and exit code 2, never a traceback nor a deleted file."""

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


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


def simulate(scenario: Path, out: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["simulate", str(scenario), "--engine", "memory", "--out", out])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, flat(done.output)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    return path


def test_a_folder_holding_scenarios_is_refused_and_left_as_it_was(
    tmp_path: Path, scenario: Path
) -> None:
    (tmp_path / "thesis.txt").write_text("months of work")

    code, said = simulate(scenario, str(tmp_path))

    assert code == 2
    assert flat("holds files a run does not write (s.yaml, thesis.txt)") in said
    assert flat("nothing was run") in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "thesis.txt"]


def test_a_folder_holding_a_repository_is_refused(tmp_path: Path, scenario: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)

    code, said = simulate(scenario, str(project))

    assert code == 2 and flat("holds files a run does not write (.git)") in said
    assert (project / ".git").is_dir()


def test_a_folder_holding_the_current_one_is_refused(
    tmp_path: Path, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = tmp_path / "work" / "inner"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)

    code, said = simulate(scenario, str(tmp_path / "work"))

    assert code == 2 and flat("holds files a run does not write (inner)") in said
    assert inner.is_dir()


def test_an_output_folder_with_a_stale_file_is_replaced_as_documented(
    tmp_path: Path, scenario: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")

    code, said = simulate(scenario, str(out))

    assert code == 0, said
    assert not (out / "stale.txt").exists() and (out / "state.json").is_file()


def test_the_current_folder_holding_the_scenario_is_refused(
    tmp_path: Path, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    code, said = simulate(Path("s.yaml"), ".")

    assert code == 2 and flat("holds files a run does not write (s.yaml)") in said
    assert scenario.read_text() == GOOD


def test_an_empty_current_folder_takes_the_run_and_an_earlier_run_is_replaced(
    tmp_path: Path, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)

    first, said = simulate(scenario, ".")
    assert first == 0, said
    (here / "outbox" / "stale.eml").write_text("from a run long ago")
    again, said = simulate(scenario, ".")

    assert again == 0, said
    assert (here / "state.json").is_file() and not (here / "outbox" / "stale.eml").exists()


def test_a_file_is_refused_as_the_folder(tmp_path: Path, scenario: Path) -> None:
    target = tmp_path / "results"
    target.write_text("not a folder")

    code, said = simulate(scenario, str(target))

    assert code == 2 and flat(f"{target} is a file; expected a folder") in said
    assert target.read_text() == "not a folder"


def test_a_folder_that_cannot_be_created_is_refused_with_the_reason(
    tmp_path: Path, scenario: Path
) -> None:
    (tmp_path / "results").write_text("not a folder")

    code, said = simulate(scenario, str(tmp_path / "results" / "run"))

    assert code == 2 and flat("cannot create") in said and flat("Not a directory") in said


def test_chaos_run_checks_every_runs_folder_before_the_calm_run(
    tmp_path: Path, scenario: Path
) -> None:
    out = tmp_path / "chaos"
    (out / "seed-2").mkdir(parents=True)
    (out / "seed-2" / "notes.yaml").write_text("mine")
    args = ["chaos", "run", str(scenario), "--engine", "memory", "--seeds", "2", "--out", str(out)]

    done = CliRunner().invoke(app, args)

    said = flat(done.output)
    assert (
        done.exit_code == 2 and flat("seed-2 holds files a run does not write (notes.yaml)") in said
    )
    assert sorted(p.name for p in out.iterdir()) == ["seed-2"]  # no calm run, nothing made


def test_compare_checks_both_runs_folders_before_either_runs(
    tmp_path: Path, scenario: Path
) -> None:
    out = tmp_path / "what-if"
    out.write_text("a file")
    args = ["simulate", str(scenario), "--compare", str(scenario), "--out", str(out)]

    done = CliRunner().invoke(app, args)

    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    said = flat(done.output)
    assert done.exit_code == 2 and flat("cannot create") in said and flat("Not a directory") in said
    assert out.read_text() == "a file"
