"""The retention programs document: what it accepts, what it refuses, and what it computes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tenure.domain.programs import (
    AfterWindow,
    DiscountCombination,
    LoyaltyProgram,
    Programs,
    TenureStep,
    programs_from_json,
)

START = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
FULL: dict[str, Any] = {
    "tenure_discount": [
        {"after_months": 12, "percent_off": 5},
        {"after_months": 24, "percent_off": 10},
    ],
    "loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1},
    "refunds": {"window_days": 14, "after_window": "prorated"},
    "save_offers": [
        {"id": "pause2", "kind": "pause", "months": 2},
        {"id": "half1", "kind": "coupon", "coupon": "half-once"},
        {"id": "down", "kind": "change_plan", "plan": "basic"},
    ],
}


def test_an_empty_document_turns_every_program_off_and_lets_the_larger_discount_win() -> None:
    programs = Programs.model_validate({})
    assert programs.tenure_discount is None and programs.loyalty is None
    assert programs.refunds is None and programs.save_offers is None
    assert programs.combine_discounts is DiscountCombination.LARGER_WINS
    assert not programs.stacks_discounts


def test_the_issue_example_document_is_accepted_whole() -> None:
    programs = Programs.model_validate(FULL | {"combine_discounts": "stack"})
    assert programs.refunds is not None and programs.refunds.after_window is AfterWindow.PRORATED
    assert programs.offer("down") is not None and programs.offer("nope") is None
    assert programs.stacks_discounts


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"tenure_discount": [{"after_months": 0, "percent_off": 5}]}, "after_months"),
        ({"tenure_discount": [{"after_months": 12, "percent_off": 101}]}, "percent_off"),
        (
            {
                "tenure_discount": [
                    {"after_months": 24, "percent_off": 10},
                    {"after_months": 12, "percent_off": 5},
                ]
            },
            "strictly increasing after_months",
        ),
        ({"loyalty": {"points_per_unit": 1, "unit_minor": 0, "point_value_minor": 1}}, "unit"),
        ({"loyalty": {"points_per_unit": 1, "unit_minor": 100}}, "point_value_minor"),
        ({"refunds": {"window_days": 14, "after_window": "half"}}, "after_window"),
        ({"refunds": {"window_days": -1, "after_window": "none"}}, "window_days"),
        ({"save_offers": [{"id": "p", "kind": "pause", "months": 4}]}, "months"),
        ({"save_offers": [{"id": "p", "kind": "pause"}]}, "needs `months`"),
        ({"save_offers": [{"id": "p", "kind": "coupon", "plan": "basic"}]}, "needs `coupon`"),
        (
            {"save_offers": [{"id": "p", "kind": "pause", "months": 1, "plan": "basic"}]},
            "takes `months` only",
        ),
        (
            {
                "save_offers": [
                    {"id": "p", "kind": "pause", "months": 1},
                    {"id": "p", "kind": "pause", "months": 2},
                ]
            },
            "each offer id once",
        ),
        ({"combine_discounts": "multiply"}, "combine_discounts"),
        ({"referrals": {}}, "referrals"),
    ],
)
def test_a_document_that_breaks_a_rule_is_refused_naming_where(
    change: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Programs.model_validate(FULL | change)
    assert where in str(refused.value)


def test_points_are_earned_on_whole_units_of_the_amount_paid_rounded_down() -> None:
    loyalty = LoyaltyProgram(points_per_unit=3, unit_minor=100, point_value_minor=1)
    assert loyalty.points_for(1999) == 57
    assert loyalty.points_for(99) == 0
    assert loyalty.points_for(0) == 0
    assert loyalty.points_for(-500) == 0


def test_a_tenure_step_is_earned_by_a_period_starting_n_months_after_continuity_began() -> None:
    programs = Programs.model_validate(FULL)
    month_12 = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    assert programs.tenure_step(START, 0, month_12 - timedelta(seconds=1)) is None
    assert programs.tenure_step(START, 0, month_12) == TenureStep(
        after_months=12, percent_off=Decimal(5)
    )
    step = programs.tenure_step(START, 0, datetime(2028, 2, 1, tzinfo=UTC))
    assert step is not None and step.percent_off == 10


def test_time_spent_paused_pushes_a_tenure_step_back_by_as_long() -> None:
    programs = Programs.model_validate(FULL)
    month_12 = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    paused = int(timedelta(days=20).total_seconds())
    assert programs.tenure_step(START, paused, month_12 + timedelta(days=19)) is None
    assert programs.tenure_step(START, paused, month_12 + timedelta(days=20)) is not None


def test_a_document_without_a_ladder_earns_no_tenure_step() -> None:
    assert Programs().tenure_step(START, 0, START + timedelta(days=5000)) is None


def test_a_stored_document_reads_back_as_the_programs_validated_without_pydantic() -> None:
    programs = Programs.model_validate(
        FULL
        | {
            "combine_discounts": "stack",
            "tenure_discount": [{"after_months": 3, "percent_off": "12.5"}],
        }
    )
    stored = programs.model_dump_json(exclude_none=True)
    again = programs_from_json(stored)
    assert again == programs
    assert again.tenure_discount == [TenureStep(3, Decimal("12.5"))]
    assert again.model_dump_json(exclude_none=True) == stored  # the same bytes stored again
