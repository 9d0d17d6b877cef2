"""The billing calendar: anchored boundaries that never drift, periods and MRR factors."""

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.calendar import (
    ANNUAL,
    BIWEEKLY,
    DAILY,
    EVERY_28_DAYS,
    MONTHLY,
    QUARTERLY,
    SEMIANNUAL,
    WEEKLY,
    Interval,
    IntervalUnit,
    InvalidIntervalError,
    NaiveDatetimeError,
    add_intervals,
    days_in_month,
    ensure_utc,
    monthly_factor,
    next_boundary_after,
    period_at,
    period_index_at,
    seconds_between,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --- intervals ------------------------------------------------------------------------


def test_an_interval_defaults_to_a_count_of_one() -> None:
    assert Interval(IntervalUnit.MONTH) == Interval(IntervalUnit.MONTH, 1)


def test_an_interval_unit_given_as_text_is_coerced_to_the_enum() -> None:
    interval = Interval("week", 2)  # type: ignore[arg-type]
    assert interval.unit is IntervalUnit.WEEK
    assert interval == BIWEEKLY


def test_parse_reads_a_stored_unit_and_count() -> None:
    assert Interval.parse("month", 3) == QUARTERLY
    assert Interval.parse("Year") == ANNUAL
    assert Interval.parse("day", 28) == EVERY_28_DAYS


@pytest.mark.parametrize("unit", ["fortnight", "months", "", None, 1])
def test_an_unknown_interval_unit_is_rejected(unit: object) -> None:
    with pytest.raises(InvalidIntervalError, match="unit"):
        Interval(unit)  # type: ignore[arg-type]


def test_parse_rejects_an_unknown_unit() -> None:
    with pytest.raises(InvalidIntervalError):
        Interval.parse("quarter")


@pytest.mark.parametrize("count", [0, -1, True, 1.0, "2", None])
def test_an_interval_count_must_be_a_whole_number_of_at_least_one(count: object) -> None:
    with pytest.raises(InvalidIntervalError, match="count"):
        Interval(IntervalUnit.MONTH, count)  # type: ignore[arg-type]


def test_interval_count_zero_is_rejected_by_parse_too() -> None:
    with pytest.raises(InvalidIntervalError):
        Interval.parse("month", 0)


@pytest.mark.parametrize(
    ("interval", "wording"),
    [
        (MONTHLY, "month"),
        (QUARTERLY, "3 months"),
        (BIWEEKLY, "2 weeks"),
        (EVERY_28_DAYS, "28 days"),
        (ANNUAL, "year"),
        (DAILY, "day"),
        (Interval(IntervalUnit.YEAR, 2), "2 years"),
    ],
)
def test_describe_words_the_interval_for_people(interval: Interval, wording: str) -> None:
    assert interval.describe() == wording


def test_the_named_intervals_have_the_usual_lengths() -> None:
    assert (WEEKLY.days, BIWEEKLY.days, EVERY_28_DAYS.days, DAILY.days) == (7, 14, 28, 1)
    assert (MONTHLY.months, QUARTERLY.months, SEMIANNUAL.months, ANNUAL.months) == (1, 3, 6, 12)
    assert MONTHLY.days == 0
    assert WEEKLY.months == 0


# --- timezones ------------------------------------------------------------------------


def test_naive_datetimes_are_rejected_everywhere() -> None:
    naive = datetime(2026, 1, 31, 9)
    aware = utc(2026, 1, 31, 9)
    with pytest.raises(NaiveDatetimeError):
        add_intervals(naive, MONTHLY, 1)
    with pytest.raises(NaiveDatetimeError):
        period_index_at(aware, MONTHLY, naive)
    with pytest.raises(NaiveDatetimeError):
        period_at(naive, MONTHLY, aware)
    with pytest.raises(NaiveDatetimeError):
        next_boundary_after(aware, WEEKLY, naive)
    with pytest.raises(NaiveDatetimeError):
        seconds_between(naive, aware)
    with pytest.raises(NaiveDatetimeError):
        seconds_between(aware, naive)


def test_something_that_is_not_a_datetime_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        ensure_utc("2026-01-31T09:00:00Z")  # type: ignore[arg-type]


def test_aware_datetimes_in_other_zones_are_computed_on_the_utc_clock() -> None:
    # 2026-01-31 01:00 at +02:00 is 2026-01-30 23:00 UTC, so the anchor day is the 30th.
    anchor = datetime(2026, 1, 31, 1, tzinfo=timezone(timedelta(hours=2)))
    boundary = add_intervals(anchor, MONTHLY, 1)
    assert boundary == utc(2026, 2, 28, 23)
    assert boundary.tzinfo is UTC
    assert add_intervals(anchor, MONTHLY, 2) == utc(2026, 3, 30, 23)


# --- anchoring ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, utc(2026, 1, 31, 9)),
        (1, utc(2026, 2, 28, 9)),
        (2, utc(2026, 3, 31, 9)),
        (3, utc(2026, 4, 30, 9)),
        (4, utc(2026, 5, 31, 9)),
        (11, utc(2026, 12, 31, 9)),
        (12, utc(2027, 1, 31, 9)),
        (-1, utc(2025, 12, 31, 9)),
        (-2, utc(2025, 11, 30, 9)),
    ],
)
def test_monthly_boundaries_from_the_31st_clamp_to_month_end_without_drifting(
    n: int, expected: datetime
) -> None:
    assert add_intervals(utc(2026, 1, 31, 9), MONTHLY, n) == expected


def test_stepping_from_the_previous_boundary_would_drift_but_anchoring_does_not() -> None:
    anchor = utc(2026, 1, 31, 9)
    stepped = add_intervals(add_intervals(anchor, MONTHLY, 1), MONTHLY, 1)
    assert stepped == utc(2026, 3, 28, 9)
    assert add_intervals(anchor, MONTHLY, 2) == utc(2026, 3, 31, 9)


def test_a_monthly_anchor_on_the_31st_lands_on_the_29th_of_february_in_a_leap_year() -> None:
    assert add_intervals(utc(2028, 1, 31, 9), MONTHLY, 1) == utc(2028, 2, 29, 9)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, utc(2029, 2, 28, 9)),
        (2, utc(2030, 2, 28, 9)),
        (3, utc(2031, 2, 28, 9)),
        (4, utc(2032, 2, 29, 9)),
        (-4, utc(2024, 2, 29, 9)),
        (-1, utc(2027, 2, 28, 9)),
    ],
)
def test_annual_from_the_29th_of_february_returns_to_it_in_leap_years(
    n: int, expected: datetime
) -> None:
    assert add_intervals(utc(2028, 2, 29, 9), ANNUAL, n) == expected


def test_years_divisible_by_100_but_not_400_are_not_leap_years() -> None:
    assert add_intervals(utc(2096, 2, 29), Interval(IntervalUnit.YEAR, 4), 1) == utc(2100, 2, 28)
    assert add_intervals(utc(1996, 2, 29), Interval(IntervalUnit.YEAR, 4), 1) == utc(2000, 2, 29)
    assert days_in_month(2100, 2) == 28
    assert days_in_month(2000, 2) == 29


def test_quarterly_boundaries_keep_the_anchor_day_where_the_month_allows() -> None:
    anchor = utc(2026, 11, 30, 12, 30)
    assert [add_intervals(anchor, QUARTERLY, n) for n in range(1, 5)] == [
        utc(2027, 2, 28, 12, 30),
        utc(2027, 5, 30, 12, 30),
        utc(2027, 8, 30, 12, 30),
        utc(2027, 11, 30, 12, 30),
    ]


def test_semiannual_boundaries_are_six_months_apart() -> None:
    anchor = utc(2026, 8, 31)
    assert add_intervals(anchor, SEMIANNUAL, 1) == utc(2027, 2, 28)
    assert add_intervals(anchor, SEMIANNUAL, 2) == utc(2027, 8, 31)
    assert add_intervals(anchor, SEMIANNUAL, -1) == utc(2026, 2, 28)


def test_weekly_biweekly_and_28_day_boundaries_are_fixed_lengths() -> None:
    anchor = utc(2026, 1, 31, 9)
    assert add_intervals(anchor, WEEKLY, 1) == utc(2026, 2, 7, 9)
    assert add_intervals(anchor, BIWEEKLY, 2) == utc(2026, 2, 28, 9)
    assert add_intervals(anchor, EVERY_28_DAYS, 1) == utc(2026, 2, 28, 9)
    assert add_intervals(anchor, EVERY_28_DAYS, 13) == utc(2027, 1, 30, 9)
    assert add_intervals(anchor, DAILY, -31) == utc(2025, 12, 31, 9)


def test_the_time_of_day_including_microseconds_is_kept() -> None:
    anchor = utc(2026, 1, 31, 23, 59, 59, 999_999)
    assert add_intervals(anchor, MONTHLY, 1) == utc(2026, 2, 28, 23, 59, 59, 999_999)


def test_the_zeroth_boundary_is_the_anchor_itself() -> None:
    anchor = utc(2026, 3, 15, 8)
    assert add_intervals(anchor, QUARTERLY, 0) == anchor
    assert add_intervals(anchor, WEEKLY, 0) == anchor


@pytest.mark.parametrize("n", [1.0, True, "1"])
def test_the_boundary_number_must_be_an_int(n: object) -> None:
    with pytest.raises(TypeError):
        add_intervals(utc(2026, 1, 1), MONTHLY, n)  # type: ignore[arg-type]


# --- periods --------------------------------------------------------------------------


def test_a_moment_exactly_on_a_boundary_starts_that_period() -> None:
    anchor = utc(2026, 1, 31, 9)
    assert period_index_at(anchor, MONTHLY, anchor) == 0
    assert period_index_at(anchor, MONTHLY, utc(2026, 2, 28, 9)) == 1
    assert period_index_at(anchor, MONTHLY, utc(2026, 3, 31, 9)) == 2


def test_a_moment_just_before_a_boundary_is_still_in_the_previous_period() -> None:
    anchor = utc(2026, 1, 31, 9)
    just_before = utc(2026, 2, 28, 9) - timedelta(microseconds=1)
    assert period_index_at(anchor, MONTHLY, just_before) == 0
    assert period_at(anchor, MONTHLY, just_before) == (anchor, utc(2026, 2, 28, 9))


def test_a_moment_later_in_the_clamped_day_belongs_to_the_new_period() -> None:
    # Feb 28 09:00 is the boundary; Feb 28 08:00 is before it even though the day matches.
    anchor = utc(2026, 1, 31, 9)
    assert period_index_at(anchor, MONTHLY, utc(2026, 2, 28, 8)) == 0
    assert period_index_at(anchor, MONTHLY, utc(2026, 2, 28, 10)) == 1
    assert period_index_at(anchor, MONTHLY, utc(2026, 3, 1)) == 1
    assert period_index_at(anchor, MONTHLY, utc(2026, 3, 31, 8)) == 1


def test_moments_before_the_anchor_have_negative_period_indexes() -> None:
    anchor = utc(2026, 1, 31, 9)
    assert period_index_at(anchor, MONTHLY, utc(2026, 1, 31, 8)) == -1
    assert period_index_at(anchor, MONTHLY, utc(2025, 12, 31, 9)) == -1
    assert period_index_at(anchor, MONTHLY, utc(2025, 12, 31, 8)) == -2
    assert period_index_at(anchor, WEEKLY, anchor - timedelta(seconds=1)) == -1
    assert period_index_at(anchor, WEEKLY, anchor - timedelta(days=7)) == -1
    assert period_index_at(anchor, WEEKLY, anchor - timedelta(days=7, seconds=1)) == -2


def test_fixed_length_periods_are_found_by_division() -> None:
    anchor = utc(2026, 1, 1)
    assert period_index_at(anchor, BIWEEKLY, utc(2026, 1, 15)) == 1
    assert period_index_at(anchor, BIWEEKLY, utc(2026, 1, 14, 23, 59)) == 0
    assert period_at(anchor, EVERY_28_DAYS, utc(2026, 3, 1)) == (utc(2026, 2, 26), utc(2026, 3, 26))


def test_annual_periods_from_a_leap_day() -> None:
    anchor = utc(2028, 2, 29)
    assert period_at(anchor, ANNUAL, utc(2029, 3, 1)) == (utc(2029, 2, 28), utc(2030, 2, 28))
    assert period_index_at(anchor, ANNUAL, utc(2032, 2, 28, 23)) == 3
    assert period_index_at(anchor, ANNUAL, utc(2032, 2, 29)) == 4


def test_the_next_boundary_is_strictly_after_the_moment() -> None:
    anchor = utc(2026, 1, 31, 9)
    assert next_boundary_after(anchor, MONTHLY, anchor) == utc(2026, 2, 28, 9)
    assert next_boundary_after(anchor, MONTHLY, utc(2026, 2, 28, 9)) == utc(2026, 3, 31, 9)
    assert next_boundary_after(anchor, MONTHLY, utc(2026, 1, 1)) == anchor
    assert next_boundary_after(anchor, WEEKLY, utc(2026, 2, 1)) == utc(2026, 2, 7, 9)


# --- MRR normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "factor"),
    [
        (MONTHLY, Fraction(1)),
        (QUARTERLY, Fraction(1, 3)),
        (SEMIANNUAL, Fraction(1, 6)),
        (ANNUAL, Fraction(1, 12)),
        (Interval(IntervalUnit.YEAR, 2), Fraction(1, 24)),
        (WEEKLY, Fraction(52, 12)),
        (BIWEEKLY, Fraction(26, 12)),
        (DAILY, Fraction(365, 12)),
        (EVERY_28_DAYS, Fraction(365, 12 * 28)),
    ],
)
def test_monthly_factor_normalises_every_interval_to_a_month(
    interval: Interval, factor: Fraction
) -> None:
    assert monthly_factor(interval) == factor


def test_a_weekly_plan_and_a_seven_day_plan_have_nearly_the_same_mrr() -> None:
    weekly = monthly_factor(WEEKLY)
    seven_days = monthly_factor(Interval(IntervalUnit.DAY, 7))
    assert abs(weekly - seven_days) < Fraction(1, 50)


# --- seconds --------------------------------------------------------------------------


def test_seconds_between_counts_whole_seconds() -> None:
    assert seconds_between(utc(2026, 2, 1), utc(2026, 3, 1)) == 28 * 86_400
    assert seconds_between(utc(2026, 1, 1), utc(2026, 1, 1, 0, 0, 1, 999_999)) == 1


def test_seconds_between_is_antisymmetric_when_time_runs_backwards() -> None:
    a = utc(2026, 1, 1)
    b = utc(2026, 1, 1, 0, 0, 1, 500_000)
    assert seconds_between(b, a) == -1
    assert seconds_between(a, a) == 0


def test_seconds_between_compares_instants_across_zones() -> None:
    paris = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert seconds_between(utc(2026, 1, 1), paris) == 0


# --- properties -----------------------------------------------------------------------

anchors = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)
# Counts are bounded so that 100 intervals either side of an anchor stay within years 1-9999.
calendar_intervals = st.one_of(
    st.builds(Interval, st.just(IntervalUnit.MONTH), st.integers(1, 36)),
    st.builds(Interval, st.just(IntervalUnit.YEAR), st.integers(1, 3)),
)
all_intervals = st.one_of(
    calendar_intervals,
    st.builds(Interval, st.just(IntervalUnit.WEEK), st.integers(1, 104)),
    st.builds(Interval, st.just(IntervalUnit.DAY), st.integers(1, 730)),
)
boundary_numbers = st.integers(min_value=-100, max_value=100)


@given(anchor=anchors, interval=calendar_intervals, n=boundary_numbers)
def test_calendar_boundaries_never_drift_from_the_anchor_day(
    anchor: datetime, interval: Interval, n: int
) -> None:
    boundary = add_intervals(anchor, interval, n)
    assert boundary.day == min(anchor.day, days_in_month(boundary.year, boundary.month))
    assert boundary.timetz() == anchor.timetz()
    months = (boundary.year - anchor.year) * 12 + boundary.month - anchor.month
    assert months == n * interval.months


@given(anchor=anchors, interval=all_intervals, n=boundary_numbers)
def test_boundaries_strictly_increase(anchor: datetime, interval: Interval, n: int) -> None:
    assert add_intervals(anchor, interval, n) < add_intervals(anchor, interval, n + 1)


@given(anchor=anchors, interval=all_intervals, n=boundary_numbers)
def test_each_boundary_starts_its_own_period(anchor: datetime, interval: Interval, n: int) -> None:
    boundary = add_intervals(anchor, interval, n)
    assert period_index_at(anchor, interval, boundary) == n
    assert period_index_at(anchor, interval, boundary - timedelta(microseconds=1)) == n - 1


@given(anchor=anchors, interval=all_intervals, moment=anchors)
def test_the_period_at_a_moment_contains_it(
    anchor: datetime, interval: Interval, moment: datetime
) -> None:
    start, end = period_at(anchor, interval, moment)
    assert start <= moment < end
    n = period_index_at(anchor, interval, moment)
    assert (start, end) == (
        add_intervals(anchor, interval, n),
        add_intervals(anchor, interval, n + 1),
    )
    assert next_boundary_after(anchor, interval, moment) == end


@given(a=anchors, b=anchors)
def test_seconds_between_is_within_a_second_of_the_exact_difference(
    a: datetime, b: datetime
) -> None:
    whole = seconds_between(a, b)
    assert whole == -seconds_between(b, a)
    assert abs((b - a) - timedelta(seconds=whole)) < timedelta(seconds=1)
