"""The scenario's provider-side actions `provider_refund` and `dispute` for a Razorpay
customer: they happen at Razorpay, which took the payment, and reach Tenure as Razorpay's
own signed webhooks (`refund.created`/`refund.processed`, `payment.dispute.*`) through the
real webhooks handler on the memory engine, as they do at Stripe for a Stripe customer.
`card_auto_updated`, the default provider's card updater, is refused at load for one."""

from pathlib import Path
from typing import Any

from scenario_refusals import problems
from scenario_runs import events, run_scenario

from tenure_local.simulator.simulate import SimulationResult

START = "2026-02-01T10:00:00Z"
INVOICE = "in_sub-asha_first_20260201T100000Z"


def scenario(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": START,
        "until": "2026-03-01T00:00:00Z",
        "plans": [{"id": "plus", "amount": 49900, "currency": "INR", "interval": "month"}],
        "customers": [
            {
                "id": "asha",
                "email": "asha@example.com",
                "provider": "razorpay",
                "card": "success@razorpay",
            }
        ],
        "actions": [
            {"at": START, "do": "subscribe", "customer": "asha", "plan": "plus", "id": "sub-asha"},
            *actions,
        ],
    }


def dashboard_refund(at: str, amount: int | None = None) -> dict[str, Any]:
    action = {"at": at, "do": "provider_refund", "subscription": "sub-asha", "period_start": START}
    return action if amount is None else {**action, "amount": amount}


def dispute(at: str, outcome: str, closed_at: str) -> dict[str, Any]:
    return {
        "at": at,
        "do": "dispute",
        "subscription": "sub-asha",
        "period_start": START,
        "outcome": outcome,
        "closed_at": closed_at,
    }


def simulate(tmp_path: Path, *actions: dict[str, Any]) -> tuple[dict[str, Any], SimulationResult]:
    return run_scenario(tmp_path, scenario(*actions))


def invoice(state: dict[str, Any]) -> dict[str, Any]:
    [found] = [i for i in state["invoices"] if i["id"] == INVOICE]
    return found


def test_a_dashboard_refund_at_razorpay_reaches_tenure_by_razorpays_webhook(
    tmp_path: Path,
) -> None:
    state, result = simulate(
        tmp_path,
        dashboard_refund("2026-02-05T12:00:00Z", 10000),
        dashboard_refund("2026-02-06T12:00:00Z"),  # what is left
    )

    assert result.rejected == []
    refunded = invoice(state)
    assert (refunded["amount_refunded"], refunded["refund_status"]) == (49900, "full")
    told = [e["data"] for e in events(tmp_path, "InvoiceRefunded")]
    assert [(d["provider"], d["amount_refunded"]) for d in told] == [
        ("razorpay", 10000),
        ("razorpay", 49900),
    ]
    assert state["refunds"] == []  # made at the provider, not by Tenure
    assert result.webhooks["razorpay"]["refused"] == []
    assert result.webhooks["delivered"] == {}  # nothing went the Stripe-shaped way


def test_a_dashboard_refund_of_more_than_is_left_is_refused_by_razorpay(tmp_path: Path) -> None:
    state, result = simulate(tmp_path, dashboard_refund("2026-02-05T12:00:00Z", 99999))

    [refused] = result.rejected
    assert (refused["where"], refused["status"]) == ("actions[1]", 402)
    assert refused["response"]["error"] == "refused_by_provider"
    assert "exceeds" in refused["response"]["message"]
    assert invoice(state)["amount_refunded"] == 0 and state["refunds"] == []


def test_a_dispute_at_razorpay_lost_makes_the_invoice_uncollectible(tmp_path: Path) -> None:
    state, result = simulate(
        tmp_path, dispute("2026-02-05T12:00:00Z", "lost", "2026-02-20T12:00:00Z")
    )

    assert result.rejected == []
    disputed = invoice(state)
    assert (disputed["dispute_status"], disputed["status"]) == ("lost", "uncollectible")
    [opened] = events(tmp_path, "InvoiceDisputed")
    assert opened["data"]["provider_event_type"] == "payment.dispute.created"
    [closed] = events(tmp_path, "InvoiceDisputeClosed")
    assert closed["data"]["provider_event_type"] == "payment.dispute.lost"
    assert closed["occurred_at"] == "2026-02-20T12:00:00Z"
    assert result.webhooks["razorpay"]["refused"] == []


def test_a_dispute_at_razorpay_won_leaves_the_invoice_paid(tmp_path: Path) -> None:
    state, result = simulate(
        tmp_path, dispute("2026-02-05T12:00:00Z", "won", "2026-02-20T12:00:00Z")
    )

    assert result.rejected == []
    assert (invoice(state)["dispute_status"], invoice(state)["status"]) == ("won", "paid")


def test_a_second_dispute_of_the_same_payment_is_refused_by_razorpay(tmp_path: Path) -> None:
    _, result = simulate(
        tmp_path,
        dispute("2026-02-05T12:00:00Z", "won", "2026-02-20T12:00:00Z"),
        dispute("2026-02-06T12:00:00Z", "lost", "2026-02-21T12:00:00Z"),
    )

    [refused] = result.rejected
    assert (refused["where"], refused["status"]) == ("actions[2]", 402)
    assert "already disputed" in refused["response"]["message"]


def test_a_card_update_of_a_razorpay_customer_is_refused_at_load() -> None:
    updated = {"at": "2026-02-05T12:00:00Z", "do": "card_auto_updated", "customer": "asha",
               "card": "4242424242424242"}  # fmt: skip
    assert problems(scenario(updated)) == [
        (
            "actions[1].customer",
            "customer 'asha' pays through Razorpay, whose tokens the card network's updater "
            "of the default provider (`card_auto_updated`) does not reach; expected a "
            "customer of the default provider",
        )
    ]
