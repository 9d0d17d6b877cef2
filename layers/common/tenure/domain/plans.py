"""Plans: a price per interval, an optional trial, intro phases and tax."""

from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenure.domain.calendar import Interval, IntervalUnit, monthly_factor
from tenure.domain.ids import ID_PATTERN
from tenure.domain.money import Money, normalize_currency, round_half_up

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]


class TaxBehavior(StrEnum):
    EXCLUSIVE = "exclusive"  # tax is added on top of the price
    INCLUSIVE = "inclusive"  # the price already contains the tax


class IntroPhase(BaseModel):
    """The first `periods` billing periods at `percent_off` (e.g. 3 months at -50%)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    periods: int = Field(ge=1, le=120, strict=True)
    percent_off: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)]


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(default="", max_length=200)
    amount: int = Field(ge=0, le=10**12, strict=True, description="price in minor units")
    currency: str = Field(min_length=3, max_length=3)
    interval: IntervalUnit
    interval_count: int = Field(default=1, ge=1, le=365, strict=True)
    trial_days: int = Field(default=0, ge=0, le=730, strict=True)
    intro: list[IntroPhase] = Field(default_factory=list, max_length=12)
    tax_rate: Percent = Decimal(0)
    tax_behavior: TaxBehavior = TaxBehavior.EXCLUSIVE

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        return normalize_currency(value)

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def billing_interval(self) -> Interval:
        return Interval(self.interval, self.interval_count)

    def percent_off_for_period(self, period_index: int) -> Decimal:
        """Intro phases run back to back from the first paid period (index 0)."""
        start = 0
        for phase in self.intro:
            if start <= period_index < start + phase.periods:
                return phase.percent_off
            start += phase.periods
        return Decimal(0)

    def price_for_period(self, period_index: int) -> Money:
        """The pre-tax amount charged for one period, after any intro discount."""
        return self.price - self.discount_for_period(period_index)

    def discount_for_period(self, period_index: int) -> Money:
        off = self.percent_off_for_period(period_index)
        return Money(round_half_up(Fraction(self.amount) * Fraction(off) / 100), self.currency)

    def monthly_value(self, period_index: int) -> int:
        """MRR contribution in minor units: normalised to a month, net of discounts, no tax."""
        amount = self.price_for_period(period_index).amount_minor
        if self.tax_behavior is TaxBehavior.INCLUSIVE:
            amount -= tax_included_in(amount, self.tax_rate)
        return round_half_up(Fraction(amount) * monthly_factor(self.billing_interval))


def tax_on(amount_minor: int, rate: Decimal) -> int:
    """Exclusive tax: added on top, rounded half-up."""
    return round_half_up(Fraction(amount_minor) * Fraction(rate) / 100)


def tax_included_in(amount_minor: int, rate: Decimal) -> int:
    """Inclusive tax: the part of a gross amount that is tax, rounded half-up."""
    if rate == 0:
        return 0
    r = Fraction(rate) / 100
    return round_half_up(Fraction(amount_minor) * r / (1 + r))
