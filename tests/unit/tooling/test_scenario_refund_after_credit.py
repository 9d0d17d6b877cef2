"""A scenario that refunds a period after its unused time was credited (a downgrade), and
cancels a paused subscription with the refund policy, through the public contract (the file,
`tenure simulate`, state.json, metrics.json, `tenure charges audit`): the same unused time
is never both refunded and credited, and the pause's credit goes back as money."""

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
programs:
  refunds: {window_days: 1, after_window: prorated}
customers:
  - {id: d, email: d@example.com, card: "4242424242424242"}
  - {id: e, email: e@example.com, card: "4242424242424242"}
  - {id: f, email: f@example.com, card: "4242424242424242"}
actions:
  - {at: 2028-01-01T00:00:00Z, do: subscribe, customer: d, plan: m, id: s-d}
  - {at: 2028-01-01T00:00:00Z, do: subscribe, customer: e, plan: m, id: s-e}
  - {at: 2028-01-01T00:00:00Z, do: subscribe, customer: f, plan: m, id: s-f}
  # d: downgraded on day 2 (credit), then refunded by the policy on day 4
  - {at: 2028-01-03T00:00:00Z, do: change_plan, subscription: s-d, plan: small}
  - {at: 2028-01-05T00:00:00Z, do: refund, subscription: s-d, period_start: 2028-01-01T00:00:00Z}
  # e: paused on day 2, canceled on day 19 with the policy's refund
  - {at: 2028-01-03T00:00:00Z, do: pause, subscription: s-e}
  - {at: 2028-01-20T00:00:00Z, do: cancel, subscription: s-e, refund: policy}
  # f: downgraded on day 2, then 2000 refunded in the provider's dashboard (its webhook)
  - {at: 2028-01-03T00:00:00Z, do: change_plan, subscription: s-f, plan: small}
  - {at: 2028-01-05T00:00:00Z, do: provider_refund, subscription: s-f,
     period_start: 2028-01-01T00:00:00Z, amount: 2000}
"""

# Day 2 of a 31-day period: 29 days unused, of m (3000) and of small (1000).
UNUSED_M = round(3000 * 29 / 31)
REMAINING_SMALL = round(1000 * 29 / 31)


def simulate(tmp_path: Path) -> Path:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    out = tmp_path / "out"
    args = ["simulate", str(tmp_path / "s.yaml"), "--engine", "memory", "--out", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    return out


def test_no_unused_time_is_refunded_after_it_was_credited(tmp_path: Path) -> None:
    out = simulate(tmp_path)
    found: dict[str, Any] = json.loads((out / "state.json").read_text())
    subs = {s["id"]: s for s in found["subscriptions"]}
    refunded = {r["invoice"]: r["amount"] for r in found["refunds"]}
    invoices = {i["id"]: i for i in found["invoices"]}

    # d: the policy's prorated share (27 of 31 days) less the unused time that paid the small
    # plan's 29 days at once; that much of the downgrade's credit goes with the refund, and
    # February's renewal takes the rest.
    share = round(3000 * 27 / 31)
    assert refunded["in_s-d_first_20280101T000000Z"] == share - REMAINING_SMALL
    left = UNUSED_M - REMAINING_SMALL - (share - REMAINING_SMALL)
    assert subs["s-d"]["credit"] == 0 and left > 0
    assert invoices["in_s-d_renewal_20280201T000000Z"]["total"] == 1000 - left

    # e: canceled while paused, the policy gives back the unused share at the pause, which
    # was the pause's credit: refunded, and no longer held.
    assert refunded["in_s-e_first_20280101T000000Z"] == UNUSED_M
    assert subs["s-e"]["credit"] == 0 and subs["s-e"]["status"] == "canceled"

    # f: the dashboard's refund is more than the downgrade's credit: all of it is taken back.
    assert invoices["in_s-f_first_20280101T000000Z"]["amount_refunded"] == 2000
    assert subs["s-f"]["credit"] == 0
    assert invoices["in_s-f_renewal_20280201T000000Z"]["total"] == 1000

    # The figures agree with the state, and the charges audit is clean.
    metrics = json.loads((out / "metrics.json").read_text())
    amounts = sum(i["amount_refunded"] for i in invoices.values())
    assert sum(m["refunded"] for m in metrics["monthly"]) == amounts
    audit = CliRunner().invoke(app, ["charges", "audit", str(out), "--json"])
    assert audit.exit_code == 0, audit.output
