"""`tenure simulate --chaos ... --engine memory`: a seeded run of the demo on the in-process
adapters ends where its calm run did (no stack needed, so it runs in seconds)."""

from pathlib import Path

from tenure_local.simulator.chaos import Chaos, parse_kinds
from tenure_local.simulator.chaos_compare import compare
from tenure_local.simulator.engines import MemoryEngine
from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator

REPO = Path(__file__).resolve().parents[2]


def test_a_seeded_chaos_run_on_the_memory_engine_ends_as_its_calm_run(tmp_path: Path) -> None:
    scenario = load(REPO / "examples" / "demo.yaml")
    calm, faulted = tmp_path / "calm", tmp_path / "seed-1"
    Simulator(scenario, calm, measure_raw_speed=False, engine=MemoryEngine()).run()
    chaos = Chaos(kinds=parse_kinds("all"), seed=1)
    result = Simulator(
        scenario, faulted, seed=1, measure_raw_speed=False, chaos=chaos, engine=MemoryEngine()
    ).run()
    assert result.chaos["injected"] > 0
    comparison = compare(calm, faulted)
    assert comparison.ok, comparison.to_dict()
