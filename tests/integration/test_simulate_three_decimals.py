"""tests/fixtures/scenarios/three-decimals.yaml through `tenure simulate`: KWD plans with
exclusive and inclusive tax, a percentage coupon, seat increases and a plan change prorated to
the second, and a refund policy's prorated share. Stripe (the simulated provider too) takes
KWD only when the last decimal is 0: every amount Tenure computed used to end anywhere
(1.075 of tax, 2.128 of proration), was declined as invalid_amount at every try, and the
subscriptions ended canceled or unpaid. Now every charge succeeds and the audit is clean, on
both engines (the DynamoDB Local one in test_engines_agree)."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.charges_audit import audit, load
from tenure_local.simulator.engines import engine_named
from tenure_local.simulator.scenario import load as load_scenario
from tenure_local.simulator.simulate import Simulator

SCENARIO = (
    Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "scenarios" / "three-decimals.yaml"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("three-decimals")
    Simulator(
        load_scenario(SCENARIO), out, measure_raw_speed=False, engine=engine_named("memory")
    ).run()
    return out


@pytest.fixture(scope="module")
def state(run: Path) -> dict[str, Any]:
    return dict(json.loads((run / "state.json").read_text()))


def test_every_invoice_is_paid_at_its_first_try_and_the_audit_is_clean(
    run: Path, state: dict[str, Any]
) -> None:
    report = audit(*load(run))
    assert report.ok, report.to_dict()
    assert report.invoices == report.succeeded == report.charges
    assert {i["status"] for i in state["invoices"]} == {"paid"}
    assert {s["status"] for s in state["subscriptions"]} <= {"active", "canceled"}
    assert [s["id"] for s in state["subscriptions"] if s["status"] == "canceled"] == ["sub-eve"]


def test_every_computed_line_charge_and_refund_ends_in_0_and_lines_sum_to_totals(
    state: dict[str, Any],
) -> None:
    kinds = {line["kind"] for i in state["invoices"] for line in i["lines"]}
    assert {"tax", "coupon", "proration"} <= kinds  # the scenario computes each of them
    for invoice in state["invoices"]:
        amounts = [line["amount"] for line in invoice["lines"]]
        assert all(a % 10 == 0 for a in amounts), invoice
        assert invoice["total"] == sum(amounts), invoice
    assert all(c["amount"] % 10 == 0 for c in state["charges"])
    [refund] = state["refunds"]
    assert refund["policy"] == "prorated" and refund["amount"] > 0 and refund["amount"] % 10 == 0
