"""The retention programs document as pydantic validates it: the API's `PUT /v1/programs`
body, a scenario file's `programs:` block and the OpenAPI schema are this shape, and a
refusal names its field. `tenure.domain.programs` holds the same programs as plain
dataclasses, for everything that only reads them: building these models is most of
pydantic's cost at a cold start, which no function that merely applies the programs pays.
"""

from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.domain.errors import FieldRuleError
from tenure.domain.ids import ID_PATTERN
from tenure.domain.programs import (
    _OFFER_FIELD,
    AfterWindow,
    DiscountCombination,
    OfferKind,
)

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


class RefundPolicy(_Section):
    """A refund asked within `window_days` of a charge returns it in full; after that,
    `after_window` says what is returned."""

    window_days: int = Field(ge=0, le=3650, strict=True)
    after_window: AfterWindow


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
            raise FieldRuleError("tenure_discount", "steps in strictly increasing after_months")
        ids = [offer.id for offer in self.save_offers or []]
        if len(set(ids)) != len(ids):
            raise FieldRuleError("save_offers", "each offer id once")
        return self
