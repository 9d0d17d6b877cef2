"""The `tenure` command as a new user first meets it: its version, and how a run ends."""

from importlib.metadata import PackageNotFoundError

import pytest
from typer.testing import CliRunner

from tenure_local.cli import app


def test_version_prints_the_installed_package_version_and_nothing_else() -> None:
    from importlib.metadata import version

    done = CliRunner().invoke(app, ["--version"])

    assert done.exit_code == 0
    assert done.stdout == f"tenure {version('tenure')}\n"


def test_version_from_a_checkout_never_installed_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr("importlib.metadata.version", missing)

    done = CliRunner().invoke(app, ["--version"])

    assert done.exit_code == 1
    assert "tenure is not installed" in done.output and "make venv" in done.output


def test_the_commands_still_run_beside_the_version_option() -> None:
    done = CliRunner().invoke(app, ["report", "/nonexistent-folder"])

    assert done.exit_code == 2
    assert "holds neither metrics.json nor state.json" in done.output
