"""Runs one scenario on both engines and lists every output file that is not byte for byte
the same: what proves the memory engine's adapters faithful to DynamoDB Local and moto.

    python -m tenure_local.simulator.engine_diff SCENARIO [--out DIR]

writes DIR/dynamodb-local and DIR/memory (default out/engines), prints the differences and
exits 1 when there are any. The integration test `test_engines_agree` does the same for the
small example scenarios in CI; larger ones are for this command.
"""

import argparse
import sys
import time
from pathlib import Path

from tenure_local.simulator.engines import ENGINES, Engine, engine_named
from tenure_local.simulator.scenario import Scenario, ScenarioError, load
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

COMPARED = ("state.json", "metrics.json", "events.jsonl")  # plus every file of outbox/


def differing_files(first: Path, second: Path) -> list[str]:
    """The compared outputs (and outbox emails) that differ, or that only one folder has."""
    names = [*COMPARED, *sorted(_outbox(first) | _outbox(second))]
    found = []
    for name in names:
        a, b = first / name, second / name
        if not a.exists() or not b.exists():
            found.append(f"{name} (only in {first if a.exists() else second})")
        elif a.read_bytes() != b.read_bytes():
            found.append(name)
    return found


def _outbox(folder: Path) -> set[str]:
    return {f"outbox/{p.name}" for p in (folder / "outbox").glob("*.eml")}


def run_on_both(scenario: Scenario, out: Path, stack: LocalStack | None = None) -> dict[str, float]:
    """Runs `scenario` on each engine into out/<engine>; returns each run's seconds."""
    seconds = {}
    for name in ENGINES:
        engine: Engine = engine_named(name, stack)
        began = time.perf_counter()
        Simulator(scenario, out / name, measure_raw_speed=False, engine=engine).run()
        seconds[name] = time.perf_counter() - began
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--out", type=Path, default=Path("out/engines"))
    args = parser.parse_args(argv)
    try:
        scenario = load(args.scenario)
    except ScenarioError as exc:  # as `tenure simulate` says it: every problem, nothing run
        count = len(exc.problems)
        print(
            f"invalid scenario {args.scenario}: {count} problem{'s' if count != 1 else ''},"
            " nothing was run",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    seconds = run_on_both(scenario, args.out)
    for name, took in seconds.items():
        print(f"{name}: {took:.1f} s -> {args.out / name}")
    found = differing_files(args.out / ENGINES[0], args.out / ENGINES[1])
    for name in found:
        print(f"differs: {name}")
    print("the engines agree byte for byte" if not found else f"{len(found)} file(s) differ")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
