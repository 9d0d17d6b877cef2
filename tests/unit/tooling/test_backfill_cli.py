"""`tenure backfill price-members` needs a table: without a running stack it says so."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app


def test_without_a_stack_or_a_table_the_backfill_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "tenure_local.stack.local_stack.LocalStack.attach", staticmethod(lambda *a: None)
    )
    result = CliRunner().invoke(app, ["backfill", "price-members"])
    assert result.exit_code == 2
    assert "no running `tenure serve` stack" in result.output


def test_a_region_without_a_table_is_refused() -> None:
    result = CliRunner().invoke(app, ["backfill", "price-members", "--region", "eu-west-1"])
    assert result.exit_code == 2 and "--region goes with --table" in result.output
