"""`tenure bench --out`: a folder it cannot write is said before minutes of measuring, exit
code 2, never a traceback after them."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


def test_an_out_that_is_a_file_is_refused_before_anything_is_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def measured(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bench ran for a folder it cannot write")

    monkeypatch.setattr("tenure_local.bench.suite.run", measured)
    target = tmp_path / "bench"
    target.write_text("not a folder")

    done = CliRunner().invoke(app, ["bench", "--out", str(target)])

    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    said = flat(done.output)
    assert done.exit_code == 2 and flat(f"cannot write bench.json in {target}") in said
    assert target.read_text() == "not a folder"
