"""What a coupon must be to be accepted: the API's request body and a scenario file's coupons.

A pydantic model like `PlanSpec`, so a refusal names its field (422 with the path, or a
scenario error at `coupons[i].field`); `to_coupon()` gives the domain's `Coupon`.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.errors import FieldRuleError
from tenure.domain.ids import DISPLAY_NAME_PATTERN, ID_PATTERN
from tenure.domain.moment_spec import Moment
from tenure.domain.money import charged_currency, unchargeable
from tenure.domain.timeutil import utc

PercentOff = Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)]


class CouponSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", title="Coupon")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(default="", max_length=200, pattern=DISPLAY_NAME_PATTERN)
    percent_off: PercentOff | None = None
    amount_off: int | None = Field(
        default=None, gt=0, le=10**12, strict=True, description="minor units of `currency`"
    )
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    duration: CouponDuration
    duration_in_periods: int | None = Field(
        default=None, ge=1, le=1200, strict=True, description="with `repeating` only"
    )
    max_redemptions: int | None = Field(default=None, ge=1, le=10**9, strict=True)
    redeem_by: Moment | None = None
    plans: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list, max_length=100, description="empty: every plan"
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        return charged_currency(value) if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off and amount_off")
        if (self.amount_off is None) != (self.currency is None):
            raise ValueError("amount_off needs a currency, and a currency goes with amount_off")
        if self.amount_off is not None and self.currency is not None:
            why = unchargeable(self.amount_off, self.currency)
            if why:  # KWD 0.001 off would leave every invoice it touches uncharged
                raise FieldRuleError("amount_off", why)
        repeating = self.duration is CouponDuration.REPEATING
        if repeating != (self.duration_in_periods is not None):
            raise ValueError("duration_in_periods goes with duration `repeating`, and only it")
        if len(set(self.plans)) != len(self.plans):
            raise FieldRuleError("plans", "each plan once")
        return self

    def to_coupon(self, created_at: datetime) -> Coupon:
        terms = DiscountTerms(
            percent_off=self.percent_off, amount_off=self.amount_off, currency=self.currency
        )
        return Coupon(
            id=self.id,
            name=self.name,
            terms=terms,
            duration=self.duration,
            duration_in_periods=self.duration_in_periods,
            max_redemptions=self.max_redemptions,
            redeem_by=utc(self.redeem_by) if self.redeem_by is not None else None,
            plans=tuple(self.plans),
            created_at=created_at,
        )
