"""examples/collections.yaml through `tenure simulate` on the memory engine (fast; the engines
agree byte for byte, see test_engines_agree): state.json's collection_cases show a case paid
off in 3 fortnightly instalments, one recovered after a card update, one written off, one
settled by a card given before any plan; a plan chosen without an open case is refused."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.engines import engine_named
from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "collections.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("collections")
    Simulator(load(EXAMPLE), folder, measure_raw_speed=False, engine=engine_named("memory")).run()
    return folder


@pytest.fixture(scope="module")
def state(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "state.json").read_text()))


def case_of(state: dict[str, Any], customer: str) -> dict[str, Any]:
    (case,) = [c for c in state["collection_cases"] if c["customer"] == customer]
    return case


def status_of(state: dict[str, Any], sub_id: str) -> str:
    (sub,) = [s for s in state["subscriptions"] if s["id"] == sub_id]
    return str(sub["status"])


def test_a_case_paid_off_in_3_fortnightly_instalments_ends_at_zero_and_active(
    state: dict[str, Any],
) -> None:
    ana = case_of(state, "ana")
    assert (ana["status"], ana["balance"], ana["recovered"]) == ("settled", 0, 2000)
    plan = ana["plan"]
    assert (plan["count"], plan["every"], plan["status"]) == (3, "two_weeks", "completed")
    assert [(i["due_at"], i["amount"], i["status"]) for i in plan["instalments"]] == [
        ("2026-02-22T10:00:00Z", 668, "paid"),
        ("2026-03-08T10:00:00Z", 666, "paid"),
        ("2026-03-22T10:00:00Z", 666, "paid"),
    ]
    assert status_of(state, "sub-ana") == "active"
    # ... its owed renewal written off into the case, and a new period charged from Mar 22
    invoices = {i["id"]: i for i in state["invoices"]}
    assert invoices[ana["lines"][0]["invoice"]]["status"] == "uncollectible"
    assert invoices["in_sub-ana_renewal_20260322T100000Z"]["status"] == "paid"


def test_a_failed_repayment_instalment_is_dunned_and_paid_after_a_card_update(
    state: dict[str, Any],
) -> None:
    ivan = case_of(state, "ivan")
    assert (ivan["status"], ivan["balance"]) == ("settled", 0)
    first = ivan["plan"]["instalments"][0]
    charges = [c for c in state["charges"] if c["invoice"] == first["invoice"]]
    assert [c["outcome"] for c in charges] == ["declined", "succeeded"]
    assert status_of(state, "sub-ivan") == "active"


def test_a_repayment_plan_that_defaults_writes_the_case_off(state: dict[str, Any]) -> None:
    omar = case_of(state, "omar")
    assert (omar["status"], omar["balance"], omar["recovered"]) == ("written_off", 2000, 0)
    assert [i["status"] for i in omar["plan"]["instalments"]] == ["uncollectible"] * 2
    assert status_of(state, "sub-omar") == "unpaid"


def test_a_card_given_before_any_plan_settles_the_case_and_a_later_plan_is_refused(
    state: dict[str, Any], out: Path
) -> None:
    bea = case_of(state, "bea")
    assert (bea["status"], bea["balance"], bea["plan"]) == ("settled", 0, None)
    report = (out / "report.html").read_text()
    assert "customer bea has no open collections case" in report


def test_metrics_and_the_report_show_what_collections_recovered_each_month(out: Path) -> None:
    metrics = json.loads((out / "metrics.json").read_text())
    recovered = {m["month"]: m["recovered_by_collections"] for m in metrics["monthly"]}
    # Bea's case settled in February by her new card; Ana's and Иван's in March; عمر's
    # case was written off having recovered nothing.
    assert recovered == {"2026-01": 0, "2026-02": 2000, "2026-03": 4000, "2026-04": 0}
    report = (out / "report.html").read_text()
    assert "<h2>Collections</h2>" in report and "$40.00" in report
