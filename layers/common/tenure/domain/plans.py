"""Plans: a price per interval, an optional trial, intro phases and tax.

Plain frozen dataclasses: every function handles plans, and pydantic's import alone costs
about 100 ms of a cold start. What a plan must be to be accepted (API bodies, scenario
files) is `tenure.domain.plan_spec.PlanSpec`, which builds these.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from tenure.domain.calendar import Interval, IntervalUnit, monthly_factor
from tenure.domain.money import Money, charge_step, normalize_currency, round_half_up, round_to_step
from tenure.domain.prices import PriceChange, Tier, change_in_effect


class TaxBehavior(StrEnum):
    EXCLUSIVE = "exclusive"  # tax is added on top of the price
    INCLUSIVE = "inclusive"  # the price already contains the tax


class PlanKind(StrEnum):
    PLAN = "plan"  # what a subscription is to
    ADDON = "addon"  # priced like a plan, but only ever bought alongside one (an item)


@dataclass(frozen=True, slots=True)
class PricedItem:
    """One item of a subscription as its invoice itemizes it: `quantity` of a plan or
    add-on named `name`, at `unit_amount` each (None when tiers price it), `amount` in all."""

    name: str
    quantity: int
    unit_amount: int | None
    amount: int


@dataclass(frozen=True, slots=True)
class IntroPhase:
    """The first `periods` billing periods at `percent_off` (e.g. 3 months at -50%)."""

    periods: int
    percent_off: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "percent_off", Decimal(self.percent_off))


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    id: str
    name: str = ""
    amount: int  # price in minor units
    currency: str
    interval: IntervalUnit
    interval_count: int = 1
    trial_days: int = 0
    intro: tuple[IntroPhase, ...] = field(default=())
    tax_rate: Decimal = Decimal(0)
    tax_behavior: TaxBehavior = TaxBehavior.EXCLUSIVE
    kind: PlanKind = PlanKind.PLAN
    # Graduated pricing by quantity (tenure.domain.pricing); none: `amount` is per unit.
    tiers: tuple[Tier, ...] = field(default=())
    # Set only on a plan priced for one subscription's items (pricing.priced_plan), whose
    # `amount` is then their total: the invoice shows one line per item.
    items: tuple[PricedItem, ...] = field(default=())
    # Every change of its price, in the order they were made (tenure.domain.prices);
    # `amount` stays the price it was created with.
    price_changes: tuple[PriceChange, ...] = field(default=())

    def __post_init__(self) -> None:
        # Values arrive as stored or as written in code ("month", a list of phases, 7.5):
        # held in their domain types. Validation proper is PlanSpec's, at the edges.
        set_ = object.__setattr__
        set_(self, "currency", normalize_currency(self.currency))
        set_(self, "interval", IntervalUnit(self.interval))
        set_(self, "tax_behavior", TaxBehavior(self.tax_behavior))
        set_(self, "tax_rate", Decimal(self.tax_rate))
        set_(self, "intro", tuple(_phase(p) for p in self.intro))
        set_(self, "kind", PlanKind(self.kind))
        set_(self, "tiers", tuple(_tier(t) for t in self.tiers))
        set_(self, "price_changes", tuple(self.price_changes))

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)

    def amount_for_new_subscribers(self, at: datetime) -> int:
        """What someone who subscribes at `at` pays: the last change in effect by then."""
        return self.for_new_subscribers(at).amount

    def for_new_subscribers(self, at: datetime) -> "Plan":
        """The plan at what someone who joins it at `at` pays (tenure.domain.prices)."""
        return self.priced_by(change_in_effect(self.price_changes, at, (), at))

    def priced_by(self, change: PriceChange | None) -> "Plan":
        """The plan at `change`'s price (its unit amount, or its tiers for a tiered plan);
        itself for None, the price it was created with."""
        if change is None or (change.amount == self.amount and change.tiers == self.tiers):
            return self
        return replace(self, amount=change.amount, tiers=change.tiers)

    def scheduled_changes(self, now: datetime) -> tuple[PriceChange, ...]:
        """The changes not yet in effect for new subscribers at `now`."""
        return tuple(c for c in self.price_changes if c.effective_at > now)

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
        if not off:  # most periods (no intro phase): nothing off, without the fractions
            return Money(0, self.currency)
        share = Fraction(self.amount) * Fraction(off) / 100
        # Never more than the price: rounded to a three-decimal currency's step, a share of a
        # price not in that step (one stored before such prices were refused) could pass it.
        off_minor = min(round_to_step(share, charge_step(self.currency)), self.amount)
        return Money(off_minor, self.currency)

    def monthly_value(self, period_index: int, less: int = 0) -> int:
        """MRR contribution in minor units: normalised to a month, net of discounts, no tax.
        `less`: what a coupon takes off the period's pre-tax price, in minor units."""
        amount = self.price_for_period(period_index).amount_minor - less
        if self.tax_behavior is TaxBehavior.INCLUSIVE:
            amount -= tax_included_in(amount, self.tax_rate, charge_step(self.currency))
        return round_half_up(Fraction(amount) * monthly_factor(self.billing_interval))


def _phase(value: Any) -> IntroPhase:
    return value if isinstance(value, IntroPhase) else IntroPhase(**value)


def _tier(value: Any) -> Tier:
    return value if isinstance(value, Tier) else Tier(**value)


def tax_on(amount_minor: int, rate: Decimal, step: int = 1) -> int:
    """Exclusive tax: added on top, rounded half-up to `step` (money.charge_step)."""
    return round_to_step(Fraction(amount_minor) * Fraction(rate) / 100, step)


def tax_included_in(amount_minor: int, rate: Decimal, step: int = 1) -> int:
    """Inclusive tax: the part of a gross amount that is tax, rounded half-up to `step`."""
    if rate == 0:
        return 0
    r = Fraction(rate) / 100
    return round_to_step(Fraction(amount_minor) * r / (1 + r), step)
