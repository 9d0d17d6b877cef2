"""DynamoDB requests of a simulation, by operation and by the code that made them.

On the DynamoDB Local engine the emulator's answers are most of a run's time, so the number of
requests per customer-month is the figure that tells whether a change made the run cheaper;
unlike the run's seconds, it does not move with the machine's load. Requests made while the
simulator writes its outputs (state.json, events, metrics) are counted apart: the bench's
customer-months/s leaves that phase out, as production has no such phase.

Each request is named by its operation (a Query by the index it reads) and by its caller: the
innermost frame of Tenure's services, the simulator or the runtime, outside the store and the
clients (tenure.store, this module, the simulator's timer and the lean client).

Run: python -m tenure_local.bench.ddb_requests [SCENARIO.yaml]   (default examples/bench.yaml)
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from tenure_local.simulator.aws_timer import AwsTimer

REPO = Path(__file__).resolve().parents[3]
# Tenure's code, wherever the checkout is (a checkout may itself be named `tenure`).
_ROOTS = ("/layers/common/tenure/", "/local/tenure_local/")
# Frames of these files (below a root) are the means of a request, not its reason.
_PLUMBING = ("store/", "stack/", "simulator/aws_timer.py", "bench/ddb_requests.py")
# The simulator's output phase: what it reads to write state.json, events and metrics.
OUTPUT_PHASE = "_write_outputs"


def operation_key(operation: str, params: dict[str, Any]) -> str:
    """`Query DueIndex`, `Query table`, `TransactWriteItems`, ..."""
    if operation in ("Query", "Scan"):
        return f"{operation} {params.get('IndexName') or 'table'}"
    return operation


def caller(frames: Iterable[tuple[str, str]]) -> str:
    """The innermost (file, function) of `frames` (innermost first) that belongs to Tenure
    and is not plumbing, as `services/cards.py:update_payment_method`; failing that (a
    store's worker thread) the outermost of the store's own; `?` if none."""
    fallback = "?"
    for filename, function in frames:
        path = filename.replace("\\", "/")
        root = next((r for r in _ROOTS if r in path), None)
        if root is None:
            continue
        short = path.rsplit(root, 1)[1]
        named = f"{short}:{function}"
        if not short.startswith(_PLUMBING):
            return named
        if root == _ROOTS[0] and short.startswith("store/"):
            fallback = named
    return fallback


def _frames(frame: FrameType | None) -> Iterable[tuple[str, str]]:
    while frame is not None:
        yield frame.f_code.co_filename, frame.f_code.co_name
        frame = frame.f_back


def _in_outputs(frame: FrameType | None) -> bool:
    return any(function == OUTPUT_PHASE for _, function in _frames(frame))


class TallyingTimer(AwsTimer):
    """The simulator's AWS timer, also counting each DynamoDB request by operation and caller,
    apart for the output phase. Give it to a Simulator as its `timer` before `run()`."""

    def __init__(self) -> None:
        super().__init__()
        self.run_requests: Counter[str] = Counter()
        self.output_requests: Counter[str] = Counter()
        self.run_callers: Counter[tuple[str, str]] = Counter()

    def attach(self, client: Any) -> Any:
        client = super().attach(client)
        call = client._make_api_call

        def tallied(operation: str, params: dict[str, Any]) -> Any:
            key = operation_key(operation, params)
            frame = sys._getframe(1)
            if _in_outputs(frame):
                self.output_requests[key] += 1
            else:
                self.run_requests[key] += 1
                self.run_callers[(key, caller(_frames(frame)))] += 1
            return call(operation, params)

        client._make_api_call = tallied
        return client

    def figures(self, customer_months: float, top: int = 25) -> dict[str, Any]:
        run = sum(self.run_requests.values())
        return {
            "customer_months": round(customer_months, 1),
            "requests": run,
            "requests_per_customer_month": round(run / customer_months, 2)
            if customer_months
            else None,
            "by_operation": dict(self.run_requests.most_common()),
            "by_caller": [
                {"operation": op, "caller": who, "requests": n}
                for (op, who), n in self.run_callers.most_common(top)
            ],
            "output_requests": sum(self.output_requests.values()),
        }


def measure(scenario_path: Path) -> dict[str, Any]:
    """Replays `scenario_path` on the default engine (DynamoDB Local) and returns its request
    figures and speed (customer-months per second of the run, as the bench measures it)."""
    from tenure_local.simulator.scenario import load
    from tenure_local.simulator.simulate import Simulator

    scenario = load(scenario_path)
    with tempfile.TemporaryDirectory() as tmp:
        simulator = Simulator(scenario, Path(tmp) / "out", measure_raw_speed=False)
        tally = TallyingTimer()
        simulator.timer = tally
        result = simulator.run()
    figures = tally.figures(result.customer_months)
    figures["customer_months_per_s"] = round(result.customer_months / result.seconds, 2)
    figures["seconds"] = round(result.seconds, 2)
    return figures


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "examples" / "bench.yaml"
    print(json.dumps(measure(path), indent=1))
