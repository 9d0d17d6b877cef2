"""examples/razorpay.yaml through `tenure simulate`: Razorpay customers charged through the
Razorpay sandbox, every Razorpay webhook delivered to the real handler and accepted, the
decline recovered and the refund recorded, beside a customer of the default provider."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.charges_audit import audit, load
from tenure_local.simulator.engines import MemoryEngine
from tenure_local.simulator.scenario import load as load_scenario
from tenure_local.simulator.simulate import SimulationResult, Simulator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], SimulationResult, Path]:
    out = tmp_path_factory.mktemp("razorpay")
    scenario = load_scenario(REPO / "examples" / "razorpay.yaml")
    result = Simulator(scenario, out, measure_raw_speed=False, engine=MemoryEngine()).run()
    return json.loads((out / "state.json").read_text()), result, out


def test_every_razorpay_webhook_is_delivered_and_accepted(run: Any) -> None:
    _, result, _ = run
    razorpay = result.webhooks["razorpay"]
    assert set(razorpay["delivered"]) == {"200"} and razorpay["delivered"]["200"] >= 10
    assert razorpay["refused"] == []
    assert result.rejected == []


def test_razorpay_customers_pay_with_their_tokens_and_the_default_one_with_its_card(
    run: Any,
) -> None:
    state, _, _ = run
    customers = {c["id"]: c for c in state["customers"]}
    assert customers["asha"]["provider"] == "razorpay"
    assert customers["asha"]["default_payment_method"] == "token_upi_success"
    assert "provider" not in customers["kabir"]
    assert customers["kabir"]["default_payment_method"] == "pm_card_visa"
    assert all(i["status"] == "paid" for i in state["invoices"])


def test_the_declined_renewal_is_recovered_by_a_new_mandate_and_the_refund_recorded(
    run: Any,
) -> None:
    state, _, _ = run
    invoices = {i["id"]: i for i in state["invoices"]}
    priya = invoices["in_sub-priya_renewal_20260302T080000Z"]
    assert (priya["status"], priya["attempts"]) == ("paid", 3)
    arjun = invoices["in_sub-arjun_first_20260201T100000Z"]
    assert arjun["amount_refunded"] == 10000


def test_the_charges_audit_is_clean(run: Any) -> None:
    _, _, out = run
    report = audit(*load(out))
    assert report.ok, report.to_dict()
