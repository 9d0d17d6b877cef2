"""What `tenure simulate` prints about the run itself (not the business): how the engine ran
(`--verbose`) and what chaos injected."""

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from tenure_local.simulator.simulate import SimulationResult

err = Console(stderr=True)


def print_engine(result: "SimulationResult") -> None:
    """How the engine ran: speed, time in AWS calls, the local table's raw speed, webhooks."""
    own = result.seconds - result.aws_seconds
    err.print(
        f"simulated {result.customer_months:.0f} customer-months in {result.seconds:.2f} s "
        f"({result.customer_months / max(result.seconds, 1e-9):.1f} customer-months/s) on "
        f"{result.backend}"
    )
    if result.backend == "memory":
        err.print("  no AWS calls: the table, the queue and the mailer are in this process")
    else:
        err.print(
            f"  time in AWS calls: {result.aws_seconds:.2f} s over {result.aws_calls} calls; "
            f"Tenure's own work: {own:.2f} s ({result.own_share:.0%} of the run, target <= 50%)"
        )
    if result.raw_speed:
        raw = result.raw_speed
        err.print(
            "  raw local DynamoDB in this run: "
            f"{raw.get('conditional_puts_per_s', 0):.0f} conditional puts/s, "
            f"{raw.get('transact_writes_per_s', 0):.0f} three-item transactions/s"
        )
    if result.webhooks:
        hooks = result.webhooks
        statuses = ", ".join(f"{n}x {code}" for code, n in sorted(hooks["delivered"].items()))
        err.print(
            f"  webhooks{' (chaos)' if hooks['chaos'] else ''}: {statuses or 'none'}; "
            f"{hooks['duplicates_sent']} duplicated, {hooks['late']} late"
        )


def print_chaos(injected: dict[str, object], folder: Path) -> None:
    by_kind = injected.get("by_kind") or {}
    assert isinstance(by_kind, dict)
    kinds = ", ".join(f"{n} {kind}" for kind, n in by_kind.items()) or "nothing"
    err.print(f"  chaos (seed {injected['seed']}): injected {kinds}")
    by_step = injected.get("by_step") or {}
    assert isinstance(by_step, dict)
    for step, n in by_step.items():
        err.print(f"    {n:>4}x {step}")
    err.print(f"  what was injected, and when: {folder / 'chaos.json'}")
