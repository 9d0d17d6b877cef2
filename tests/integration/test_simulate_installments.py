"""examples/installments.yaml through `tenure simulate` on the memory engine (fast; the engines
agree byte for byte, see test_engines_agree): state.json's installment_plans show a plan paid
on time, one whose 2nd instalment failed and was paid after a card update, and one that
defaulted with its later instalments canceled. An `installments` action the API refuses is
reported like any refused action and leaves nothing behind."""

import json
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.engines import engine_named
from tenure_local.simulator.scenario import Scenario, load
from tenure_local.simulator.scenario_installments import Installments
from tenure_local.simulator.simulate import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "installments.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("installments")
    Simulator(load(EXAMPLE), out, measure_raw_speed=False, engine=engine_named("memory")).run()
    return out


@pytest.fixture(scope="module")
def state(run: Path) -> dict[str, Any]:
    return dict(json.loads((run / "state.json").read_text()))


def test_metrics_count_what_the_paid_instalments_brought_in_per_currency(
    run: Path, state: dict[str, Any]
) -> None:
    doc = json.loads((run / "metrics.json").read_text())
    books = {doc["currency"]: doc["monthly"]} | {
        c: book["monthly"] for c, book in doc["other_currencies"].items()
    }
    for currency, monthly in books.items():
        paid = [
            i["amount"]
            for p in state["installment_plans"]
            if p["currency"] == currency
            for i in p["instalments"]
            if i["status"] == "paid"
        ]
        assert sum(m["installments_paid"] for m in monthly) == len(paid), currency
        assert sum(m["installments_collected"] for m in monthly) == sum(paid), currency


def test_a_failed_instalment_is_told_as_an_instalment(run: Path) -> None:
    failed = sorted((run / "outbox").glob("*-ben-payment_failed.eml"))
    assert len(failed) == 1
    text = failed[0].read_text()
    assert "Subject: We couldn't collect instalment 2 of 4 for Annual upgrade" in text
    assert "subscription" not in text.lower()


def plans(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in state["installment_plans"]}


def statuses(plan: dict[str, Any]) -> list[str]:
    return [i["status"] for i in plan["instalments"]]


def test_a_plan_paid_on_time_completes(state: dict[str, Any]) -> None:
    ana = plans(state)["ipl-ana"]
    assert (ana["customer"], ana["amount"], ana["currency"]) == ("ana", 120000, "USD")
    assert (ana["count"], ana["every"], ana["status"]) == (3, "month", "completed")
    assert [i["due_at"] for i in ana["instalments"]] == [
        "2026-01-10T10:00:00Z",
        "2026-02-10T10:00:00Z",
        "2026-03-10T10:00:00Z",
    ]
    assert statuses(ana) == ["paid"] * 3
    assert [i["invoice"] for i in ana["instalments"]] == [
        f"in_ipl-ana_installment_0{n}" for n in (1, 2, 3)
    ]


def test_the_plan_whose_second_instalment_failed_recovers_after_a_card_update(
    state: dict[str, Any],
) -> None:
    ben = plans(state)["ipl-ben"]
    assert ben["status"] == "completed"
    assert statuses(ben) == ["paid"] * 4
    assert [i["amount"] for i in ben["instalments"]] == [12000] * 4


def test_the_defaulted_plan_cancels_the_instalments_not_yet_due(state: dict[str, Any]) -> None:
    cleo = plans(state)["ipl-cleo"]
    assert cleo["status"] == "defaulted"
    assert statuses(cleo) == ["paid", "uncollectible", "canceled", "canceled"]
    assert [i["invoice"] for i in cleo["instalments"][2:]] == [None, None]


def test_the_remainder_of_the_division_goes_on_the_first_instalment(
    state: dict[str, Any],
) -> None:
    dmitri = plans(state)["ipl-dmitri"]
    assert [i["amount"] for i in dmitri["instalments"]] == [25003, 25000, 25000, 25000]
    assert dmitri["every"] == "two_weeks" and dmitri["status"] == "completed"


def test_an_installments_action_the_api_refuses_is_reported_and_changes_nothing(
    tmp_path: Path,
) -> None:
    # The file check refuses count 13 before the run (tests/unit/tooling); past it, the API's
    # own validation refuses it the same way the business's application would be refused.
    scenario = Scenario.model_validate(
        {
            "start": "2026-01-01T00:00:00Z",
            "until": "2026-02-01T00:00:00Z",
            "customers": [{"id": "ana", "email": "ana@example.com", "card": "4242424242424242"}],
        }
    )
    scenario.actions = [
        Installments.model_validate(
            {
                "at": "2026-01-02T00:00:00Z",
                "do": "installments",
                "customer": "ana",
                "id": "ipl-x",
                "amount": 1300,
                "currency": "USD",
                "count": 13,
                "every": "month",
            }
        )
    ]
    result = Simulator(
        scenario, tmp_path, measure_raw_speed=False, engine=engine_named("memory")
    ).run()
    assert [(r["where"], r["status"]) for r in result.rejected] == [("actions[0]", 422)]
    after = json.loads((tmp_path / "state.json").read_text())
    assert after["installment_plans"] == []
    assert after["invoices"] == [] and after["charges"] == []
    assert not list((tmp_path / "outbox").glob("*.eml"))
