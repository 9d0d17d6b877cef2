"""The business's retention programs: one validated, versioned settings document.

Four programs, each off while its section is absent (or, for the lists, empty):
`tenure_discount` (a ladder of steps), `loyalty` (points earned on paid invoices),
`refunds` (the refund promise) and `save_offers` (what a leaving customer is offered).
`combine_discounts` says what happens when a coupon and the tenure discount both apply to
one invoice: the larger wins (the default), or both are taken (`stack`); the rule itself
is `tenure.domain.discounts.choose_discounts`.

A pydantic model like `PlanSpec` and `CouponSpec`, so a refusal names its field: the API's
`PUT /v1/programs` body and a scenario file's `programs:` block are this same shape. Stored
as one setting (`ProgramsSetting`) whose version moves by one on each write; a write names
the version it replaces, so of two writers that read the same version only one succeeds.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.domain.calendar import Interval, IntervalUnit, add_intervals
from tenure.domain.ids import ID_PATTERN

PercentOff = Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)]
Count = Annotated[int, Field(ge=1, le=10**9, strict=True)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenureStep(_Section):
    """From the first period that starts `after_months` of continuous paid time after
    continuity began, each period invoice is `percent_off` cheaper."""

    after_months: int = Field(ge=1, le=1200, strict=True)
    percent_off: PercentOff


class LoyaltyProgram(_Section):
    """`points_per_unit` points for each whole `unit_minor` paid (rounded down); a point
    redeems for `point_value_minor` off a later invoice."""

    points_per_unit: Count
    unit_minor: Count
    point_value_minor: Count

    def points_for(self, paid_minor: int) -> int:
        """The points an invoice paid with `paid_minor` earns: whole units only."""
        if paid_minor <= 0:
            return 0
        return paid_minor // self.unit_minor * self.points_per_unit


class AfterWindow(StrEnum):
    PRORATED = "prorated"  # the unused share of the period, to the second
    NONE = "none"


class RefundPolicy(_Section):
    """A refund asked within `window_days` of a charge returns it in full; after that,
    `after_window` says what is returned."""

    window_days: int = Field(ge=0, le=3650, strict=True)
    after_window: AfterWindow


class OfferKind(StrEnum):
    PAUSE = "pause"  # with `months`: 1 to 3
    COUPON = "coupon"  # with `coupon`: a coupon's id
    CHANGE_PLAN = "change_plan"  # with `plan`: a plan's id


_OFFER_FIELD = {
    OfferKind.PAUSE: "months",
    OfferKind.COUPON: "coupon",
    OfferKind.CHANGE_PLAN: "plan",
}


class SaveOffer(_Section):
    """One offer shown to a customer who is cancelling, instead of the cancellation."""

    id: str = Field(pattern=ID_PATTERN)
    kind: OfferKind
    months: int | None = Field(default=None, ge=1, le=3, strict=True)
    coupon: str | None = Field(default=None, pattern=ID_PATTERN)
    plan: str | None = Field(default=None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _one_term(self) -> Self:
        needed = _OFFER_FIELD[self.kind]
        if getattr(self, needed) is None:
            raise ValueError(f"an offer of kind {self.kind} needs `{needed}`")
        extra = [f for f in _OFFER_FIELD.values() if f != needed and getattr(self, f) is not None]
        if extra:
            raise ValueError(f"an offer of kind {self.kind} takes `{needed}` only, not {extra[0]}")
        return self


class DiscountCombination(StrEnum):
    LARGER_WINS = "larger_wins"  # a coupon and the tenure discount: only the larger applies
    STACK = "stack"  # both apply, the invoice never going below zero


class Programs(_Section):
    """The retention programs document (docs/api.md, `PUT /v1/programs`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Programs")

    tenure_discount: list[TenureStep] | None = Field(
        default=None, max_length=50, description="steps in increasing `after_months`"
    )
    loyalty: LoyaltyProgram | None = None
    refunds: RefundPolicy | None = None
    save_offers: list[SaveOffer] | None = Field(default=None, max_length=20)
    combine_discounts: DiscountCombination = DiscountCombination.LARGER_WINS

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        months = [step.after_months for step in self.tenure_discount or []]
        if any(b <= a for a, b in pairwise(months)):
            raise ValueError("tenure_discount: steps in strictly increasing after_months")
        ids = [offer.id for offer in self.save_offers or []]
        if len(set(ids)) != len(ids):
            raise ValueError("save_offers: each offer id once")
        return self

    @property
    def stacks_discounts(self) -> bool:
        return self.combine_discounts is DiscountCombination.STACK

    def tenure_step(
        self, continuity_start: datetime, paused_seconds: int, period_start: datetime
    ) -> TenureStep | None:
        """The step a period starting at `period_start` earns: the last one whose
        start + N months + the time spent paused is at or before it (None: none yet)."""
        earned = None
        for step in self.tenure_discount or []:
            if step_reached(step, continuity_start, paused_seconds) <= period_start:
                earned = step
        return earned

    def offer(self, offer_id: str) -> SaveOffer | None:
        return next((o for o in self.save_offers or [] if o.id == offer_id), None)


_MONTH = Interval(IntervalUnit.MONTH, 1)


def step_reached(step: TenureStep, continuity_start: datetime, paused_seconds: int) -> datetime:
    """When continuous paid time reaches a step: calendar months (month-end anchored, like
    billing periods) from when continuity began, pushed back by the time spent paused."""
    reached = add_intervals(continuity_start, _MONTH, step.after_months)
    return reached + timedelta(seconds=paused_seconds)


NO_PROGRAMS = Programs()


@dataclass(frozen=True, slots=True)
class ProgramsSetting:
    """The programs as stored: `version` counts the writes (0: never written, all off)."""

    programs: Programs
    version: int = 0
    updated_at: datetime | None = None
