"""What a plan must be to be accepted: the API's request body and a scenario file's plans.

A pydantic model, so a refusal names its field (422 with the path, or a scenario error at
`plans[i].field`); `to_plan()` gives the domain's `Plan`. Only the edges import this module:
the functions that never take a plan from outside stay clear of pydantic's import cost.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenure.domain.calendar import IntervalUnit
from tenure.domain.ids import ID_PATTERN
from tenure.domain.money import normalize_currency
from tenure.domain.plans import IntroPhase, Plan, TaxBehavior

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]


class IntroPhaseSpec(BaseModel):
    """The first `periods` billing periods at `percent_off` (e.g. 3 months at -50%)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="IntroPhase", from_attributes=True)

    periods: int = Field(ge=1, le=120, strict=True)
    percent_off: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)]


class PlanSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", title="Plan")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(default="", max_length=200)
    amount: int = Field(ge=0, le=10**12, strict=True, description="price in minor units")
    currency: str = Field(min_length=3, max_length=3)
    interval: IntervalUnit
    interval_count: int = Field(default=1, ge=1, le=365, strict=True)
    trial_days: int = Field(default=0, ge=0, le=730, strict=True)
    intro: list[IntroPhaseSpec] = Field(default_factory=list, max_length=12)
    tax_rate: Percent = Decimal(0)
    tax_behavior: TaxBehavior = TaxBehavior.EXCLUSIVE

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        return normalize_currency(value)

    def to_plan(self) -> Plan:
        intro = tuple(IntroPhase(p.periods, p.percent_off) for p in self.intro)
        return Plan(**{name: getattr(self, name) for name in _SHARED}, intro=intro)

    @classmethod
    def of(cls, plan: Plan) -> "PlanSpec":
        intro = [IntroPhaseSpec(periods=p.periods, percent_off=p.percent_off) for p in plan.intro]
        return cls(**{name: getattr(plan, name) for name in _SHARED}, intro=intro)


# The fields a plan and its spec hold alike (the intro phases are each side's own type).
_SHARED = [name for name in PlanSpec.model_fields if name != "intro"]
