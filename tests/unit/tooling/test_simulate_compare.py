"""`tenure simulate SCENARIO --compare OTHER` (issue 17 item 2): the same business replayed
under two policies on the memory engine, side by side; a file that cannot run stops it with
exit 2 before anything is written."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.whatif import ROWS, comparison, html_page, load_pair, table_rows

# Dan's card declines from late February; he gives a working one on 5 March, in time for
# the default policy's second retry (7 days after the 28 February failure).
SCENARIO = """\
start: 2026-01-31T09:00:00Z
until: 2026-04-15T00:00:00Z
plans:
  - {id: basic, amount: 1000, currency: USD, interval: month}
coupons:
  - {id: half-once, percent_off: 50, duration: once}
customers:
  - {id: alice, email: alice@example.com, card: "4242424242424242"}
  - {id: dan, email: dan@example.com, card: "4242424242424242"}
actions:
  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, id: sub-alice}
  - {at: 2026-01-31T10:00:00Z, do: subscribe, customer: dan, plan: basic, id: sub-dan}
  - {at: 2026-02-20T00:00:00Z, do: update_card, customer: dan, card: "4000000000000002"}
  - {at: 2026-03-05T00:00:00Z, do: update_card, customer: dan, card: "4242424242424242"}
"""
# One retry the next day, then cancel: Dan is gone before his new card arrives.
STRICT_DUNNING = "dunning: {retry_days: [1], final_action: canceled}\n"
TENURE_DISCOUNT = "programs:\n  tenure_discount: [{after_months: 1, percent_off: 10}]\n"


def run(
    tmp_path: Path, other: str, *extra: str, name: str = "other.yaml", scenario: str = SCENARIO
) -> Any:
    """`tenure simulate s.yaml --compare NAME` of `scenario` and the what-if `other`."""
    (tmp_path / "s.yaml").write_text(scenario)
    (tmp_path / name).write_text(other)
    return compare(tmp_path, name, *extra)


def compare(tmp_path: Path, name: str, *extra: str) -> Any:
    """`tenure simulate s.yaml --compare NAME --out out` of the files in `tmp_path`."""
    out = ["--out", str(tmp_path / "out")]
    command = ["simulate", str(tmp_path / "s.yaml"), "--compare", str(tmp_path / name)]
    return CliRunner().invoke(app, [*command, *out, *extra])


def monthly_total(folder: Path, key: str) -> int:
    return sum(m[key] for m in json.loads((folder / "metrics.json").read_text())["monthly"])


def test_the_figures_compared_are_the_two_runs_own_metrics(tmp_path: Path) -> None:
    done = run(tmp_path, STRICT_DUNNING)
    assert done.exit_code == 0, done.output
    out = tmp_path / "out"
    doc = json.loads((out / "compare.json").read_text())
    for name in ("a", "b"):
        metrics = json.loads((out / name / "metrics.json").read_text())
        got = doc[name]["figures"]
        assert got["currency"] == metrics["currency"] == "USD"
        assert got["mrr_end"] == metrics["monthly"][-1]["mrr_end"]
        assert got["customers_lost"] == monthly_total(out / name, "customers_lost")
        assert got["invoices_recovered"] == monthly_total(out / name, "invoices_recovered")
        assert got["revenue"] == monthly_total(out / name, "revenue")
        assert got["discounts_tenure"] == sum(m["discounts"]["tenure"] for m in metrics["monthly"])
        assert got["emails"] == len(list((out / name / "outbox").glob("*.eml")))
    for key, value in doc["difference"].items():
        assert value == doc["b"]["figures"][key] - doc["a"]["figures"][key]
    # The printed table says the same: the MRR row holds both runs' money and its change.
    mrr_row = next(line for line in done.stdout.splitlines() if line.startswith("MRR"))
    a_mrr, b_mrr = doc["a"]["figures"]["mrr_end"], doc["b"]["figures"]["mrr_end"]
    assert mrr_row.split()[-3:] == [
        f"${a_mrr / 100:,.2f}",
        f"${b_mrr / 100:,.2f}",
        f"−${(a_mrr - b_mrr) / 100:,.2f}",
    ]
    page = (out / "compare.html").read_text()
    assert f"${b_mrr / 100:,.2f}" in page and "other.yaml (programs file)" in page


def test_a_stricter_dunning_policy_loses_the_customer_the_default_one_recovers(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, STRICT_DUNNING)
    assert done.exit_code == 0, done.output
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    a, b = doc["a"]["figures"], doc["b"]["figures"]
    assert (a["invoices_failed"], a["invoices_recovered"], a["customers_lost"]) == (1, 1, 0)
    assert (b["invoices_failed"], b["invoices_recovered"], b["involuntary_churned"]) == (1, 0, 1)
    assert doc["difference"]["mrr_end"] == -1000


def test_a_tenure_discount_program_shows_as_discounts_given_and_less_revenue(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, TENURE_DISCOUNT)
    assert done.exit_code == 0, done.output
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert doc["a"]["figures"]["discounts_tenure"] == 0
    assert doc["b"]["figures"]["discounts_tenure"] > 0
    assert doc["difference"]["revenue"] == -doc["b"]["figures"]["discounts_tenure"]


def test_a_whole_second_scenario_over_the_same_span_is_compared_as_it_is(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, SCENARIO.replace("amount: 1000", "amount: 1500"), name="dear.yaml")
    assert done.exit_code == 0, done.output
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert doc["b"]["source"].endswith("dear.yaml (scenario)")
    assert doc["difference"]["mrr_end"] == 1000  # two customers, 5 dollars more each


def test_an_action_the_what_if_makes_impossible_is_told_and_counted(tmp_path: Path) -> None:
    # Under the strict policy Dan's subscription is canceled on 1 March: pausing it is refused.
    pause = "  - {at: 2026-03-10T00:00:00Z, do: pause, subscription: sub-dan}\n"
    done = run(tmp_path, STRICT_DUNNING, name="strict.yaml", scenario=SCENARIO + pause)
    assert done.exit_code == 0, done.output
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert (doc["a"]["refused_actions"], doc["b"]["refused_actions"]) == (0, 1)
    assert "b: refused by the API at 2026-03-10" in done.stderr


@pytest.mark.parametrize(
    ("other", "where", "says"),
    [
        (
            "programs: {tenure_discount: [{after_months: 0}]}\n",
            "other.yaml: line 1, programs.tenure_discount",
            "",
        ),
        ("dunning: {retry_days: [7, 3]}\n", "other.yaml: line 1, dunning", "must grow"),
        ("programz: {}\n", "other.yaml: line 1, programz", "not a block a programs file"),
        ("", "other.yaml: the file is empty", ""),
        ("programs: [1\n", "other.yaml: line 2", "not valid YAML"),
        # The coupon an action of the scenario redeems is gone from the what-if's coupons:
        # the problem is told at the scenario's action, in the scenario's file.
        ("coupons: []\n", "s.yaml: line 15, actions[4].coupon", "unknown coupon"),
        (
            SCENARIO.replace("until: 2026-04-15", "until: 2026-05-15"),
            "other.yaml: runs from",
            "a comparison needs the same time span",
        ),
        (SCENARIO.replace("plan: basic, id: sub-dan", "plan: gold"), "other.yaml", "gold"),
    ],
)
def test_a_what_if_that_cannot_run_exits_2_and_writes_nothing(
    tmp_path: Path, other: str, where: str, says: str
) -> None:
    scenario = SCENARIO
    if "coupons: []" in other:
        scenario = SCENARIO + (
            "  - {at: 2026-02-10T00:00:00Z, do: apply_coupon, subscription: sub-alice, "
            "coupon: half-once}\n"
        )
    done = run(tmp_path, other, scenario=scenario)
    assert done.exit_code == 2, done.output
    told = done.stderr.replace(str(tmp_path) + "/", "")
    assert "nothing was run" in told
    assert any(where in line and says in line for line in told.splitlines()), told
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("missing", ["scenario", "what-if"])
def test_a_missing_file_on_either_side_exits_2_and_writes_nothing(
    tmp_path: Path, missing: str
) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "nope.yaml").write_text(STRICT_DUNNING)
    gone = tmp_path / ("s.yaml" if missing == "scenario" else "nope.yaml")
    gone.unlink()
    done = compare(tmp_path, "nope.yaml")
    assert done.exit_code == 2
    assert f"cannot read {gone}" in done.stderr.replace("\n", "")
    assert not (tmp_path / "out").exists()


def test_comparing_under_chaos_is_refused_since_faults_would_blur_the_policies(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, STRICT_DUNNING, "--chaos", "crashes")
    assert done.exit_code == 2
    assert "drop --chaos" in done.stderr
    assert not (tmp_path / "out").exists()


EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize(
    "what_if", sorted((EXAMPLES / "what-if").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_example_what_if_is_a_programs_file_the_programs_example_accepts(
    what_if: Path,
) -> None:
    pair = load_pair(EXAMPLES / "programs.yaml", what_if)
    assert pair.other == "programs"
    assert pair.a.customers == pair.b.customers and pair.a.actions == pair.b.actions


def test_the_strict_what_if_cancels_after_one_retry() -> None:
    pair = load_pair(EXAMPLES / "programs.yaml", EXAMPLES / "what-if" / "strict.yaml")
    assert pair.other == "programs"
    assert pair.a.customers == pair.b.customers and pair.a.actions == pair.b.actions
    assert pair.a.dunning is None and pair.b.dunning is not None
    assert pair.b.dunning.final_action == "canceled"


def figures_in(currency: str, mrr: int, emails: int) -> dict[str, Any]:
    found: dict[str, Any] = {key: 0 for key, _, _ in ROWS}
    return {**found, "currency": currency, "mrr_end": mrr, "emails": emails}


def test_money_in_two_currencies_has_no_difference_but_counts_still_do() -> None:
    doc = comparison(figures_in("USD", 1000, 3), figures_in("EUR", 900, 5), ("a.yaml", "b.yaml"))
    assert doc["difference"]["mrr_end"] is None
    assert doc["difference"]["emails"] == 2
    mrr_row = next(row for row in table_rows(doc) if row[0] == "MRR at the end")
    assert mrr_row[1:] == ("$10.00", "€9.00", "–")


def test_the_page_shows_file_names_as_text_never_as_markup() -> None:
    doc = comparison(figures_in("USD", 1000, 3), figures_in("USD", 1000, 3), ("<b>x.yaml", "y"))
    page = html_page(doc)
    assert "<b>x.yaml" not in page and "&lt;b&gt;x.yaml" in page
