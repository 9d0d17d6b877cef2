"""`tenure simulate --chaos`: a small scenario (renewals, a decline and its retries, a hard
decline, a bank debit settled by webhook, a dashboard refund, reminders) replayed calm and
under every kind of fault for a few seeds ends where the calm run did.

The calm run and one seed go through DynamoDB Local, where the faults meet boto3's retries
and the emulator's conditions; the other seeds run on the memory engine (seconds, not
minutes, each) and are compared with the same DynamoDB Local calm run, so they also show
the two engines agreeing on this scenario under faults."""

from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.chaos import KINDS, Chaos, Rates
from tenure_local.simulator.chaos_compare import compare
from tenure_local.simulator.engines import Engine, MemoryEngine, engine_named
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import SimulationResult, Simulator
from tenure_local.stack.local_stack import LocalStack

START = "2026-01-05T09:00:00Z"
GOOD, POOR, STOLEN = "4242424242424242", "4000000000009995", "4000000000009979"
SCENARIO: dict[str, Any] = {
    "start": START,
    "until": "2026-03-12T00:00:00Z",
    "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
    "customers": [
        {"id": "alice", "email": "alice@example.com", "card": GOOD},
        {"id": "boris", "email": "boris@example.com", "card": GOOD, "timezone": "Asia/Tokyo"},
        {"id": "carol", "email": "carol@example.com", "card": GOOD},
        {"id": "erin", "email": "erin@example.com", "card": "sandbox_async_succeeds"},
    ],
    "actions": [
        *(
            {"at": START, "do": "subscribe", "customer": c, "plan": "basic", "id": f"sub-{c}"}
            for c in ("alice", "boris", "carol", "erin")
        ),
        # Boris's renewal is declined (soft), retried, then paid with a new card.
        {
            "at": "2026-01-20T10:00:00Z",
            "do": "update_card",
            "customer": "boris",
            "card": POOR,
        },
        {"at": "2026-02-09T10:00:00Z", "do": "update_card", "customer": "boris", "card": GOOD},
        # Carol's card is stolen: a hard decline, never retried blindly.
        {"at": "2026-01-25T10:00:00Z", "do": "update_card", "customer": "carol", "card": STOLEN},
        {
            "at": "2026-01-20T11:00:00Z",
            "do": "provider_refund",
            "subscription": "sub-alice",
            "period_start": START,
            "amount": 300,
        },
    ],
}
# Higher than the defaults: a scenario this small would otherwise see few faults per seed.
RATES = Rates(
    crash_after_write=0.08,
    crash_after_queueing=0.1,
    crash_after_email=0.1,
    dynamodb_throttle=0.02,
    transaction_conflict=0.05,
    ses_throttle=0.1,
    provider_fault=0.15,
)
# Seed 1 injects every kind of fault, and the most of them, in this scenario.
DYNAMODB_SEEDS = [1]
MEMORY_SEEDS = [2, 3, 4]
SEEDS = DYNAMODB_SEEDS + MEMORY_SEEDS


def run(engine: Engine, out: Path, chaos: Chaos | None = None) -> SimulationResult:
    seed = chaos.seed if chaos else 0
    simulator = Simulator(
        parse(SCENARIO), out, seed=seed, measure_raw_speed=False, engine=engine, chaos=chaos
    )
    return simulator.run()


@pytest.fixture(scope="module")
def calm(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calm")
    run(engine_named("dynamodb-local", local_stack), out)
    return out


@pytest.fixture(scope="module")
def chaos_runs(
    local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> dict[int, tuple[Path, SimulationResult]]:
    runs = {}
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"chaos-{seed}")
        chaos = Chaos(kinds=frozenset(KINDS), seed=seed, rates=RATES)
        engine = engine_named("dynamodb-local", local_stack) if seed in DYNAMODB_SEEDS else None
        runs[seed] = (out, run(engine or MemoryEngine(), out, chaos))
    return runs


def test_the_calm_run_covers_renewals_declines_retries_webhooks_and_emails(calm: Path) -> None:
    state = (calm / "state.json").read_text()
    assert '"status": "past_due"' in state or '"status": "unpaid"' in state  # carol
    assert '"amount_refunded": 300' in state
    assert len(list((calm / "outbox").glob("*.eml"))) >= 8


@pytest.mark.parametrize("seed", SEEDS)
def test_every_seed_charges_once_sends_nothing_twice_and_ends_as_the_calm_run(
    calm: Path, chaos_runs: dict[int, tuple[Path, SimulationResult]], seed: int
) -> None:
    out, result = chaos_runs[seed]
    comparison = compare(calm, out)
    # Then every paid invoice was charged exactly once, no email went out twice, and the
    # subscriptions, invoices and metrics are the calm run's: only a payment recovered by
    # the sweeper may be recorded later, within the bound (chaos_compare.RECOVERY_BOUND)
    assert comparison.charges == []
    assert comparison.emails_twice == []
    assert comparison.differences == []
    assert comparison.metrics == []
    assert comparison.ok
    assert (out / "chaos.json").is_file() and result.chaos["injected"] > 0


def test_the_seeds_together_injected_every_kind_of_fault(
    chaos_runs: dict[int, tuple[Path, SimulationResult]],
) -> None:
    kinds: set[str] = set()
    for _, result in chaos_runs.values():
        kinds |= set(result.chaos["by_kind"])
        assert result.webhooks["duplicates_sent"] > 0 or result.webhooks["late"] > 0
    assert kinds == {"crashes", "throttling", "timeouts"}
