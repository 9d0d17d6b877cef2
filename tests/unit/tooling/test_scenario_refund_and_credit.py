"""A scenario that refunds a period and also pauses or changes plan in it, through the
public contract (the file, `tenure simulate`, state.json): the customer never gets the same
unused time back twice, as a refund and as credit."""

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tenure_local.cli.main import app

SCENARIO = """\
start: 2028-01-01T00:00:00Z
until: 2028-02-15T00:00:00Z
plans:
  - {id: m, amount: 3000, currency: EUR, interval: month}
  - {id: small, amount: 1000, currency: EUR, interval: month}
customers:
  - {id: a, email: a@example.com, card: "4242424242424242"}
  - {id: b, email: b@example.com, card: "4242424242424242"}
  - {id: c, email: c@example.com, card: "4242424242424242"}
actions:
  - {at: 2028-01-01T00:00:00Z, do: subscribe, customer: a, plan: m, id: s-a}
  - {at: 2028-01-01T00:00:00Z, do: subscribe, customer: b, plan: m, id: s-b}
  - {at: 2028-01-01T00:00:00Z, do: subscribe, customer: c, plan: m, id: s-c}
  # a: refunded in full, then paused and resumed: the resume invoice takes no credit
  - {at: 2028-01-02T00:00:00Z, do: refund, subscription: s-a, period_start: 2028-01-01T00:00:00Z}
  - {at: 2028-01-03T00:00:00Z, do: pause, subscription: s-a, until: 2028-02-01T00:00:00Z}
  # b: paused, then 2000 refunded: the resume invoice takes the credit less 2000
  - {at: 2028-01-03T00:00:00Z, do: pause, subscription: s-b, until: 2028-02-01T00:00:00Z}
  - {at: 2028-01-04T00:00:00Z, do: refund, subscription: s-b, period_start: 2028-01-01T00:00:00Z,
     amount: 2000}
  # c: refunded in full, then downgraded: nothing is credited for the unused time
  - {at: 2028-01-02T00:00:00Z, do: refund, subscription: s-c, period_start: 2028-01-01T00:00:00Z}
  - {at: 2028-01-03T00:00:00Z, do: change_plan, subscription: s-c, plan: small}
"""


def state(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    out = tmp_path / "out"
    args = ["simulate", str(tmp_path / "s.yaml"), "--engine", "memory", "--out", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    found: dict[str, Any] = json.loads((out / "state.json").read_text())
    return found


def credited(invoice: dict[str, Any]) -> int:
    return -sum(line["amount"] for line in invoice["lines"] if line["kind"] == "credit")


def test_no_unused_time_is_both_refunded_and_credited(tmp_path: Path) -> None:
    found = state(tmp_path)
    invoices = {i["id"]: i for i in found["invoices"]}
    subs = {s["id"]: s for s in found["subscriptions"]}
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").open()]
    paused = {
        e["entity_id"]: e["data"]["credit"] for e in events if e["type"] == "SubscriptionPaused"
    }

    resumed_a = invoices["in_s-a_renewal_20280201T000000Z"]
    assert credited(resumed_a) == 0 and resumed_a["total"] == 3000

    resumed_b = invoices["in_s-b_renewal_20280201T000000Z"]
    assert credited(resumed_b) == paused["s-b"] - 2000

    # c had the whole month back: nothing of it is unused time to give back, so the rest of
    # the month on the smaller plan is charged, and nothing carried to February.
    [proration] = [i for i in found["invoices"] if i["id"].startswith("in_s-c_proration")]
    unused, remaining = (line["amount"] for line in proration["lines"])
    assert unused == 0 and proration["total"] == remaining > 0
    assert subs["s-c"]["credit"] == 0
    renewal_c = invoices["in_s-c_renewal_20280201T000000Z"]
    assert credited(renewal_c) == 0 and renewal_c["total"] == 1000
