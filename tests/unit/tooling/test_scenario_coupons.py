"""Coupons in scenario files: the `coupons:` block, `subscribe` with a coupon and
`apply_coupon`; a coupon that would be refused is reported before anything runs (exit 2),
naming the action's index and field."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.scenario import ApplyCoupon, ScenarioError, Subscribe, parse

HEAD = """\
start: 2026-01-31T09:00:00Z
until: 2026-06-01T00:00:00Z
plans:
  - {id: basic, amount: 1000, currency: USD, interval: month}
  - {id: pro, amount: 2000, currency: USD, interval: month}
  - {id: euro, amount: 1000, currency: EUR, interval: month}
customers:
  - {id: alice, email: alice@example.com, card: "4242424242424242"}
coupons:
  - {id: half-once, percent_off: 50, duration: once}
  - {id: five-off-3, amount_off: 500, currency: USD, duration: repeating,
     duration_in_periods: 3, max_redemptions: 1, redeem_by: 2026-03-01T00:00:00Z,
     plans: [pro, euro]}
actions:
"""


def problems(actions: str, head: str = HEAD) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse(yaml.safe_load(head + actions))
    return [(p.path, p.what) for p in caught.value.problems]


def test_coupons_and_the_actions_that_redeem_them_load() -> None:
    scenario = parse(
        yaml.safe_load(
            HEAD + "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: pro, "
            "id: s1, coupon: five-off-3}\n"
            "  - {at: 2026-02-10T00:00:00Z, do: apply_coupon, subscription: s1, "
            "coupon: half-once}\n"
        )
    )
    assert [c.id for c in scenario.coupons] == ["half-once", "five-off-3"]
    subscribe, apply = scenario.actions
    assert isinstance(subscribe, Subscribe) and subscribe.coupon == "five-off-3"
    assert isinstance(apply, ApplyCoupon) and apply.coupon == "half-once"


@pytest.mark.parametrize(
    ("actions", "path", "says"),
    [
        (
            "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: pro, "
            "coupon: x}\n",
            "actions[0].coupon",
            "unknown coupon 'x'; expected one of the coupons: half-once, five-off-3",
        ),
        (
            "  - {at: 2026-03-02T00:00:00Z, do: subscribe, customer: alice, plan: pro, "
            "coupon: five-off-3}\n",
            "actions[0].coupon",
            "could be redeemed until 2026-03-01T00:00:00+00:00",
        ),
        (
            "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, "
            "coupon: five-off-3}\n",
            "actions[0].coupon",
            "is for plans pro, euro, not 'basic'",
        ),
        (
            "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: euro, "
            "coupon: five-off-3}\n",
            "actions[0].coupon",
            "takes off USD; plan 'euro' is billed in EUR",
        ),
        (
            "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: pro, id: a, "
            "coupon: five-off-3}\n"
            "  - {at: 2026-02-01T09:00:00Z, do: subscribe, customer: alice, plan: pro, id: b}\n"
            "  - {at: 2026-02-02T09:00:00Z, do: apply_coupon, subscription: b, "
            "coupon: five-off-3}\n",
            "actions[2].coupon",
            "already redeemed 1 times by earlier actions, its max_redemptions",
        ),
        (
            "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: pro, id: a}\n"
            "  - {at: 2026-02-01T09:00:00Z, do: change_plan, subscription: a, plan: basic}\n"
            "  - {at: 2026-02-02T09:00:00Z, do: apply_coupon, subscription: a, "
            "coupon: five-off-3}\n",
            "actions[2].coupon",
            "is for plans pro, euro, not 'basic'",
        ),
        (
            "  - {at: 2026-02-02T09:00:00Z, do: apply_coupon, subscription: nobody, "
            "coupon: half-once}\n",
            "actions[0].subscription",
            "unknown subscription 'nobody'",
        ),
    ],
)
def test_a_coupon_that_would_be_refused_is_reported_at_the_action(
    actions: str, path: str, says: str
) -> None:
    [(where, message)] = problems(actions)
    assert where == path
    assert says in message


@pytest.mark.parametrize(
    ("coupon", "path"),
    [
        ("{id: c, duration: once}", "coupons[2]"),
        ("{id: c, percent_off: 120, duration: once}", "coupons[2].percent_off"),
        ("{id: c, percent_off: 10, duration: yearly}", "coupons[2].duration"),
        ("{id: half-once, percent_off: 10, duration: once}", "coupons[2].id"),
    ],
)
def test_a_malformed_or_repeated_coupon_is_reported_where_it_is(coupon: str, path: str) -> None:
    head = HEAD.replace("actions:\n", f"  - {coupon}\nactions:\n")
    other = "  - {at: 2026-02-01T00:00:00Z, do: subscribe, customer: alice, plan: basic}\n"
    assert [where for where, _ in problems(other, head)] == [path]


def test_the_cli_refuses_a_file_with_a_bad_coupon_with_exit_2_and_runs_nothing(
    tmp_path: Path,
) -> None:
    text = HEAD + (
        "  - {at: 2026-01-31T09:00:00Z, do: subscribe, customer: alice, plan: basic, "
        "coupon: five-off-3}\n"
    )
    (tmp_path / "s.yaml").write_text(text)
    done = CliRunner().invoke(
        app, ["simulate", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]
    )
    assert done.exit_code == 2
    assert "actions[0].coupon: coupon 'five-off-3' is for plans pro, euro" in done.output
    assert not (tmp_path / "out").exists()


def test_a_coupon_for_a_plan_the_file_does_not_have_is_refused_at_load() -> None:
    head = HEAD.replace("plans: [pro, euro]}", "plans: [pro, gold]}")
    assert problems("  []\n", head) == [
        ("coupons[1].plans", "unknown plan 'gold'; expected one of the plans: basic, pro, euro")
    ]


@pytest.mark.parametrize("redeem_by", ["2026-01-31T09:00:00Z", "2025-12-31T00:00:00Z"])
def test_a_coupon_whose_redeem_by_is_not_after_start_is_refused_at_load(redeem_by: str) -> None:
    head = HEAD.replace("redeem_by: 2026-03-01T00:00:00Z", f"redeem_by: {redeem_by}")
    [(path, what)] = problems("  []\n", head)
    assert path == "coupons[1].redeem_by"
    assert what.endswith("is not after start; expected a later moment")
