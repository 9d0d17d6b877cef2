"""What a plan must be to be accepted: the API's request body and a scenario file's plans.

A pydantic model, so a refusal names its field (422 with the path, or a scenario error at
`plans[i].field`); `to_plan()` gives the domain's `Plan`. Only the edges import this module:
the functions that never take a plan from outside stay clear of pydantic's import cost.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tenure.domain.calendar import IntervalUnit
from tenure.domain.errors import FieldRuleError, ValidationFailedError
from tenure.domain.ids import DISPLAY_NAME_PATTERN, ID_PATTERN
from tenure.domain.money import charged_currency
from tenure.domain.plans import IntroPhase, Plan, PlanKind, TaxBehavior, Tier
from tenure.domain.pricing import MAX_QUANTITY, check_chargeable, check_tiers

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]


class IntroPhaseSpec(BaseModel):
    """The first `periods` billing periods at `percent_off` (e.g. 3 months at -50%)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="IntroPhase", from_attributes=True)

    periods: int = Field(ge=1, le=120, strict=True)
    percent_off: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)]


class TierSpec(BaseModel):
    """One band of a graduated price (tenure.domain.plans.Tier)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Tier", from_attributes=True)

    up_to: int | None = Field(ge=1, le=MAX_QUANTITY, strict=True, description="null: the rest")
    unit_amount: int = Field(ge=0, le=10**12, strict=True, description="minor units per unit")
    flat_amount: int = Field(default=0, ge=0, le=10**12, strict=True)


class PlanSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", title="Plan")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(default="", max_length=200, pattern=DISPLAY_NAME_PATTERN)
    amount: int = Field(ge=0, le=10**12, strict=True, description="price in minor units")
    currency: str = Field(min_length=3, max_length=3)
    interval: IntervalUnit
    interval_count: int = Field(default=1, ge=1, le=365, strict=True)
    trial_days: int = Field(default=0, ge=0, le=730, strict=True)
    intro: list[IntroPhaseSpec] = Field(default_factory=list, max_length=12)
    tax_rate: Percent = Decimal(0)
    tax_behavior: TaxBehavior = TaxBehavior.EXCLUSIVE
    kind: PlanKind = Field(
        default=PlanKind.PLAN, description="addon: bought only with a plan, as an item"
    )
    tiers: list[TierSpec] = Field(
        default_factory=list,
        max_length=20,
        description="graduated price by quantity (amount must then be 0); last up_to null",
    )

    @model_validator(mode="after")
    def _tiers_cover_every_quantity(self) -> "PlanSpec":
        # Each refusal names its field (FieldRuleError): a 422 at ["body", "amount"], a
        # scenario problem at plans[0].amount, not at the plan as a whole.
        try:
            check_tiers(_tiers(self.tiers))
        except ValidationFailedError as refused:
            raise FieldRuleError.of(refused) from None
        if self.tiers and self.amount:
            raise FieldRuleError("tiers", "a tiered price comes from its tiers: amount must be 0")
        try:
            check_chargeable(self.amount, _tiers(self.tiers), self.currency)
        except ValidationFailedError as refused:
            raise FieldRuleError.of(refused) from None
        return self

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        return charged_currency(value)

    def to_plan(self) -> Plan:
        intro = tuple(IntroPhase(p.periods, p.percent_off) for p in self.intro)
        shared = {name: getattr(self, name) for name in _SHARED}
        return Plan(**shared, intro=intro, tiers=_tiers(self.tiers))

    @classmethod
    def of(cls, plan: Plan) -> "PlanSpec":
        intro = [IntroPhaseSpec(periods=p.periods, percent_off=p.percent_off) for p in plan.intro]
        tiers = [TierSpec.model_validate(t) for t in plan.tiers]
        # Not validated again: a plan stored before a rule was added is shown as it is.
        shared = {name: getattr(plan, name) for name in _SHARED}
        return cls.model_construct(**shared, intro=intro, tiers=tiers)


def tier_table(specs: list[TierSpec]) -> tuple[Tier, ...]:
    """The domain's tiers from checked specs (a price change's new table, as a plan's)."""
    return _tiers(specs)


def _tiers(specs: list[TierSpec]) -> tuple[Tier, ...]:
    return tuple(Tier(t.up_to, t.unit_amount, t.flat_amount) for t in specs)


# The fields a plan and its spec hold alike (intro phases and tiers are each side's own type).
_SHARED = [name for name in PlanSpec.model_fields if name not in ("intro", "tiers")]
