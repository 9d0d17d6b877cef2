"""`tenure chaos`: replay a scenario calm and under seeded faults, and compare the endings."""

import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(no_args_is_help=True, help="Chaos replay (docs/reliability.md).")
# Notice keys hold colons (`...:receipt:now:0`): no emoji codes.
err = Console(stderr=True, emoji=False)
out = Console(emoji=False)


@app.command("compare")
def compare_command(
    calm: Annotated[Path, typer.Argument(help="the calm run's `tenure simulate` folder")],
    chaos: Annotated[Path, typer.Argument(help="the chaos run's folder, same scenario")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Check that CHAOS ended where CALM did: subscriptions, invoices, metrics, emails, and
    exactly one successful charge per paid invoice. Exit 1 on any difference."""
    from tenure_local.simulator.chaos_compare import CompareInputError, compare
    from tenure_local.simulator.charges_audit import AuditInputError

    try:
        result = compare(calm, chaos)
    except (CompareInputError, AuditInputError) as exc:
        err.print(str(exc), soft_wrap=True)
        raise typer.Exit(2) from exc
    except (KeyError, TypeError, ValueError) as exc:
        err.print(f"not folders `tenure simulate` wrote: {exc!r}", soft_wrap=True)
        raise typer.Exit(2) from exc
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        _print_comparison(result.to_dict())
    if not result.ok:
        raise typer.Exit(1)


@app.command("run")
def run_command(
    scenario: Annotated[Path, typer.Argument(help="scenario file (YAML or JSON)")],
    seeds: Annotated[int, typer.Option(help="how many seeds (1..SEEDS)")] = 3,
    first_seed: Annotated[int, typer.Option(help="the first seed")] = 1,
    kinds: Annotated[str, typer.Option("--chaos", help="kinds of fault, or all")] = "all",
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the runs")] = Path("out/chaos"),
    engine: Annotated[
        str, typer.Option(help="dynamodb-local (default) or memory, as for `tenure simulate`")
    ] = "dynamodb-local",
) -> None:
    """Run SCENARIO calm, then under chaos for each seed on the same local stack, and compare
    each ending with the calm one. Writes OUT/calm, OUT/seed-N and OUT/summary.json."""
    from tenure_local.simulator import out_folder
    from tenure_local.simulator.chaos import Chaos, ChaosOptionError, parse_kinds
    from tenure_local.simulator.chaos_compare import compare
    from tenure_local.simulator.engines import ENGINES, engine_named
    from tenure_local.simulator.scenario import ScenarioError, load
    from tenure_local.simulator.simulate import Simulator
    from tenure_local.stack.local_stack import LocalStack

    try:
        chosen = parse_kinds(kinds)
        parsed = load(scenario)
    except (ChaosOptionError, ScenarioError) as exc:
        err.print(f"[red]cannot run[/red]: {exc}")
        raise typer.Exit(2) from exc
    if seeds < 1:
        err.print("--seeds must be at least 1")
        raise typer.Exit(2)
    if engine not in ENGINES:
        err.print(f"[red]cannot run[/red]: unknown engine {engine!r}; one of {', '.join(ENGINES)}")
        raise typer.Exit(2)
    try:  # every run's folder, before any run: none is lost after the calm one ran
        names = ["calm", *(f"seed-{n}" for n in range(first_seed, first_seed + seeds))]
        out_folder.check_all([out_dir / name for name in names])
    except out_folder.OutFolderError as exc:
        err.print(f"[red]cannot run[/red]: --out: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    rows: list[dict[str, Any]] = []
    # One local stack serves every run of the dynamodb-local engine; the memory engine needs none.
    with LocalStack() if engine == "dynamodb-local" else nullcontext() as stack:
        began = time.perf_counter()
        calm = engine_named(engine, stack)
        Simulator(parsed, out_dir / "calm", measure_raw_speed=False, engine=calm).run()
        err.print(f"calm run: {time.perf_counter() - began:.0f} s")
        for seed in range(first_seed, first_seed + seeds):
            began = time.perf_counter()
            chaos = Chaos(kinds=chosen, seed=seed)
            folder = out_dir / f"seed-{seed}"
            result = Simulator(
                parsed,
                folder,
                seed=seed,
                measure_raw_speed=False,
                chaos=chaos,
                engine=engine_named(engine, stack),
            ).run()
            seconds = time.perf_counter() - began
            comparison = compare(out_dir / "calm", folder).to_dict()
            (folder / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n")
            row = {
                "seed": seed,
                "seconds": round(seconds, 1),
                "ok": comparison["ok"],
                "injected": result.chaos.get("by_fault", {}),
                "webhooks": {
                    k: result.webhooks.get(k) for k in ("duplicates_sent", "late", "delivered")
                },
                "same_emails": comparison["same_emails"],
                "late": len(comparison["late"]),
                "emails_missing": len(comparison["emails_missing"]),
                "differences": sum(
                    len(comparison[k]) for k in ("state", "charges", "emails_twice", "metrics")
                ),
            }
            rows.append(row)
            mark = "[green]same ending[/green]" if row["ok"] else "[red]differs[/red]"
            faults = ", ".join(f"{n} {k}" for k, n in row["injected"].items())
            err.print(f"seed {seed}: {mark} in {seconds:.0f} s; injected {faults or 'nothing'}")
            if not row["ok"]:
                _print_comparison(comparison, indent="  ")
    summary = {"scenario": str(scenario), "kinds": sorted(chosen), "seeds": rows}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed = [r["seed"] for r in rows if not r["ok"]]
    out.print(f"{len(rows) - len(failed)} of {len(rows)} seeds ended as the calm run did")
    out.print(f"summary: {(out_dir / 'summary.json').resolve()}")
    if failed:
        raise typer.Exit(1)


def _print_comparison(result: dict[str, Any], indent: str = "") -> None:
    titles = {
        "state": "[red]state.json differs[/red]",
        "charges": "[red]charged other than once[/red]",
        "emails_twice": "[red]email sent twice[/red]",
        "metrics": "[red]metrics.json differs[/red]",
        "emails_missing": "[yellow]email sent calm, not under chaos[/yellow]",
        "emails_extra": "[yellow]email sent under chaos only[/yellow]",
    }
    for key, title in titles.items():
        for item in result.get(key, []):
            err.print(f"{indent}{title}: {escape(str(item))}", soft_wrap=True)
    if result.get("late"):
        late = len(result["late"])
        out.print(f"{indent}{late} recorded later by recovery, within the bound (see --json)")
    if result.get("ok"):
        same = "and emails" if result.get("same_emails") else "(emails: see above)"
        out.print(f"{indent}same subscriptions, invoices, metrics {same}; charged once")
