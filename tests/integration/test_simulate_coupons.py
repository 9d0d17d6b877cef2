"""examples/coupons.yaml through `tenure simulate` on DynamoDB Local: the covered invoices
carry their coupon lines and add up, state.json counts each coupon's redemptions, MRR and
metrics are net of the coupons, and the emails word the line in each customer's language."""

import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "coupons.yaml"


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("coupons")
    Simulator(load(EXAMPLE), out, measure_raw_speed=False, stack=local_stack).run()
    return out


def state(out: Path) -> dict[str, Any]:
    return json.loads((out / "state.json").read_text())


def coupon_taken(out: Path, sub: str) -> list[int]:
    return [
        -sum(ln["amount"] for ln in i["lines"] if ln["kind"] == "coupon")
        for i in state(out)["invoices"]
        if i["subscription"] == sub
    ]


def test_each_coupon_covers_the_invoices_its_duration_says(run: Path) -> None:
    assert coupon_taken(run, "sub-alice") == [500, 0, 0, 0, 0]  # once
    assert coupon_taken(run, "sub-boris") == [500, 500, 500, 0]  # repeating, 3
    assert coupon_taken(run, "sub-layla") == [500, 500, 500, 0]  # after the trial
    assert coupon_taken(run, "sub-dan") == [0, 200, 200, 200]  # applied mid-period: next on


def test_every_invoice_totals_its_lines(run: Path) -> None:
    for invoice in state(run)["invoices"]:
        assert invoice["total"] == sum(ln["amount"] for ln in invoice["lines"]), invoice["id"]


def test_state_counts_each_coupons_redemptions_and_the_refused_one_is_not_counted(
    run: Path,
) -> None:
    counted = {c["id"]: c["times_redeemed"] for c in state(run)["coupons"]}
    assert counted == {"five-off-3": 2, "half-once": 1, "loyal": 1}


def test_mrr_and_the_monthly_discounts_are_net_of_the_coupons(run: Path) -> None:
    mrr = {s["id"]: s["mrr"] for s in state(run)["subscriptions"]}
    assert mrr == {"sub-alice": 1000, "sub-boris": 2000, "sub-dan": 800, "sub-layla": 2000}
    metrics = json.loads((run / "metrics.json").read_text())
    assert {r["month"]: r["discounts"]["coupon"] for r in metrics["monthly"]} == {
        "2026-01": 500,
        "2026-02": 1000,
        "2026-03": 1200,
        "2026-04": 1200,
        "2026-05": 200,
        "2026-06": 0,
    }


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("20260131T140000Z-alice-receipt.eml", "Coupon Half off your first month: -$5.00"),
        ("20260201T110000Z-boris-receipt.eml", "Купон WELCOME5"),
        ("20260216T090000Z-layla-receipt.eml", "قسيمة WELCOME5"),
        ("20260228T120000Z-dan-upcoming_renewal.eml", "Coupon Loyal customer: -$2.00"),
    ],
)
def test_the_emails_show_the_coupon_line_in_the_customers_language(
    run: Path, name: str, words: str
) -> None:
    with (run / "outbox" / name).open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert words in body.get_content()
