"""`tenure simulate` through the real handlers on DynamoDB Local: outputs, determinism, rules."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]


def run(stack: LocalStack, raw: dict[str, Any], out: Path, seed: int = 0) -> dict[str, Any]:
    Simulator(parse(raw), out, seed=seed, measure_raw_speed=False, stack=stack).run()
    state: dict[str, Any] = json.loads((out / "state.json").read_text())
    return state


def scenario(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "start": "2026-04-01T00:00:00Z",
        "until": "2026-06-15T00:00:00Z",
        "plans": [
            {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"},
            {"id": "pro", "amount": 2000, "currency": "USD", "interval": "month"},
        ],
        "customers": [{"id": "alice", "email": "alice@example.com", "card": "4242424242424242"}],
        "actions": [
            {
                "at": "2026-04-01T00:00:00Z",
                "do": "subscribe",
                "customer": "alice",
                "plan": "basic",
                "id": "sub-alice",
            },
            {
                "at": "2026-04-16T00:00:00Z",
                "do": "change_plan",
                "subscription": "sub-alice",
                "plan": "pro",
            },
        ],
    }
    raw.update(overrides)
    return raw


def dan_gives_a_good_card_later(first_card: str, at: str) -> dict[str, Any]:
    """Dan subscribes to basic on April 1st with `first_card`, and gives a card that pays
    `at`; the run ends April 20th."""
    return scenario(
        customers=[{"id": "dan", "email": "dan@example.com", "card": first_card}],
        actions=[
            {
                "at": "2026-04-01T00:00:00Z",
                "do": "subscribe",
                "customer": "dan",
                "plan": "basic",
                "id": "sub-dan",
            },
            {"at": at, "do": "update_card", "customer": "dan", "card": "4242424242424242"},
        ],
        until="2026-04-20T00:00:00Z",
    )


def test_halfway_upgrade_is_a_five_dollar_proration_invoice_in_state_json(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    state = run(local_stack, scenario(), tmp_path / "out")
    proration = [i for i in state["invoices"] if i["kind"] == "proration"]
    assert len(proration) == 1
    invoice = proration[0]
    assert invoice["total"] == 500
    assert [line["amount"] for line in invoice["lines"]] == [-500, 1000]
    assert (invoice["period_start"], invoice["period_end"]) == (
        "2026-04-16T00:00:00Z",
        "2026-05-01T00:00:00Z",
    )
    assert invoice["status"] == "paid"


def test_renewals_follow_the_calendar_and_each_paid_invoice_has_one_successful_charge(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    state = run(local_stack, scenario(), tmp_path / "out")
    renewals = sorted(i["period_start"] for i in state["invoices"] if i["kind"] == "renewal")
    assert renewals == ["2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"]
    for invoice in state["invoices"]:
        wins = [
            c
            for c in state["charges"]
            if c["invoice"] == invoice["id"] and c["outcome"] == "succeeded"
        ]
        assert len(wins) == (1 if invoice["status"] == "paid" else 0), invoice["id"]
        assert invoice["total"] == sum(line["amount"] for line in invoice["lines"])
    keys = [c["idempotency_key"] for c in state["charges"]]
    assert len(keys) == len(set(keys))
    sub = state["subscriptions"][0]
    assert (sub["status"], sub["plan"]) == ("active", "pro")
    assert sub["current_period_end"] == "2026-07-01T00:00:00Z"


def test_the_same_scenario_gives_a_byte_identical_state_json_whatever_the_seed(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    run(local_stack, scenario(), tmp_path / "a", seed=1)
    run(local_stack, scenario(), tmp_path / "b", seed=2)
    assert (tmp_path / "a" / "state.json").read_bytes() == (
        tmp_path / "b" / "state.json"
    ).read_bytes()


def test_the_output_folder_is_replaced_and_holds_every_public_file(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    run(local_stack, scenario(), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "events.jsonl",
        "metrics.json",
        "outbox",
        "report.html",
        "state.json",
    ]
    emails = sorted(p.name for p in (out / "outbox").iterdir())
    assert emails and all(name.endswith(".eml") for name in emails)
    assert any(name.endswith("-alice-receipt.eml") for name in emails)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    types = {e["type"] for e in events}
    assert {
        "SubscriptionCreated",
        "SubscriptionActivated",
        "InvoicePaid",
        "SubscriptionPlanChanged",
        "SubscriptionRenewed",
    } <= types
    assert "sub-alice" in (out / "report.html").read_text()


def test_a_declined_card_leaves_the_invoice_open_until_a_new_card_pays_it(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    raw = dan_gives_a_good_card_later("4000000000009995", "2026-04-01T10:00:00Z")
    state = run(local_stack, raw, tmp_path / "out")
    outcomes = [(c["outcome"], c["decline_code"], c["at"]) for c in state["charges"]]
    assert outcomes == [
        ("declined", "insufficient_funds", "2026-04-01T00:00:00Z"),
        ("succeeded", None, "2026-04-01T10:00:00Z"),
    ]
    assert state["subscriptions"][0]["status"] == "active"


def test_a_first_payment_that_never_comes_expires_the_subscription_after_23_hours(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    raw = dan_gives_a_good_card_later("4000000000000002", "2026-04-10T00:00:00Z")
    state = run(local_stack, raw, tmp_path / "out")
    sub = state["subscriptions"][0]
    assert (sub["status"], sub["cancel_reason"], sub["canceled_at"]) == (
        "canceled",
        "incomplete_expired",
        "2026-04-01T23:00:00Z",
    )
    assert [i["status"] for i in state["invoices"]] == ["void"]
    assert [c["outcome"] for c in state["charges"]] == ["declined"]  # never charged again


def test_cancel_at_period_end_then_pause_and_resume_shape_the_final_state(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    raw = scenario(
        actions=[
            {
                "at": "2026-04-01T00:00:00Z",
                "do": "subscribe",
                "customer": "alice",
                "plan": "basic",
                "id": "sub-alice",
            },
            {
                "at": "2026-04-10T00:00:00Z",
                "do": "pause",
                "subscription": "sub-alice",
                "until": "2026-04-20T00:00:00Z",
            },
            {
                "at": "2026-04-25T00:00:00Z",
                "do": "cancel",
                "subscription": "sub-alice",
                "at_period_end": True,
                "reason": "too_expensive",
            },
        ],
    )
    state = run(local_stack, raw, tmp_path / "out")
    sub = state["subscriptions"][0]
    assert sub["status"] == "canceled"
    assert sub["cancel_reason"] == "too_expensive"
    # The pause ended on its own on Apr 20, which started a new monthly period.
    assert sub["canceled_at"] == "2026-05-20T00:00:00Z"
    resume = [i for i in state["invoices"] if i["period_start"] == "2026-04-20T00:00:00Z"]
    assert len(resume) == 1 and any(line["kind"] == "credit" for line in resume[0]["lines"])


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_scenario_is_valid(path: Path) -> None:
    from tenure_local.simulator.scenario import load

    load(path)


def test_a_mix_of_test_cards_passes_the_charges_audit(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """Soft declines recovered by a new card, a stolen card never retried until replaced,
    an authentication never retried off-session: `tenure charges audit` finds nothing."""
    from tenure_local.simulator.charges_audit import audit, load

    good = "4242424242424242"
    stories: dict[str, tuple[str | None, str | None]] = {
        "soft": ("4000000000009995", good),
        "stolen": ("4000000000009979", good),
        "auth": ("4000002760003184", None),
        "steady": (None, None),
    }
    customers, actions = [], []
    for name, (bad, fixed) in stories.items():
        customers.append({"id": name, "email": f"{name}@example.com", "card": good})
        actions.append(
            {
                "at": "2026-04-01T00:00:00Z",
                "do": "subscribe",
                "customer": name,
                "plan": "basic",
                "id": f"sub-{name}",
            }
        )
        if bad:
            actions.append(
                {"at": "2026-04-20T00:00:00Z", "do": "update_card", "customer": name, "card": bad}
            )
        if fixed:
            actions.append(
                {"at": "2026-05-09T10:00:00Z", "do": "update_card", "customer": name, "card": fixed}
            )
    out = tmp_path / "out"
    run(local_stack, scenario(customers=customers, actions=actions), out)
    result = audit(*load(out))
    assert result.findings == []
    assert result.soft_declines >= 2  # the first retry before the new card, then recovered
    assert (result.hard_declines, result.authentication_required) == (1, 1)
    assert result.recovered_after_card_change == 2  # soft and stolen, both by the new card
