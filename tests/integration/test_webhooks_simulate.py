"""`tenure simulate`: every sandbox event goes through the real webhooks handler; with
--webhook-chaos (late, duplicated, reordered) the final state is the calm run's.

The calm run and seed 1 go through DynamoDB Local; seed 2 runs on the memory engine and
must still end in the DynamoDB Local calm run's state, byte for byte."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.engines import DynamoLocalEngine, Engine, MemoryEngine
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import SimulationResult, Simulator
from tenure_local.stack.local_stack import LocalStack

START = "2026-01-05T09:00:00Z"
STOLEN, VISA = "4000000000009979", "4242424242424242"
SCENARIO: dict[str, Any] = {
    "start": START,
    "until": "2026-04-01T00:00:00Z",
    "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
    "customers": [
        {"id": "alice", "email": "alice@example.com", "card": "4242424242424242"},
        {"id": "boris", "email": "boris@example.com", "card": "4242424242424242"},
        {"id": "dan", "email": "dan@example.com", "card": "4242424242424242"},
        {"id": "erin", "email": "erin@example.com", "card": "sandbox_async_succeeds"},
    ],
    "actions": [
        *(
            {"at": START, "do": "subscribe", "customer": c, "plan": "basic", "id": f"sub-{c}"}
            for c in ("alice", "boris", "dan", "erin")
        ),
        {
            "at": "2026-01-20T10:00:00Z",
            "do": "provider_refund",
            "subscription": "sub-alice",
            "period_start": START,
            "amount": 400,
        },
        {
            "at": "2026-02-12T08:00:00Z",
            "do": "dispute",
            "subscription": "sub-boris",
            "period_start": "2026-02-05T09:00:00Z",
            "outcome": "lost",
            "closed_at": "2026-03-01T12:00:00Z",
        },
        {"at": "2026-02-20T00:00:00Z", "do": "update_card", "customer": "dan", "card": STOLEN},
        {"at": "2026-03-07T14:00:00Z", "do": "card_auto_updated", "customer": "dan", "card": VISA},
        {
            "at": "2026-03-10T00:00:00Z",
            "do": "dispute",
            "subscription": "sub-erin",
            "period_start": "2026-03-20T09:00:00Z",
            "outcome": "won",
            "closed_at": "2026-03-12T00:00:00Z",
        },
    ],
}


def run(
    engine: Engine, out: Path, chaos: bool = False, seed: int = 0
) -> tuple[dict[str, Any], SimulationResult]:
    result = Simulator(
        parse(SCENARIO), out, seed=seed, measure_raw_speed=False, engine=engine, webhook_chaos=chaos
    ).run()
    return json.loads((out / "state.json").read_text()), result


@pytest.fixture(scope="module")
def calm(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run(DynamoLocalEngine(local_stack), tmp_path_factory.mktemp("calm"))


def test_provider_side_actions_reach_tenure_only_by_webhook(calm: Any) -> None:
    state, result = calm
    invoices = {i["id"]: i for i in state["invoices"]}
    alice = invoices["in_sub-alice_first_20260105T090000Z"]
    assert (alice["amount_refunded"], alice["refund_status"]) == (400, "partial")
    boris = invoices["in_sub-boris_renewal_20260205T090000Z"]
    assert (boris["status"], boris["dispute_status"]) == ("uncollectible", "lost")
    assert {c["id"]: c["at_risk"] for c in state["customers"]}["boris"] is True
    dan = invoices["in_sub-dan_renewal_20260305T090000Z"]
    assert (dan["status"], dan["paid_at"], dan["attempts"]) == ("paid", "2026-03-07T14:00:00Z", 2)
    assert set(result.webhooks["delivered"]) == {"200"}
    # Erin's March invoice does not exist yet: the provider refuses, the run goes on.
    assert [r["where"] for r in result.rejected] == ["actions[8]"]


@pytest.mark.parametrize(("seed", "engine"), [(1, "dynamodb-local"), (2, "memory")])
def test_chaos_reaches_the_calm_state(
    calm: Any, local_stack: LocalStack, tmp_path: Path, seed: int, engine: str
) -> None:
    chosen = DynamoLocalEngine(local_stack) if engine == "dynamodb-local" else MemoryEngine()
    state, result = run(chosen, tmp_path / "chaos", chaos=True, seed=seed)
    assert result.webhooks["duplicates_sent"] > 0 and result.webhooks["late"] > 0
    assert set(result.webhooks["delivered"]) == {"200"}
    assert state == calm[0]
