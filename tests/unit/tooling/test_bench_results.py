"""`make bench` writes what it printed, and the figures behind it, beside the table."""

import json
from pathlib import Path

from rich.table import Table

from tenure_local.bench.suite import RecordingTable, StageClock, machine_facts, write_results


def test_bench_json_holds_every_row_with_its_target_the_figures_and_the_machine(
    tmp_path: Path,
) -> None:
    table = RecordingTable(title="bench")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    table.add_row("renewal: WCU per renewal", "18.0", "≤ 20 (floor 12)")
    table.add_row("scheduler load", "12 s", "")
    steps = Table(title="steps")
    steps.add_column("request")
    steps.add_row("TransactWriteItems")
    write_results(tmp_path / "bench", table, steps, {"renewals": {"wcu": 18.0}}, machine_facts())
    doc = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert doc["rows"] == [
        {"measure": "renewal: WCU per renewal", "value": "18.0", "target": "≤ 20 (floor 12)"},
        {"measure": "scheduler load", "value": "12 s", "target": ""},
    ]
    assert doc["figures"] == {"renewals": {"wcu": 18.0}}
    machine = doc["machine"]
    assert len(machine["commit"]) == 40 and machine["cpus"] >= 1
    assert len(machine["load_average_at_start"]) == len(machine["load_average_at_end"]) == 3
    text = (tmp_path / "bench" / "bench.txt").read_text()
    assert "renewal: WCU per renewal" in text and "TransactWriteItems" in text


def test_each_stage_of_a_bench_run_is_timed_until_the_next_begins() -> None:
    ticks = iter([0.0, 2.5, 2.5, 10.0])
    stages = StageClock(clock=lambda: next(ticks))
    stages.start("cold_starts")
    stages.start("renewals")  # ends cold_starts at 2.5
    stages.stop()
    stages.stop()  # a second stop has nothing running: changes nothing
    assert stages.seconds == {"cold_starts": 2.5, "renewals": 7.5}
