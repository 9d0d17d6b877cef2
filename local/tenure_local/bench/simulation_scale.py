"""The memory engine at scale: customer-months per second and peak memory of generated mixed
scenarios (examples/make_mixed.py) of growing size, each replayed in a fresh interpreter.

A fresh interpreter per size, so that one size's peak memory and CPU time are its own. Both
wall and CPU time are reported: on a shared machine the wall time also counts the time the
run waited for a core, which CPU time does not, so the ratio of CPU rates is the fair test of
whether the cost per customer-month stays flat. Times cover `Simulator.run()` whole (set-up,
the simulated months, and writing state, metrics, report and outbox), not the interpreter's
start or the scenario file's parsing.

Run one size: python -m tenure_local.bench.simulation_scale CUSTOMERS MONTHS
"""

import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[3]
GENERATOR = REPO / "examples" / "make_mixed.py"


class ScaleRunError(RuntimeError):
    """A size's run failed; the message carries the end of what it printed."""


def generator() -> ModuleType:
    """examples/make_mixed.py, the scenario generator the example files come from."""
    spec = importlib.util.spec_from_file_location("make_mixed", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_here(customers: int, months: int) -> dict[str, Any]:
    """Replays the generated scenario on the memory engine in this process and returns its
    figures (the peak memory is this process's so far: call it in a fresh one)."""
    from tenure_local.simulator.engines import MemoryEngine
    from tenure_local.simulator.scenario import load
    from tenure_local.simulator.simulate import QUIET_ENV, Simulator

    os.environ.update(QUIET_ENV)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(generator().scenario_text(customers, months))
        scenario = load(path)
        wall, cpu = time.perf_counter(), time.process_time()
        result = Simulator(
            scenario, Path(tmp) / "out", engine=MemoryEngine(), measure_raw_speed=False
        ).run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        emails = sum(1 for _ in (Path(tmp) / "out" / "outbox").glob("*.eml"))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    months_run = result.customer_months
    return {
        "customers": customers,
        "months": months,
        "customer_months": round(months_run, 1),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "customer_months_per_s": round(months_run / wall, 1),
        "customer_months_per_cpu_s": round(months_run / cpu, 1),
        "emails": emails,
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def measure(customers: int, months: int) -> dict[str, Any]:
    """run_here in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "tenure_local.bench.simulation_scale", str(customers), str(months)],
        capture_output=True,
        text=True,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ScaleRunError(f"{customers} customers, {months} months: {' / '.join(tail)}")
    found: dict[str, Any] = json.loads(lines[-1])
    return found


def flatness(runs: list[dict[str, Any]]) -> float:
    """CPU seconds per customer-month of the largest run over the smallest's (1.0: flat)."""
    first, last = runs[0], runs[-1]
    return float(first["customer_months_per_cpu_s"]) / float(last["customer_months_per_cpu_s"])


if __name__ == "__main__":
    print(json.dumps(run_here(int(sys.argv[1]), int(sys.argv[2]))))
