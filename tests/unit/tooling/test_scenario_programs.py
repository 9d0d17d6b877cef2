"""The `programs:` block of scenario files: the shape `PUT /v1/programs` takes, its
problems reported with their line and field before anything runs (exit 2)."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.scenario import RedeemPoints, ScenarioError, load, parse

HEAD = """\
start: 2026-01-31T09:00:00Z
until: 2026-06-01T00:00:00Z
plans:
  - {id: basic, amount: 1000, currency: USD, interval: month}
customers:
  - {id: alice, email: alice@example.com, card: "4242424242424242"}
coupons:
  - {id: half-once, percent_off: 50, duration: once}
"""
PROGRAMS = """\
programs:
  tenure_discount: [{after_months: 12, percent_off: 5}, {after_months: 24, percent_off: 10}]
  loyalty: {points_per_unit: 1, unit_minor: 100, point_value_minor: 1}
  refunds: {window_days: 14, after_window: prorated}
  save_offers: [{id: pause2, kind: pause, months: 2}, {id: half1, kind: coupon, coupon: half-once},
                {id: down, kind: change_plan, plan: basic}]
"""


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse(yaml.safe_load(text))
    return [(p.path, p.what) for p in caught.value.problems]


def test_the_issue_example_programs_block_loads() -> None:
    scenario = parse(yaml.safe_load(HEAD + PROGRAMS))
    assert scenario.programs is not None
    assert scenario.programs.loyalty is not None
    assert scenario.programs.loyalty.unit_minor == 100
    assert [o.id for o in scenario.programs.save_offers or []] == ["pause2", "half1", "down"]


def test_a_file_without_programs_leaves_every_program_off() -> None:
    assert parse(yaml.safe_load(HEAD)).programs is None


@pytest.mark.parametrize(
    ("block", "path"),
    [
        (
            "programs:\n  loyalty: {points_per_unit: 1, unit_minor: 0, point_value_minor: 1}\n",
            "programs.loyalty.unit_minor",
        ),
        (
            "programs:\n  loyalty: {points_per_unit: 1, unit_minor: 100, point_value_minor: -5}\n",
            "programs.loyalty.point_value_minor",
        ),
        (
            "programs:\n  loyalty: {points_per_unit: 1, unit_minor: 100, point_value_minor: 2.5}\n",
            "programs.loyalty.point_value_minor",
        ),
        (
            "programs:\n  loyalty: {points_per_unit: 1, unit_minor: 100, point_value_minor: '5'}\n",
            "programs.loyalty.point_value_minor",
        ),
        (
            "programs:\n  refunds: {window_days: 14, after_window: sometimes}\n",
            "programs.refunds.after_window",
        ),
        (
            "programs:\n  tenure_discount: [{after_months: 12, percent_off: 500}]\n",
            "programs.tenure_discount[0].percent_off",
        ),
        ("programs:\n  referrals: {}\n", "programs.referrals"),
        (
            "programs:\n  save_offers: [{id: x, kind: coupon, coupon: nothing}]\n",
            "programs.save_offers[0].coupon",
        ),
        (
            "programs:\n  save_offers: [{id: x, kind: change_plan, plan: gold}]\n",
            "programs.save_offers[0].plan",
        ),
    ],
)
def test_a_programs_problem_is_reported_at_its_field(block: str, path: str) -> None:
    assert path in [where for where, _ in problems(HEAD + block)]


def test_an_offer_naming_a_coupon_the_file_lacks_says_which_it_has() -> None:
    block = "programs:\n  save_offers: [{id: x, kind: coupon, coupon: nothing}]\n"
    assert problems(HEAD + block) == [
        (
            "programs.save_offers[0].coupon",
            "unknown coupon 'nothing'; expected one of the coupons: half-once",
        )
    ]


def test_the_cli_refuses_a_bad_programs_block_with_exit_2_naming_line_and_field(
    tmp_path: Path,
) -> None:
    text = HEAD + "programs:\n  refunds: {window_days: 14, after_window: sometimes}\n"
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path / "s.yaml")
    assert [p.line for p in caught.value.problems] == [text.count("\n")]
    done = CliRunner().invoke(
        app, ["simulate", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]
    )
    assert done.exit_code == 2
    assert "programs.refunds.after_window" in done.output
    assert not (tmp_path / "out").exists()


ACTIONS = """\
actions:
  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, id: s1}
  - {at: 2026-03-05T00:00:00Z, do: redeem_points, customer: alice, points: 15}
"""


def test_redeem_points_loads_with_the_loyalty_program() -> None:
    scenario = parse(yaml.safe_load(HEAD + PROGRAMS + ACTIONS))
    redeem = scenario.actions[1]
    assert isinstance(redeem, RedeemPoints) and (redeem.customer, redeem.points) == ("alice", 15)


def test_redeem_points_without_the_loyalty_program_is_reported_at_its_action() -> None:
    assert problems(HEAD + ACTIONS) == [
        (
            "actions[1].do",
            "redeem_points needs the loyalty program; expected programs.loyalty in the file",
        )
    ]


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ("{at: 2026-03-05T00:00:00Z, do: redeem_points, customer: bob, points: 5}", "customer"),
        ("{at: 2026-03-05T00:00:00Z, do: redeem_points, customer: alice, points: 0}", "points"),
        ("{at: 2026-03-05T00:00:00Z, do: redeem_points, customer: alice}", "points"),
    ],
)
def test_a_bad_redeem_points_names_the_actions_index_and_field(action: str, path: str) -> None:
    text = HEAD + PROGRAMS + "actions:\n  - " + action + "\n"
    assert f"actions[0].{path}" in [where for where, _ in problems(text)]
