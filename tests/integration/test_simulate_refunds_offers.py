"""examples/refunds-offers.yaml through `tenure simulate` on DynamoDB Local: refunds by the
policy and by amount, save offers accepted and declined, and what state.json, the events,
the metrics and the outbox show of them."""

import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "refunds-offers.yaml"


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("refunds-offers")
    result = Simulator(load(EXAMPLE), out, measure_raw_speed=False, stack=local_stack).run()
    (out / "rejected.json").write_text(json.dumps(result.rejected))
    return out


def state(out: Path) -> dict[str, Any]:
    return json.loads((out / "state.json").read_text())


def test_refunds_are_listed_with_the_policy_that_set_their_amount(run: Path) -> None:
    made = {r["subscription"]: (r["amount"], r["policy"]) for r in state(run)["refunds"]}
    # Eve: 1000 paid for March 4 - April 4 (31 days), 11 days left on March 24.
    assert made == {
        "sub-alice": (500, "partial"),
        "sub-boris": (3000, "full"),
        "sub-eve": (355, "prorated"),
    }


def test_each_refunded_invoice_shows_what_went_back(run: Path) -> None:
    refunded = {i["id"]: i["amount_refunded"] for i in state(run)["invoices"]}
    assert refunded["in_sub-alice_first_20260131T090000Z"] == 500
    assert refunded["in_sub-boris_renewal_20260301T100000Z"] == 3000


def test_a_refund_over_what_is_left_is_refused_and_named(run: Path) -> None:
    [refused] = json.loads((run / "rejected.json").read_text())
    assert refused["where"] == "actions[10]" and refused["status"] == 422


def test_customers_who_accepted_an_offer_stay_and_the_others_leave(run: Path) -> None:
    subs = {s["id"]: (s["status"], s["plan"]) for s in state(run)["subscriptions"]}
    assert subs["sub-layla"] == ("active", "pro")
    assert subs["sub-dan"] == ("active", "basic")
    assert subs["sub-boris"][0] == subs["sub-eve"][0] == "canceled"
    layla = [i for i in state(run)["invoices"] if i["subscription"] == "sub-layla"]
    assert [ln["amount"] for ln in layla[-1]["lines"] if ln["kind"] == "coupon"] == [-1500]


def test_every_offer_presented_accepted_or_declined_is_an_event(run: Path) -> None:
    lines = (run / "events.jsonl").read_text().splitlines()
    kinds = [json.loads(line)["type"] for line in lines]
    assert kinds.count("SaveOffersPresented") == 4
    assert kinds.count("SaveOfferAccepted") == 2
    assert kinds.count("SaveOffersDeclined") == 2


def test_the_monthly_metrics_count_refunds_requests_and_saves(run: Path) -> None:
    doc = json.loads((run / "metrics.json").read_text())
    march = next(m for m in doc["monthly"] if m["month"] == "2026-03")
    assert (march["refunded"], march["cancellations_requested"], march["saved_by_offer"]) == (
        3355,
        4,
        2,
    )


def test_the_refund_receipt_is_dated_by_the_refund(run: Path) -> None:
    [path] = sorted((run / "outbox").glob("*-eve-refund_receipt.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "$3.55" in text and "March 24, 2026" in text
