"""`tenure bench`: the benchmark table, and bench.json beside it (docs/benchmarks.md)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

FULL_HELP = "measure tables of 10,000 and 100,000 subscriptions (~20 minutes)"


def bench(
    full: Annotated[bool, typer.Option("--full", help=FULL_HELP)] = False,
    folder: Annotated[Path, typer.Option("--out", help="folder for bench.json")] = Path(
        "out/bench"
    ),
) -> None:
    """Print the benchmark table (cold start, DynamoDB requests per call, simulation speed,
    renewals, webhooks, metrics, reminders); write it, with every figure, to OUT/bench.json."""
    from tenure_local.bench.suite import DEFAULT_SIZES, FULL_SIZES, run

    try:  # before minutes of measuring, not after
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        Console(stderr=True).print(
            f"cannot write bench.json in {folder}: {exc.strerror or exc}; nothing was measured",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from exc
    run(Console(), sizes=FULL_SIZES if full else DEFAULT_SIZES, out=folder)
