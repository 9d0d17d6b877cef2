"""Billing calendar: plan intervals, anchored period boundaries and MRR normalisation.

Every boundary is computed from the subscription's anchor (the n-th boundary is
anchor + n intervals), never from the previous boundary. Stepping from boundary to
boundary would drift: Jan 31 -> Feb 28 -> Mar 28. Anchored, it is Jan 31 -> Feb 28 ->
Mar 31, which is what Stripe Billing and Chargebee customers expect.

Calendar arithmetic is done on the UTC wall clock. Aware datetimes in other zones are
converted to UTC first; naive datetimes are rejected because their meaning is a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Self


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone was given where an instant is required."""


class InvalidIntervalError(ValueError):
    """An interval unit or count that no plan can have."""


class IntervalUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def _coerce_unit(value: object) -> IntervalUnit:
    if isinstance(value, IntervalUnit):
        return value
    if isinstance(value, str) and value.lower() in IntervalUnit:
        return IntervalUnit(value.lower())
    raise InvalidIntervalError(
        f"interval unit must be one of {', '.join(IntervalUnit)}, got {value!r}"
    )


@dataclass(frozen=True, slots=True)
class Interval:
    """A billing interval: `count` x `unit` (e.g. 3 months, 2 weeks, 28 days)."""

    unit: IntervalUnit
    count: int = 1

    def __post_init__(self) -> None:
        # Frozen dataclass: the coerced unit has to be written past the freeze.
        object.__setattr__(self, "unit", _coerce_unit(self.unit))
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise InvalidIntervalError(f"interval count must be an int >= 1, got {self.count!r}")

    @classmethod
    def parse(cls, unit: str, count: int = 1) -> Self:
        """Build from a plan's stored unit ("month", "Week") and count."""
        return cls(_coerce_unit(unit), count)

    def describe(self) -> str:
        """Human wording: "month", "3 months", "2 weeks"."""
        if self.count == 1:
            return str(self.unit)
        return f"{self.count} {self.unit}s"

    @property
    def months(self) -> int:
        """Length in calendar months; 0 for day and week intervals."""
        if self.unit is IntervalUnit.MONTH:
            return self.count
        if self.unit is IntervalUnit.YEAR:
            return 12 * self.count
        return 0

    @property
    def days(self) -> int:
        """Length in days; 0 for month and year intervals, whose length varies."""
        if self.unit is IntervalUnit.DAY:
            return self.count
        if self.unit is IntervalUnit.WEEK:
            return 7 * self.count
        return 0


DAILY = Interval(IntervalUnit.DAY)
WEEKLY = Interval(IntervalUnit.WEEK)
BIWEEKLY = Interval(IntervalUnit.WEEK, 2)
EVERY_28_DAYS = Interval(IntervalUnit.DAY, 28)
MONTHLY = Interval(IntervalUnit.MONTH)
QUARTERLY = Interval(IntervalUnit.MONTH, 3)
SEMIANNUAL = Interval(IntervalUnit.MONTH, 6)
ANNUAL = Interval(IntervalUnit.YEAR)


def ensure_utc(moment: datetime) -> datetime:
    """The same instant in UTC; NaiveDatetimeError for a naive datetime."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise NaiveDatetimeError(f"datetime must be timezone-aware (UTC), got {moment!r}")
    return moment.astimezone(UTC)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")


def add_intervals(anchor: datetime, interval: Interval, n: int) -> datetime:
    """The n-th period boundary counted from the anchor (n may be 0 or negative).

    Months and years keep the anchor's day, clamped to the target month's length, and the
    anchor's time of day.
    """
    _check_n(n)
    anchor = ensure_utc(anchor)
    if interval.days:
        return anchor + timedelta(days=n * interval.days)
    year, month_index = divmod(anchor.year * 12 + anchor.month - 1 + n * interval.months, 12)
    month = month_index + 1
    return anchor.replace(year=year, month=month, day=min(anchor.day, days_in_month(year, month)))


def period_index_at(anchor: datetime, interval: Interval, moment: datetime) -> int:
    """The n with add_intervals(anchor, interval, n) <= moment < the (n+1)-th boundary."""
    anchor = ensure_utc(anchor)
    moment = ensure_utc(moment)
    if interval.days:
        return (moment - anchor) // timedelta(days=interval.days)
    months_apart = (moment.year - anchor.year) * 12 + moment.month - anchor.month
    # The estimate is off by at most one period because clamping and time of day only move
    # a boundary within its month; boundaries strictly increase, so stepping settles it.
    n = months_apart // interval.months
    while add_intervals(anchor, interval, n) > moment:
        n -= 1
    while add_intervals(anchor, interval, n + 1) <= moment:
        n += 1
    return n


def period_at(anchor: datetime, interval: Interval, moment: datetime) -> tuple[datetime, datetime]:
    """The billing period [start, end) that contains `moment`."""
    n = period_index_at(anchor, interval, moment)
    return add_intervals(anchor, interval, n), add_intervals(anchor, interval, n + 1)


def next_boundary_after(anchor: datetime, interval: Interval, moment: datetime) -> datetime:
    """The first period boundary strictly after `moment`."""
    return add_intervals(anchor, interval, period_index_at(anchor, interval, moment) + 1)


def monthly_factor(interval: Interval) -> Fraction:
    """How many of `interval` fit in one month, to normalise a plan's amount to MRR.

    Months and years are exact (1/count, 1/(12*count)). Weeks and days follow Stripe and
    ChartMogul: a month is 52/12 weeks and 365/12 days, so a weekly plan's MRR is its
    amount x 52/12 and all plans agree on a 12-month, 52-week, 365-day year.
    """
    match interval.unit:
        case IntervalUnit.MONTH:
            return Fraction(1, interval.count)
        case IntervalUnit.YEAR:
            return Fraction(1, 12 * interval.count)
        case IntervalUnit.WEEK:
            return Fraction(52, 12) / interval.count
        case IntervalUnit.DAY:
            return Fraction(365, 12) / interval.count


def seconds_between(start: datetime, end: datetime) -> int:
    """Whole seconds from `start` to `end`, truncated toward zero (negative if end < start).

    Truncation keeps seconds_between(a, b) == -seconds_between(b, a), so a proration credit
    and its reversal cancel exactly.
    """
    delta = ensure_utc(end) - ensure_utc(start)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    whole = abs(micros) // 1_000_000
    return -whole if micros < 0 else whole
