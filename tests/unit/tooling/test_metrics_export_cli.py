"""`tenure metrics export`: JSON picks a currency and a table exactly as CSV does (the
reporting currency named explicitly included), and a currency, table or output file it
cannot use is an error with exit code 2, never `null` nor a traceback."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app

MONTH = {"month": "2026-02", "mrr_start": 0, "mrr_end": 1500}


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    doc = {
        "currency": "JPY",
        "monthly": [MONTH],
        "other_currencies": {"EUR": {"monthly": [MONTH | {"mrr_end": 999}]}},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(doc))
    return tmp_path


def export(folder: Path, *options: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, ["metrics", "export", str(folder), *options])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, done.stdout, flat(done.stderr)


@pytest.mark.parametrize("currency", ["JPY", "jpy"])
def test_json_in_the_reporting_currency_named_explicitly_is_its_table(
    folder: Path, currency: str
) -> None:
    code, out, _ = export(folder, "--format", "json", "--currency", currency)

    assert code == 0 and json.loads(out) == [MONTH]


def test_json_in_another_currency_is_that_currencys_table(folder: Path) -> None:
    code, out, _ = export(folder, "--format", "json", "--currency", "eur")

    assert code == 0 and json.loads(out)[0]["mrr_end"] == 999


@pytest.mark.parametrize("format_", ["json", "csv"])
def test_a_currency_without_figures_is_refused_in_either_format(folder: Path, format_: str) -> None:
    code, out, said = export(folder, "--format", format_, "--currency", "KWD")

    assert (code, out) == (2, "") and flat("no figures in KWD") in said


@pytest.mark.parametrize("format_", ["json", "csv"])
def test_an_unknown_table_is_refused_in_either_format(folder: Path, format_: str) -> None:
    code, out, said = export(folder, "--format", format_, "--table", "weekly")

    assert (code, out) == (2, "") and flat("unknown table 'weekly'") in said


def test_an_output_path_that_is_a_folder_is_refused_with_the_reason(folder: Path) -> None:
    code, _, said = export(folder, "--out", str(folder))

    assert code == 2 and flat(f"cannot write {folder}") in said and flat("Is a directory") in said


def test_an_output_path_in_a_missing_folder_is_refused_with_the_reason(folder: Path) -> None:
    target = folder / "no" / "such" / "monthly.csv"

    code, _, said = export(folder, "--out", str(target))

    assert code == 2 and flat("No such file or directory") in said and not target.exists()


def test_an_output_file_is_written_and_named(folder: Path) -> None:
    target = folder / "monthly.csv"

    code, _, said = export(folder, "--out", str(target))

    assert code == 0 and flat(f"wrote {target}") in said
    assert target.read_text().startswith("month,mrr_start,mrr_end")
