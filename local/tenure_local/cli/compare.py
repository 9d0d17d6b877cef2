"""`tenure simulate SCENARIO --compare OTHER`: the same business under two policies."""

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True, emoji=False)


def run_comparison(
    scenario: Path, other: Path, out_dir: Path, seed: int, chaos: bool = False
) -> None:
    """Replay SCENARIO and its what-if OTHER on the memory engine into OUT/a and OUT/b, then
    write OUT/compare.json and OUT/compare.html and print the table. Exit 2, with nothing
    written, when either file cannot run."""
    from tenure_local.simulator import out_folder
    from tenure_local.simulator.engines import MemoryEngine
    from tenure_local.simulator.simulate import Simulator
    from tenure_local.simulator.whatif import (
        PairError,
        comparison,
        figures,
        load_pair,
        plain_table,
        write,
    )

    if chaos:
        # Faults would make the two runs differ for reasons the policies did not cause.
        err.print("[red]--compare[/red] replays both runs calm; drop --chaos/--webhook-chaos")
        raise typer.Exit(2)
    try:
        pair = load_pair(scenario, other)
    except PairError as exc:
        count = len(exc.problems)
        err.print(
            f"[red]cannot compare[/red] {escape(str(scenario))} with {escape(str(other))}: "
            f"{count} problem{'s' if count != 1 else ''}, nothing was run",
            soft_wrap=True,
        )
        for file, problem in zip(exc.files, exc.problems, strict=True):
            err.print(f"  {file}: {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    try:  # both runs' folders, before either runs
        out_folder.check_all([out_dir / "a", out_dir / "b"])
    except out_folder.OutFolderError as exc:
        err.print(f"[red]cannot compare[/red]: --out: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    refused: dict[str, list[dict[str, object]]] = {}
    for name, parsed in {"a": pair.a, "b": pair.b}.items():
        err.print(f"simulating {name} on the memory engine", highlight=False)
        refused[name] = (
            Simulator(
                parsed, out_dir / name, seed=seed, measure_raw_speed=False, engine=MemoryEngine()
            )
            .run()
            .rejected
        )
        # A policy can make an action impossible (pausing a subscription dunning canceled):
        # the figures then differ for that reason too, so say so.
        for item in refused[name]:
            err.print(
                f"  {name}: refused by the API at {item['at']} {item['where']}: "
                f"{item['status']} {item['response']}",
                markup=False,
                soft_wrap=True,
            )
    what_if = f"{other} ({'programs file' if pair.other == 'programs' else 'scenario'})"
    doc = comparison(figures(out_dir / "a"), figures(out_dir / "b"), (str(scenario), what_if))
    for name, items in refused.items():
        doc[name]["refused_actions"] = len(items)
    write(out_dir, doc)
    sys.stdout.write(plain_table(doc) + "\n")
    sys.stdout.write(f"compare: {(out_dir / 'compare.html').resolve()}\n")
