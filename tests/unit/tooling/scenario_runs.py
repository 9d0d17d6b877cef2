"""A scenario given as a dict, run on the memory engine, for the action tests: the state it
ends in, and the events of one kind it wrote."""

import json
from pathlib import Path
from typing import Any

from tenure_local.simulator.engines import MemoryEngine
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import SimulationResult, Simulator


def run_scenario(tmp_path: Path, raw: dict[str, Any]) -> tuple[dict[str, Any], SimulationResult]:
    """`raw` replayed into `tmp_path/out`: its state.json, read back, and the run's result."""
    out = tmp_path / "out"
    result = Simulator(parse(raw), out, measure_raw_speed=False, engine=MemoryEngine()).run()
    return json.loads((out / "state.json").read_text()), result


def events(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    """The events of type `kind` that run_scenario's run into `tmp_path` wrote."""
    lines = (tmp_path / "out" / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == kind]
