"""The scenario action `provider_refund_failed`: the provider reports that a refund of an
invoice's payment failed, as its own signed `refund.failed` (Stripe's for a Stripe-shaped
customer, Razorpay's for a Razorpay one), through the real webhooks handler on the memory
engine. Refused at load when no earlier action can have refunded the invoice, at run time
(like any refusal by the provider) when the invoice has no such refund."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from scenario_refusals import problems
from scenario_runs import events, run_scenario

from tenure_local.simulator.scenario import ScenarioError, load, parse
from tenure_local.simulator.scenario_refund_failed import ProviderRefundFailed
from tenure_local.simulator.simulate import SimulationResult

START = "2026-02-01T10:00:00Z"
STRIPE_INVOICE = "in_sub-alice_first_20260201T100000Z"
RAZORPAY_INVOICE = "in_sub-asha_first_20260201T100000Z"


def refund(amount: int, at: str = "2026-02-05T12:00:00Z", sub: str = "sub-alice") -> dict[str, Any]:
    return {"at": at, "do": "refund", "subscription": sub, "period_start": START, "amount": amount}


def fails(at: str, sub: str = "sub-alice", **more: Any) -> dict[str, Any]:
    return {
        "at": at,
        "do": "provider_refund_failed",
        "subscription": sub,
        "period_start": START,
        **more,
    }


def scenario(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": START,
        "until": "2026-03-01T00:00:00Z",
        "plans": [
            {"id": "pro", "amount": 3000, "currency": "USD", "interval": "month"},
            {"id": "plus", "amount": 49900, "currency": "INR", "interval": "month"},
        ],
        "customers": [
            {"id": "alice", "email": "alice@example.com", "card": "4242424242424242"},
            {
                "id": "asha",
                "email": "asha@example.com",
                "provider": "razorpay",
                "card": "success@razorpay",
            },
        ],
        "actions": [
            {"at": START, "do": "subscribe", "customer": "alice", "plan": "pro", "id": "sub-alice"},
            {"at": START, "do": "subscribe", "customer": "asha", "plan": "plus", "id": "sub-asha"},
            *actions,
        ],
    }


def simulate(tmp_path: Path, *actions: dict[str, Any]) -> tuple[dict[str, Any], SimulationResult]:
    return run_scenario(tmp_path, scenario(*actions))


# -- at load -----------------------------------------------------------------------------------
def test_the_action_parses_with_and_without_an_amount() -> None:
    parsed = parse(
        scenario(
            refund(500), fails("2026-02-10T00:00:00Z"), fails("2026-02-11T00:00:00Z", amount=500)
        )
    )
    failures = parsed.actions[-2:]
    assert [type(a) for a in failures] == [ProviderRefundFailed, ProviderRefundFailed]
    assert [a.amount for a in failures] == [None, 500]


def test_a_failure_no_earlier_action_can_have_refunded_is_refused_with_its_line() -> None:
    assert problems(scenario(fails("2026-02-10T00:00:00Z"))) == [
        (
            "actions[2].period_start",
            "no earlier action refunds the invoice of subscription 'sub-alice' of "
            "2026-02-01T10:00:00+00:00, so there is no refund to fail; expected a `refund`, "
            "`provider_refund` or `cancel` with `refund` of it before this action",
        )
    ]


def test_the_refusal_at_load_names_the_actions_line_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(fails("2026-02-10T00:00:00Z")), sort_keys=False))
    with pytest.raises(ScenarioError) as refused:
        load(path)
    [problem] = refused.value.problems
    line = path.read_text().splitlines()[(problem.line or 0) - 1]
    assert problem.path == "actions[2].period_start" and line.lstrip().startswith("period_start")


@pytest.mark.parametrize(
    "before",
    [
        refund(500, at="2026-02-12T00:00:00Z"),  # after the failure in time: not before it
        refund(500, sub="sub-asha"),  # another subscription's refund
        {**refund(500), "period_start": "2026-03-01T10:00:00Z"},  # another period's
        {"at": "2026-02-05T00:00:00Z", "do": "cancel", "subscription": "sub-alice"},  # none
    ],
)
def test_a_refund_that_is_not_of_the_invoice_or_comes_later_is_not_enough(
    before: dict[str, Any],
) -> None:
    [(path, what)] = problems(scenario(before, fails("2026-02-10T00:00:00Z")))
    assert path.endswith(".period_start") and "no refund to fail" in what


@pytest.mark.parametrize(
    "before",
    [
        refund(500),
        {"at": "2026-02-05T00:00:00Z", "do": "refund", "invoice": STRIPE_INVOICE},
        {"at": "2026-02-05T00:00:00Z", "do": "provider_refund", "subscription": "sub-alice",
         "period_start": START},
        {"at": "2026-02-05T00:00:00Z", "do": "cancel", "subscription": "sub-alice",
         "refund": "full"},
        refund(500, at="2026-02-10T00:00:00Z"),  # the same moment, earlier in the file
    ],
)  # fmt: skip
def test_any_earlier_refund_the_invoice_may_have_lets_the_failure_load(
    before: dict[str, Any],
) -> None:
    parse(scenario(before, fails("2026-02-10T00:00:00Z")))


@pytest.mark.parametrize(
    ("action", "path"),
    [
        (fails("2026-02-10T00:00:00Z", amount=0), "actions[3].amount"),
        (fails("2026-02-10T00:00:00Z", amount="500"), "actions[3].amount"),
        (fails("2026-02-10T00:00:00Z", sub="sub-nobody"), "actions[3].subscription"),
        ({k: v for k, v in fails("2026-02-10T00:00:00Z").items() if k != "period_start"},
         "actions[3].period_start"),
    ],
)  # fmt: skip
def test_a_malformed_failure_is_refused_once_at_its_field(
    action: dict[str, Any], path: str
) -> None:
    assert [p for p, _ in problems(scenario(refund(500), action))] == [path]


# -- at run time -------------------------------------------------------------------------------
def test_a_stripe_refund_reported_failed_reaches_tenure_by_its_webhook(tmp_path: Path) -> None:
    state, result = simulate(
        tmp_path, refund(500), refund(700, at="2026-02-06T12:00:00Z"), fails("2026-02-10T00:00:00Z")
    )

    assert result.rejected == []
    refunds = {r["amount"]: r["status"] for r in state["refunds"]}
    assert refunds == {500: "succeeded", 700: "failed"}  # the latest, by default
    [invoice] = [i for i in state["invoices"] if i["id"] == STRIPE_INVOICE]
    assert invoice["amount_refunded"] == 500
    notes = {n["amount"]: n.get("refund_status") for n in state["credit_notes"]}
    assert notes == {500: None, 700: "failed"}
    [told] = events(tmp_path, "InvoiceRefundFailed")
    data = told["data"]
    assert (data["amount"], data["provider_event_type"], data["provider"]) == (
        700,
        "refund.failed",
        "stripe",
    )
    assert result.webhooks["refused"] == []


def test_an_amount_picks_which_refund_fails(tmp_path: Path) -> None:
    state, result = simulate(
        tmp_path,
        refund(500),
        refund(700, at="2026-02-06T12:00:00Z"),
        fails("2026-02-10T00:00:00Z", amount=500),
    )
    assert result.rejected == []
    assert {r["amount"]: r["status"] for r in state["refunds"]} == {500: "failed", 700: "succeeded"}


def test_a_razorpay_refund_reported_failed_reaches_tenure_by_razorpays_webhook(
    tmp_path: Path,
) -> None:
    state, result = simulate(
        tmp_path, refund(10000, sub="sub-asha"), fails("2026-02-10T00:00:00Z", sub="sub-asha")
    )

    assert result.rejected == []
    [made] = state["refunds"]
    assert (made["invoice"], made["status"]) == (RAZORPAY_INVOICE, "failed")
    [invoice] = [i for i in state["invoices"] if i["id"] == RAZORPAY_INVOICE]
    assert invoice["amount_refunded"] == 0
    [note] = state["credit_notes"]
    assert note["refund_status"] == "failed"
    [told] = events(tmp_path, "InvoiceRefundFailed")
    assert (told["data"]["provider"], told["data"]["provider_event_type"]) == (
        "razorpay",
        "refund.failed",
    )
    assert result.webhooks["razorpay"]["refused"] == []


def test_a_failure_with_no_refund_left_to_fail_is_refused_at_run_time(tmp_path: Path) -> None:
    state, result = simulate(
        tmp_path,
        refund(500),
        refund(700, at="2026-02-06T12:00:00Z"),
        fails("2026-02-09T00:00:00Z", amount=300),  # no refund of 300
        fails("2026-02-10T00:00:00Z"),  # 700 fails
        fails("2026-02-11T00:00:00Z"),  # then 500
        fails("2026-02-12T00:00:00Z"),  # none is left
        refund(99999, at="2026-02-05T13:00:00Z", sub="sub-asha"),  # refused: more than paid
        fails("2026-02-13T00:00:00Z", sub="sub-asha"),  # so Asha's invoice has no refund
    )

    refused = {r["where"]: (r["status"], r["response"]) for r in result.rejected}
    assert set(refused) == {"actions[4]", "actions[7]", "actions[8]", "actions[9]"}
    assert refused["actions[8]"][0] == 422  # the API's refusal of the refund itself
    assert refused["actions[4]"] == (
        402,
        {
            "error": "refused_by_provider",
            "message": f"invoice {STRIPE_INVOICE} has no refund of 300 to fail; "
            "its refunds not failed: 500, 700",
        },
    )
    for where, invoice in (("actions[7]", STRIPE_INVOICE), ("actions[9]", RAZORPAY_INVOICE)):
        assert refused[where] == (
            402,
            {"error": "refused_by_provider", "message": f"invoice {invoice} has no refund to fail"},
        )
    assert [r["status"] for r in state["refunds"]] == ["failed", "failed"]
    assert len(events(tmp_path, "InvoiceRefundFailed")) == 2
