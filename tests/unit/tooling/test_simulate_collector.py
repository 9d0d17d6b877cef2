"""A simulation runs with young collections rarer, and gives the collector back as it was."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenure_local.simulator import simulate as simulating
from tenure_local.simulator.collector import YOUNG_THRESHOLD, fewer_collections
from tenure_local.simulator.engines import MemoryEngine
from tenure_local.simulator.scenario import load

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo.yaml"


@pytest.fixture(autouse=True)
def _thresholds_kept() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_young_collections_are_rarer_inside_and_as_before_after() -> None:
    gc.set_threshold(700, 11, 12)
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 11, 12)
    assert gc.get_threshold() == (700, 11, 12)


def test_a_higher_or_switched_off_threshold_is_left_alone() -> None:
    for given in ((50_000, 10, 10), (0, 10, 10)):
        gc.set_threshold(*given)
        with fewer_collections():
            assert gc.get_threshold() == given
        assert gc.get_threshold() == given


def test_a_failing_simulation_gives_the_thresholds_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []

    def fail(self: object, adapters: object, began: float) -> None:
        seen.append(gc.get_threshold())
        raise RuntimeError("the run failed")

    monkeypatch.setattr(simulating.Simulator, "_run_on", fail)
    simulator = simulating.Simulator(load(DEMO), tmp_path / "out", engine=MemoryEngine())
    with pytest.raises(RuntimeError, match="the run failed"):
        simulator.run()
    assert seen == [(YOUNG_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)
