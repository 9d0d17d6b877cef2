"""The scenario action `erase`: what POST /v1/customers/{id}/erase does, at a moment of the
run (tests/fixtures/scenarios/erasure.yaml), the same bytes on both engines."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure.domain.privacy import pseudonym_email, pseudonym_name
from tenure_local.simulator.engine_diff import differing_files, run_on_both
from tenure_local.simulator.engines import engine_named
from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import SimulationResult, Simulator
from tenure_local.stack.local_stack import LocalStack

SCENARIO = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios" / "erasure.yaml"
PERSONAL = (
    "alice@example.com",
    "Alice Example",
    "Example Studio",
    "High Street",
    "GB1234",
    "Moving to Leeds",
    "bob@example.com",
    "Bob Example",
    "carol@example.com",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationResult]:
    out = tmp_path_factory.mktemp("erasure")
    simulator = Simulator(
        load(SCENARIO), out, measure_raw_speed=False, engine=engine_named("memory")
    )
    return out, simulator.run()


def customers(out: Path) -> dict[str, dict[str, Any]]:
    state = json.loads((out / "state.json").read_text())
    return {c["id"]: c for c in state["customers"]}


def test_each_customer_is_erased_once_nothing_live_holds_them(
    run: tuple[Path, SimulationResult],
) -> None:
    out, _ = run
    found = customers(out)
    erased = {c: found[c]["erased_at"] for c in ("alice", "bob", "carol")}
    # alice's second erasure changes nothing: her first stands
    assert erased == {
        "alice": "2026-03-15T09:00:00Z",
        "bob": "2026-04-15T09:00:00Z",
        "carol": "2026-04-15T10:00:00Z",
    }
    assert (found["alice"]["email"], found["alice"]["name"]) == (
        pseudonym_email("alice"),
        pseudonym_name("alice"),
    )
    assert found["alice"]["billing_name"] is None and found["alice"]["tax_id"] is None
    assert "erased_at" not in found["dave"] or found["dave"]["erased_at"] is None


def test_an_erasure_refused_by_the_api_is_reported_and_the_run_goes_on(
    run: tuple[Path, SimulationResult],
) -> None:
    _, result = run
    refused = {(r["where"], r["status"]): r["response"]["message"] for r in result.rejected}
    assert set(refused) == {("actions[3]", 409), ("actions[5]", 409), ("actions[8]", 409)}
    assert "sub-alice is active" in refused[("actions[3]", 409)]
    assert "installment plan sofa is active" in refused[("actions[5]", 409)]
    assert "erased" in refused[("actions[8]", 409)]  # a card after the erasure


def test_nothing_personal_of_the_erased_is_left_in_the_outputs(
    run: tuple[Path, SimulationResult],
) -> None:
    out, _ = run
    texts = [(out / name).read_text() for name in ("state.json", "events.jsonl", "metrics.json")]
    texts += [p.read_text() for p in (out / "outbox").iterdir()]
    assert [word for word in PERSONAL if any(word in text for text in texts)] == []
    assert sorted({p.name.split("-")[1] for p in (out / "outbox").glob("*.eml")}) == ["dave"]


def test_the_memory_engine_writes_what_dynamodb_local_writes_for_an_erasure(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    run_on_both(load(SCENARIO), tmp_path, stack=local_stack)
    assert list((tmp_path / "memory" / "outbox").glob("*.eml"))
    assert differing_files(tmp_path / "dynamodb-local", tmp_path / "memory") == []
