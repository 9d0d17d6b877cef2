"""Plans: bad input is refused, intro phases price the first periods, MRR is normalised."""

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tenure.domain.calendar import IntervalUnit
from tenure.domain.money import Money
from tenure.domain.plan_spec import PlanSpec
from tenure.domain.plans import IntroPhase, Plan, TaxBehavior, tax_included_in, tax_on

BASIC: dict[str, Any] = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}


def a_plan(**overrides: Any) -> Plan:
    """A plan as accepted from outside (API body, scenario file): validated, then built."""
    return PlanSpec(**(BASIC | overrides)).to_plan()


def fields_refused(**overrides: Any) -> set[str]:
    """The top-level fields pydantic names when accepting a plan with `overrides` fails."""
    with pytest.raises(ValidationError) as refused:
        a_plan(**overrides)
    return {str(error["loc"][0]) for error in refused.value.errors()}


# --- validation -----------------------------------------------------------------------------


def test_a_well_formed_plan_is_accepted_and_its_currency_normalised() -> None:
    plan = a_plan(currency="usd", interval_count=3, trial_days=14)

    assert plan.currency == "USD"
    assert plan.price == Money(1000, "USD")
    assert plan.billing_interval.unit is IntervalUnit.MONTH
    assert plan.billing_interval.count == 3


@pytest.mark.parametrize(
    "amount",
    [-1, 10.0, 10.5, "1000", True, None, 10**12 + 1],
    ids=["negative", "whole-float", "fractional-float", "string", "bool", "missing", "too-big"],
)
def test_an_amount_that_is_not_a_non_negative_integer_is_refused(amount: object) -> None:
    assert fields_refused(amount=amount) == {"amount"}


def test_a_free_plan_with_amount_zero_is_allowed() -> None:
    assert a_plan(amount=0).price == Money(0, "USD")


@pytest.mark.parametrize("currency", ["XXX", "ABC", "US", "USDX", "", 840])
def test_an_unknown_currency_is_refused(currency: object) -> None:
    assert fields_refused(currency=currency) == {"currency"}


@pytest.mark.parametrize("count", [0, -1, 366, 1.0, "1"])
def test_an_interval_count_outside_one_to_365_or_not_an_int_is_refused(count: object) -> None:
    assert fields_refused(interval_count=count) == {"interval_count"}


@pytest.mark.parametrize("unit", ["fortnight", "months", ""])
def test_an_unknown_interval_unit_is_refused(unit: str) -> None:
    assert fields_refused(interval=unit) == {"interval"}


@pytest.mark.parametrize("days", [-1, -14, 731, 1.5])
def test_trial_days_negative_or_absurd_are_refused(days: object) -> None:
    assert fields_refused(trial_days=days) == {"trial_days"}


def test_an_unknown_field_is_refused_rather_than_silently_dropped() -> None:
    assert fields_refused(colour="red") == {"colour"}


@pytest.mark.parametrize("plan_id", ["", "has space", "#hash", "a" * 65, "-leading-dash"])
def test_a_plan_id_outside_the_id_pattern_is_refused(plan_id: str) -> None:
    assert fields_refused(id=plan_id) == {"id"}


@pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal("100.01"), Decimal("7.12345")])
def test_a_tax_rate_outside_zero_to_100_or_too_precise_is_refused(rate: Decimal) -> None:
    assert fields_refused(tax_rate=rate) == {"tax_rate"}


@pytest.mark.parametrize(
    "phase",
    [
        {"periods": 0, "percent_off": 50},
        {"periods": 3, "percent_off": 0},
        {"periods": 3, "percent_off": 101},
        {"periods": 3, "percent_off": 50, "extra": 1},
    ],
    ids=["no-periods", "nothing-off", "more-than-all", "extra-field"],
)
def test_a_malformed_intro_phase_is_refused(phase: dict[str, Any]) -> None:
    assert fields_refused(intro=[phase]) == {"intro"}


def test_a_plan_is_immutable() -> None:
    plan = a_plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.amount = 5  # type: ignore[misc]


def test_an_accepted_plan_reads_back_as_it_was_given() -> None:
    spec = PlanSpec(
        **BASIC,
        name="Pro",
        interval_count=3,
        trial_days=7,
        intro=[{"periods": 2, "percent_off": Decimal("12.5")}],
        tax_rate=Decimal("7.25"),
        tax_behavior="inclusive",
    )
    plan = spec.to_plan()
    assert plan.intro == (IntroPhase(2, Decimal("12.5")),)
    assert (plan.tax_rate, plan.tax_behavior) == (Decimal("7.25"), TaxBehavior.INCLUSIVE)
    assert PlanSpec.of(plan) == spec


def test_a_plan_written_in_code_holds_its_values_in_domain_types() -> None:
    plan = Plan(
        id="p",
        amount=100,
        currency="eur",
        interval="year",  # type: ignore[arg-type]
        intro=[{"periods": 1, "percent_off": 50}],  # type: ignore[list-item]
        tax_rate=7,  # type: ignore[arg-type]
    )
    assert (plan.currency, plan.interval, plan.tax_rate) == ("EUR", IntervalUnit.YEAR, Decimal(7))
    assert plan.intro == (IntroPhase(1, Decimal(50)),)
    assert hash(plan) == hash(dataclasses.replace(plan))


# --- intro phases ---------------------------------------------------------------------------


def test_three_months_at_half_price_then_full_price() -> None:
    plan = a_plan(intro=[IntroPhase(periods=3, percent_off=Decimal(50))])

    prices = [plan.price_for_period(i).amount_minor for i in range(6)]

    assert prices == [500, 500, 500, 1000, 1000, 1000]


def test_intro_phases_run_back_to_back_from_the_first_paid_period() -> None:
    plan = a_plan(
        intro=[
            IntroPhase(periods=2, percent_off=Decimal(50)),
            IntroPhase(periods=1, percent_off=Decimal(25)),
        ]
    )

    prices = [plan.price_for_period(i).amount_minor for i in range(4)]

    assert prices == [500, 500, 750, 1000]


def test_an_intro_discount_that_falls_on_a_half_unit_rounds_up() -> None:
    plan = a_plan(amount=1001, intro=[IntroPhase(periods=1, percent_off=Decimal(50))])

    assert plan.discount_for_period(0) == Money(501, "USD")  # 500.5 -> 501
    assert plan.price_for_period(0) == Money(500, "USD")


def test_a_100_percent_intro_makes_the_first_period_free() -> None:
    plan = a_plan(intro=[IntroPhase(periods=1, percent_off=Decimal(100))])

    assert plan.price_for_period(0) == Money(0, "USD")
    assert plan.price_for_period(1) == Money(1000, "USD")


def test_a_plan_without_intro_has_no_discount_in_any_period() -> None:
    plan = a_plan()
    assert {plan.discount_for_period(i).amount_minor for i in range(5)} == {0}


# --- MRR normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "interval", "count", "mrr"),
    [
        (1000, "month", 1, 1000),
        (200_000, "year", 1, 16_667),  # $2,000 a year -> $166.666... -> 16,667 cents
        (1000, "week", 1, 4333),  # x 52/12 = 4333.33
        (1000, "week", 2, 2167),  # x 26/12 = 2166.67
        (3000, "month", 3, 1000),  # quarterly
        (1000, "month", 3, 333),  # quarterly, 333.33
        (6000, "month", 6, 1000),  # semiannual
        (1000, "day", 28, 1086),  # x 365/12/28 = 1086.31
        (1000, "day", 1, 30_417),  # x 365/12 = 30416.67
    ],
    ids=[
        "monthly",
        "annual",
        "weekly",
        "biweekly",
        "quarterly",
        "quarterly-rounded",
        "semiannual",
        "28-day",
        "daily",
    ],
)
def test_monthly_value_normalises_the_price_to_one_month(
    amount: int, interval: str, count: int, mrr: int
) -> None:
    plan = a_plan(amount=amount, interval=interval, interval_count=count)
    assert plan.monthly_value(0) == mrr


def test_monthly_value_is_net_of_the_intro_discount() -> None:
    plan = a_plan(intro=[IntroPhase(periods=3, percent_off=Decimal(50))])

    assert [plan.monthly_value(i) for i in range(4)] == [500, 500, 500, 1000]


def test_inclusive_tax_is_taken_out_of_the_monthly_value() -> None:
    plan = a_plan(amount=1200, tax_rate=Decimal(20), tax_behavior=TaxBehavior.INCLUSIVE)

    assert plan.monthly_value(0) == 1000  # 1200 contains 200 of tax


def test_inclusive_tax_on_an_annual_plan_is_taken_out_before_dividing_by_twelve() -> None:
    plan = a_plan(
        amount=240_000, interval="year", tax_rate=Decimal(20), tax_behavior=TaxBehavior.INCLUSIVE
    )

    assert plan.monthly_value(0) == 16_667  # 200,000 net / 12


def test_exclusive_tax_is_not_added_to_the_monthly_value() -> None:
    plan = a_plan(amount=1200, tax_rate=Decimal(20), tax_behavior=TaxBehavior.EXCLUSIVE)

    assert plan.monthly_value(0) == 1200


# --- tax arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate", "tax"),
    [
        (1000, "10", 100),
        (1005, "10", 101),  # 100.5 -> 101: half rounds up
        (1004, "10", 100),  # 100.4 -> 100
        (1015, "8.25", 84),  # 83.7375 -> 84
        (999, "0.0001", 0),
        (0, "20", 0),
        (1000, "0", 0),
    ],
)
def test_exclusive_tax_is_added_on_top_and_rounded_half_up(
    amount: int, rate: str, tax: int
) -> None:
    assert tax_on(amount, Decimal(rate)) == tax


@pytest.mark.parametrize(
    ("gross", "rate", "tax"),
    [
        (1200, "20", 200),
        (1000, "7.5", 70),  # 69.77 -> 70
        (1001, "100", 501),  # 500.5 -> 501: half rounds up
        (1000, "0", 0),
    ],
)
def test_inclusive_tax_is_the_part_of_the_gross_that_is_tax(
    gross: int, rate: str, tax: int
) -> None:
    assert tax_included_in(gross, Decimal(rate)) == tax
