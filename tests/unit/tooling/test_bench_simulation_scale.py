"""The memory engine's scale rows of `tenure bench`: the generator makes the example files'
scenarios at any size, each size replays in its own interpreter, and a failed size says so."""

from pathlib import Path

import pytest
import yaml

from tenure_local.bench import simulation_scale

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_generator_makes_exactly_the_example_scenario_files() -> None:
    make = simulation_scale.generator()
    assert make.scenario_text(500) == (EXAMPLES / "mixed-500.yaml").read_text()
    assert make.scenario_text(100) == (EXAMPLES / "mixed-100.yaml").read_text()


def test_a_generated_year_runs_twelve_months_with_every_customer() -> None:
    doc = yaml.safe_load(simulation_scale.generator().scenario_text(30, 12))
    assert (doc["start"], doc["until"]) == ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert len(doc["customers"]) == 30


def test_a_small_run_reports_its_speed_time_and_memory_in_its_own_interpreter() -> None:
    run = simulation_scale.measure(8, 6)
    assert (run["customers"], run["months"]) == (8, 6)
    assert run["customer_months"] == pytest.approx(8 * 181 / 30.4375, abs=0.1)
    assert run["customer_months_per_cpu_s"] == pytest.approx(
        run["customer_months"] / run["cpu_seconds"], rel=0.05
    )
    assert run["emails"] > 0 and run["peak_rss_mb"] > 10


def test_a_size_that_cannot_be_generated_fails_with_the_cause() -> None:
    with pytest.raises(simulation_scale.ScaleRunError, match="-1 customers, 1 months"):
        simulation_scale.measure(-1, 1)


def test_flatness_compares_cpu_cost_per_customer_month_of_the_largest_and_smallest() -> None:
    runs = [{"customer_months_per_cpu_s": 300.0}, {"customer_months_per_cpu_s": 250.0}]
    assert simulation_scale.flatness(runs) == pytest.approx(1.2)
