"""examples/programs.yaml through `tenure simulate` on DynamoDB Local: the tenure ladder's
line on the invoices continuity earned, shifted by a pause, lost to unpaid, combined with
coupons by the larger-wins rule; the step announced once, in each customer's language."""

import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "programs.yaml"


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("programs")
    Simulator(load(EXAMPLE), out, measure_raw_speed=False, stack=local_stack).run()
    return out


def state(out: Path) -> dict[str, Any]:
    return json.loads((out / "state.json").read_text())


def taken(out: Path, sub: str, kind: str) -> list[int]:
    return [
        -sum(ln["amount"] for ln in i["lines"] if ln["kind"] == kind)
        for i in state(out)["invoices"]
        if i["subscription"] == sub
    ]


def test_the_thirteenth_monthly_invoice_is_the_first_with_the_tenure_line(run: Path) -> None:
    assert taken(run, "sub-alice", "tenure_discount") == [0] * 12 + [50, 50]


def test_a_pause_of_a_month_pushes_the_step_back_a_month(run: Path) -> None:
    starts = [
        (i["period_start"][:10], i["lines"])
        for i in state(run)["invoices"]
        if i["subscription"] == "sub-boris"
    ]
    with_line = [s for s, lines in starts if any(ln["kind"] == "tenure_discount" for ln in lines)]
    # 12 months from 2026-01-31 plus the 31 days paused is 2027-03-03: the period of
    # 2027-02-10 is not discounted, the one of 2027-03-10 is.
    assert with_line == ["2027-03-10"]


def test_going_unpaid_loses_continuity(run: Path) -> None:
    assert set(taken(run, "sub-dan", "tenure_discount")) == {0}


def test_the_larger_of_a_coupon_and_the_tenure_discount_wins(run: Path) -> None:
    assert taken(run, "sub-layla", "coupon")[-3:] == [30, 0, 0]  # 3 % lost to the 5 %
    assert taken(run, "sub-layla", "tenure_discount")[-3:] == [0, 50, 50]
    assert taken(run, "sub-erin", "coupon")[-3:] == [80, 80, 80]  # 8 % beat the 5 %
    assert set(taken(run, "sub-erin", "tenure_discount")) == {0}


def test_every_invoice_totals_its_lines(run: Path) -> None:
    for invoice in state(run)["invoices"]:
        assert invoice["total"] == sum(ln["amount"] for ln in invoice["lines"]), invoice["id"]


ANNOUNCED = ("staying with us for 12 months", "ваш стаж подписки — 12 мес.", "معنا 12 شهرًا")


def announcements(out: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((out / "outbox").glob("*upcoming_renewal.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        if any(words in text for words in ANNOUNCED):
            found.setdefault(path.name.split("-")[1], []).append(path.name[:8])
    return found


def test_the_step_is_announced_once_before_the_renewal_that_applies_it(run: Path) -> None:
    assert announcements(run) == {
        "alice": ["20270128"],
        "boris": ["20270307"],
        "layla": ["20270128"],
    }


def test_the_monthly_metrics_count_what_the_tenure_discount_took_off(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    by_month = {row["month"]: row["discounts"]["tenure"] for row in metrics["monthly"]}
    assert by_month["2026-12"] == 0
    assert by_month["2027-01"] == 100  # alice's and layla's renewals of 31 January
    assert by_month["2027-02"] == 100  # theirs of 28 February
    assert by_month["2027-03"] == 50  # boris's of 10 March (the run ends on the 20th)


def test_redeemed_points_credit_the_next_invoice_never_below_zero(run: Path) -> None:
    credited = taken(run, "sub-alice", "points_credit")
    # Redeemed on 10 April and 5 October: the invoices of 30 April and 31 October.
    assert credited[3] == 500 and credited[9] == 1000
    assert sum(credited) == 1500
    assert [i["total"] for i in state(run)["invoices"] if i["subscription"] == "sub-alice"][9] == 0


def test_state_json_shows_each_customers_points_and_history(run: Path) -> None:
    alice = state(run)["points"]["alice"]
    kinds = [(e["kind"], e["points"]) for e in alice["entries"]]
    assert [p for k, p in kinds if k == "redeemed"] == [-25, -50]
    earned = sum(p for k, p in kinds if k == "earned")
    assert alice["balance"] == earned - 75 and alice["pending"] == 0
    assert set(state(run)["points"]) == {"alice", "boris", "dan", "erin", "layla"}


def test_redeeming_more_than_the_balance_is_refused_at_run_time(run: Path) -> None:
    boris = state(run)["points"]["boris"]
    assert not [e for e in boris["entries"] if e["kind"] == "redeemed"]


def test_the_monthly_metrics_count_points_earned_and_redeemed(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    rows = {row["month"]: row for row in metrics["monthly"]}
    assert rows["2026-04"]["points_redeemed"] == 25
    assert rows["2026-10"]["points_redeemed"] == 50
    earned = sum(row["points_earned"] for row in metrics["monthly"])
    entries = [e for p in state(run)["points"].values() for e in p["entries"]]
    assert earned == sum(e["points"] for e in entries if e["kind"] == "earned")


def test_a_refund_at_the_provider_takes_back_its_share_of_the_points(run: Path) -> None:
    erin = state(run)["points"]["erin"]["entries"]
    [reversal] = [e for e in erin if e["kind"] == "reversed"]
    assert reversal["points"] == -4  # 460 of 920 refunded: half of 9 points, rounded down
    [earned] = [e for e in erin if e["kind"] == "earned" and e["invoice"] == reversal["invoice"]]
    assert earned["points"] == 9
