"""`tenure charges audit`: the billing rules checked on a simulation's output."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.charges_audit import AuditInputError, audit, load


def invoice(
    id: str, *, paid_at: str | None, total: int = 1000, attempts: int = 0
) -> dict[str, Any]:
    return {
        "id": id,
        "customer": "c1",
        "subscription": "s1",
        "total": total,
        "currency": "USD",
        "status": "paid" if paid_at else "open",
        "paid_at": paid_at,
        "attempts": attempts,
    }


def charge(
    invoice_id: str,
    attempt: int,
    outcome: str,
    at: str,
    code: str | None = None,
    amount: int = 1000,
    calls: int = 1,
) -> dict[str, Any]:
    return {
        "id": f"ch_{invoice_id}_{attempt}",
        "calls": calls,
        "invoice": invoice_id,
        "customer": "c1",
        "idempotency_key": f"charge:{invoice_id}:{attempt}",
        "amount": amount,
        "currency": "USD",
        "outcome": outcome,
        "decline_code": code,
        "at": at,
    }


def card_change(at: str, kind: str = "DefaultPaymentMethodChanged") -> dict[str, Any]:
    return {"type": kind, "customer_id": "c1", "occurred_at": at, "data": {}}


def rules(state: dict[str, Any], events: list[dict[str, Any]] | None = None) -> list[str]:
    return [f.rule for f in audit(state, events or []).findings]


def test_a_recovered_dunning_story_passes_and_is_counted() -> None:
    state = {
        "invoices": [invoice("in1", paid_at="2026-02-10T09:00:00Z", attempts=3)],
        "charges": [
            charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds"),
            charge("in1", 2, "declined", "2026-02-04T14:00:00Z", "stolen_card"),
            charge("in1", 3, "succeeded", "2026-02-10T09:00:00Z"),
        ],
    }
    result = audit(state, [card_change("2026-02-10T09:00:00Z")])
    assert result.ok, result.findings
    assert (result.soft_declines, result.hard_declines, result.succeeded) == (1, 1, 1)
    assert (result.recovered, result.recovered_after_card_change) == (1, 1)


def test_provider_calls_are_counted_per_attempt_and_per_successful_charge() -> None:
    state = {
        "invoices": [
            invoice("in1", paid_at="2026-02-04T09:00:00Z", attempts=2),
            invoice("in2", paid_at="2026-02-01T09:00:00Z", attempts=1),
        ],
        "charges": [
            charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds"),
            charge("in1", 2, "succeeded", "2026-02-04T09:00:00Z", calls=3),  # reconciled
            charge("in2", 1, "succeeded", "2026-02-01T09:00:00Z"),
        ],
    }
    result = audit(state, [])
    assert (result.provider_calls, result.provider_calls_succeeded) == (5, 4)
    assert result.to_dict()["calls_per_attempt"] == round(5 / 3, 4)
    assert result.to_dict()["calls_per_successful_charge"] == 2.0


def test_an_output_without_calls_counts_none_and_divides_by_nothing() -> None:
    bare = charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds")
    del bare["calls"]
    state = {"invoices": [invoice("in1", paid_at=None, attempts=1)], "charges": [bare]}
    result = audit(state, [])
    assert (result.provider_calls, result.calls_per_successful_charge) == (0, 0.0)


def test_two_succeeded_charges_on_one_invoice_are_found() -> None:
    state = {
        "invoices": [invoice("in1", paid_at="2026-02-01T09:00:00Z", attempts=2)],
        "charges": [
            charge("in1", 1, "succeeded", "2026-02-01T09:00:00Z"),
            charge("in1", 2, "succeeded", "2026-02-01T09:05:00Z"),
        ],
    }
    assert rules(state) == ["exactly once"]


def test_a_paid_invoice_without_a_succeeded_charge_is_found_unless_nothing_was_due() -> None:
    state = {
        "invoices": [
            invoice("in1", paid_at="2026-02-01T09:00:00Z"),
            invoice("in2", paid_at="2026-02-01T09:00:00Z", total=0),
        ],
        "charges": [],
    }
    findings = audit(state, []).findings
    assert [(f.rule, f.subject) for f in findings] == [("exactly once", "in1")]


def test_a_succeeded_charge_on_an_unpaid_invoice_is_found() -> None:
    state = {
        "invoices": [invoice("in1", paid_at=None, attempts=1)],
        "charges": [charge("in1", 1, "succeeded", "2026-02-01T09:00:00Z")],
    }
    assert rules(state) == ["exactly once"]


def test_a_charge_for_another_amount_than_the_invoice_is_found() -> None:
    state = {
        "invoices": [invoice("in1", paid_at="2026-02-01T09:00:00Z", attempts=1)],
        "charges": [charge("in1", 1, "succeeded", "2026-02-01T09:00:00Z", amount=999)],
    }
    assert rules(state) == ["exactly once"]


def test_a_reused_idempotency_key_and_a_charge_of_no_invoice_are_found() -> None:
    first = charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds")
    again = first | {"id": "ch_other"}
    state = {"invoices": [invoice("in1", paid_at=None, attempts=1)], "charges": [first, again]}
    assert "exactly once" in rules(state)
    orphan = {"invoices": [], "charges": [charge("in9", 1, "succeeded", "2026-02-01T09:00:00Z")]}
    assert rules(orphan) == ["exactly once"]


@pytest.mark.parametrize(
    ("outcome", "code"),
    [("declined", "stolen_card"), ("declined", "expired_card"), ("authentication_required", None)],
)
def test_a_retry_on_the_same_card_after_a_hard_decline_is_found(
    outcome: str, code: str | None
) -> None:
    state = {
        "invoices": [invoice("in1", paid_at=None, attempts=2)],
        "charges": [
            charge("in1", 1, outcome, "2026-02-01T09:00:00Z", code),
            charge("in1", 2, "declined", "2026-02-04T14:00:00Z", code or "card_declined"),
        ],
    }
    assert rules(state) == ["no blind retry"]
    # A card changed before the retry (even at the same moment): no finding.
    for kind in ("PaymentMethodAttached", "DefaultPaymentMethodChanged", "PaymentMethodUpdated"):
        assert rules(state, [card_change("2026-02-04T14:00:00Z", kind)]) == []
    # A change before the decline does not count.
    assert rules(state, [card_change("2026-01-31T09:00:00Z")]) == ["no blind retry"]


def test_soft_declines_may_be_retried_on_the_same_card() -> None:
    state = {
        "invoices": [invoice("in1", paid_at=None, attempts=2)],
        "charges": [
            charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds"),
            charge("in1", 2, "declined", "2026-02-04T14:00:00Z", "insufficient_funds"),
        ],
    }
    assert rules(state) == []


def test_gaps_in_attempt_numbers_and_an_undercounted_invoice_are_found() -> None:
    gap = {
        "invoices": [invoice("in1", paid_at=None, attempts=3)],
        "charges": [
            charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds"),
            charge("in1", 3, "declined", "2026-02-04T14:00:00Z", "insufficient_funds"),
        ],
    }
    assert rules(gap) == ["attempt numbers"]
    under = {
        "invoices": [invoice("in1", paid_at=None, attempts=1)],
        "charges": [
            charge("in1", 1, "declined", "2026-02-01T09:00:00Z", "insufficient_funds"),
            charge("in1", 2, "declined", "2026-02-04T14:00:00Z", "insufficient_funds"),
        ],
    }
    assert rules(under) == ["attempt numbers"]


def write_output(folder: Path, state: dict[str, Any], events: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").write_text(json.dumps(state))
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


def test_the_command_exits_1_with_the_findings_and_0_when_clean(tmp_path: Path) -> None:
    bad = write_output(
        tmp_path / "bad",
        {
            "invoices": [invoice("in1", paid_at="2026-02-01T09:00:00Z", attempts=2)],
            "charges": [
                charge("in1", 1, "succeeded", "2026-02-01T09:00:00Z"),
                charge("in1", 2, "succeeded", "2026-02-01T10:00:00Z"),
            ],
        },
        [],
    )
    result = CliRunner().invoke(app, ["charges", "audit", str(bad)])
    assert result.exit_code == 1
    assert "exactly once" in result.output and "in1" in result.output
    good = write_output(
        tmp_path / "good",
        {
            "invoices": [invoice("in1", paid_at="2026-02-01T09:00:00Z", attempts=1)],
            "charges": [charge("in1", 1, "succeeded", "2026-02-01T09:00:00Z")],
        },
        [],
    )
    result = CliRunner().invoke(app, ["charges", "audit", str(good), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["succeeded"] == 1 and figures["findings"] == []


def test_a_folder_that_is_not_a_simulation_output_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["charges", "audit", str(tmp_path)])
    assert result.exit_code == 2
    assert "state.json not found" in " ".join(result.output.split())
    (tmp_path / "state.json").write_text("{not json")
    (tmp_path / "events.jsonl").write_text("")
    with pytest.raises(AuditInputError, match="not JSON"):
        load(tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"invoices": {}}))
    with pytest.raises(AuditInputError, match="no `invoices` and `charges` lists"):
        load(tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"invoices": [], "charges": []}))
    (tmp_path / "events.jsonl").write_text("{}\nnope\n")
    with pytest.raises(AuditInputError, match="line 2 is not JSON"):
        load(tmp_path)
    (tmp_path / "events.jsonl").write_text("")
    (tmp_path / "state.json").write_text(json.dumps({"invoices": [{"id": "x"}], "charges": []}))
    result = CliRunner().invoke(app, ["charges", "audit", str(tmp_path)])
    assert result.exit_code == 2
    assert "not in the shape" in " ".join(result.output.split())


def registration(status: str) -> dict[str, Any]:
    return {
        "id": "ch_mnd_pay_1",
        "calls": 0,
        "invoice": None,
        "customer": "c1",
        "purpose": "mandate_registration",
        "idempotency_key": "refund:mandate:pay_1",
        "amount": 100,
        "currency": "INR",
        "outcome": "succeeded",
        "decline_code": None,
        "at": "2026-02-10T09:00:00Z",
        "refund": {"status": status},
    }


@pytest.mark.parametrize("status", ["owed", "refunded"])
def test_a_mandate_registration_is_no_invoices_charge_and_passes_while_given_back(
    status: str,
) -> None:
    state = {"invoices": [], "charges": [registration(status)]}
    result = audit(state, [])
    assert result.ok, result.findings
    assert (result.charges, result.succeeded) == (0, 0)  # not a charge of any invoice


def test_a_mandate_registration_whose_refund_was_refused_is_found() -> None:
    state = {"invoices": [], "charges": [registration("refused")]}
    assert rules(state) == ["registrations refunded"]
