"""Coupons, the discounts they give a subscription, and how discount lines join an invoice.

A `Coupon` is the business's offer (50 % off once, 5.00 off for three periods, ...). Redeemed
for a subscription it becomes a `Discount`: the coupon's terms copied at that moment, so a
coupon changed or exhausted later never reprices what was promised, plus how many period
invoices it still covers. Plain dataclasses like `Plan`; what a coupon must be to be
accepted is `tenure.domain.coupon_spec.CouponSpec`.

Which invoices a discount covers: the period invoices (a subscription's first paid period,
each renewal, the period a resume starts), from the first one whose period starts at or
after the moment it was applied. A proration invoice (a plan change inside a period) is
neither discounted nor counted. `duration_in_periods` counts invoices, not months: a
repeating coupon of 3 on an annual plan covers three years, as its name says. A period on a
plan outside the coupon's `plans` is not discounted, yet counts: a coupon's duration runs
with the subscription's periods, whatever the plan.

Discount lines (a coupon, the tenure discount) are computed on the pre-tax subtotal of the
plan and intro lines, so tax follows the discounted price, and never take that subtotal below
zero. When several discounts apply to one invoice the larger wins unless the business chose
to stack them (`Programs.combine_discounts`): `choose_discounts` is where that rule lives.
Under "larger wins" a coupon that lost to the tenure discount still counts the period as
covered: its duration runs with the periods, as it does on a plan it is not for.

The tenure discount (`TenureDiscount`) is the step of the business's ladder a period earned
(tenure.domain.programs.Programs.tenure_step), copied onto the subscription when the period
opens, with the combining rule of that moment: the invoice, the MRR and a pause's credit of
one period all price it the same way even if the programs change meanwhile.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from tenure.domain.errors import ValidationFailedError
from tenure.domain.invoices import InvoiceLine, LineKind, plan_lines
from tenure.domain.money import Money, charge_step, round_to_step
from tenure.domain.plans import Plan
from tenure.domain.timeutil import iso, utc


class CouponDuration(StrEnum):
    ONCE = "once"  # the next period invoice only
    REPEATING = "repeating"  # the next `duration_in_periods` period invoices
    FOREVER = "forever"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscountTerms:
    """What a coupon takes off one invoice: a percent of it, or an amount in one currency."""

    percent_off: Decimal | None = None
    amount_off: int | None = None  # minor units of `currency`
    currency: str | None = None  # set with `amount_off` only

    def off(self, subtotal: int, step: int = 1) -> int:
        """What comes off a pre-tax subtotal, in its minor units: never more than it. A
        percentage is rounded half-up to `step` (money.charge_step of the currency)."""
        if subtotal <= 0:
            return 0
        if self.percent_off is not None:
            share = Fraction(subtotal) * Fraction(self.percent_off) / 100
            return min(round_to_step(share, step), subtotal)
        return min(self.amount_off or 0, subtotal)

    def describe(self) -> str:
        """The terms in the stored line's English ("50% off", "USD 5.00 off")."""
        if self.percent_off is not None:
            return f"{self.percent_off.normalize():f}% off"
        return f"{Money(self.amount_off or 0, self.currency or 'USD')} off"


@dataclass(slots=True, kw_only=True)
class Coupon:
    id: str
    name: str = ""
    terms: DiscountTerms
    duration: CouponDuration
    duration_in_periods: int | None = None  # with `repeating` only
    max_redemptions: int | None = None
    redeem_by: datetime | None = None
    plans: tuple[str, ...] = ()  # empty: any plan
    created_at: datetime
    times_redeemed: int = 0
    version: int = 0

    def __post_init__(self) -> None:
        self.duration = CouponDuration(self.duration)
        self.plans = tuple(self.plans)
        self.redeem_by = utc(self.redeem_by) if self.redeem_by is not None else None

    @property
    def exhausted(self) -> bool:
        return self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions

    def redeem(self, plan: Plan, currency: str, now: datetime) -> "Discount":
        """Redeem once for a subscription on `plan` billed in `currency`: the discount it
        gets, and one more redemption counted here. Refused (ValidationFailedError on
        `coupon`) when the coupon can no longer be redeemed or does not fit."""
        now = utc(now)
        if self.redeem_by is not None and now > self.redeem_by:
            raise ValidationFailedError(
                "coupon", f"coupon {self.id!r} could be redeemed until {iso(self.redeem_by)}"
            )
        if self.exhausted:
            raise ValidationFailedError(
                "coupon",
                f"coupon {self.id!r} has been redeemed {self.times_redeemed} times, its maximum",
            )
        if self.plans and plan.id not in self.plans:
            raise ValidationFailedError(
                "coupon",
                f"coupon {self.id!r} is for plans {', '.join(self.plans)}, not {plan.id!r}",
            )
        if self.terms.currency is not None and self.terms.currency != currency:
            raise ValidationFailedError(
                "coupon",
                f"coupon {self.id!r} takes off {self.terms.currency}; "
                f"the subscription is billed in {currency}",
            )
        self.times_redeemed += 1
        periods = {
            CouponDuration.ONCE: 1,
            CouponDuration.REPEATING: self.duration_in_periods,
            CouponDuration.FOREVER: None,
        }[self.duration]
        return Discount(
            coupon_id=self.id,
            name=self.name or self.id,
            terms=self.terms,
            plans=self.plans,
            periods_left=periods,
            starts=now,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Discount:
    """A coupon as redeemed for one subscription (Stripe calls this a discount)."""

    coupon_id: str
    name: str  # the coupon's name (its id when it has none), for the invoice line
    terms: DiscountTerms
    plans: tuple[str, ...] = ()
    periods_left: int | None  # period invoices it still covers; None: forever
    starts: datetime  # covers periods that start at or after this moment

    def covers_period_from(self, period_start: datetime) -> bool:
        return self.starts <= period_start and self.periods_left != 0

    def used_once(self) -> "Discount | None":
        """The discount after covering one more period; None once it has no period left."""
        if self.periods_left is None:
            return self
        left = self.periods_left - 1
        return replace(self, periods_left=left) if left > 0 else None

    def off(self, plan: Plan, subtotal: int) -> int:
        """What it takes off a period's pre-tax subtotal on `plan` (0 on a plan it is not for)."""
        if self.plans and plan.id not in self.plans:
            return 0
        return self.terms.off(subtotal, charge_step(plan.currency))

    def line(self, plan: Plan, subtotal: int) -> InvoiceLine | None:
        off = self.off(plan, subtotal)
        if not off:
            return None
        return InvoiceLine(LineKind.COUPON, coupon_description(self.name, self.terms), -off)


@dataclass(frozen=True, slots=True, kw_only=True)
class TenureDiscount:
    """The tenure ladder's step one period earned, and how it combines with a coupon."""

    after_months: int
    percent_off: Decimal
    stack: bool = False  # with a coupon: both apply (True) or the larger alone (False)

    def line(self, subtotal: int, step: int = 1) -> InvoiceLine | None:
        off = DiscountTerms(percent_off=self.percent_off).off(subtotal, step)
        if not off:
            return None
        return InvoiceLine(LineKind.TENURE_DISCOUNT, tenure_description(self), -off)


def tenure_description(step: TenureDiscount) -> str:
    """The stored English of a tenure line: "Tenure discount after 12 months (5% off)"."""
    return (
        f"Tenure discount after {step.after_months} months ({step.percent_off.normalize():f}% off)"
    )


def coupon_description(name: str, terms: DiscountTerms) -> str:
    """The stored English of a coupon line: "Coupon SPRING (50% off)"."""
    return f"Coupon {name} ({terms.describe()})"


def subtotal_of(lines: Sequence[InvoiceLine]) -> int:
    """The pre-tax amount a discount applies to: the plan and its intro discount."""
    return sum(line.amount for line in lines if line.kind in (LineKind.PLAN, LineKind.DISCOUNT))


def choose_discounts(
    candidates: Sequence[InvoiceLine], *, stack: bool = False
) -> list[InvoiceLine]:
    """Of the discount lines that could apply to one invoice, the ones that do: the largest
    alone (the first listed on a tie), or all of them when the business stacks discounts.
    Each line is already capped at the subtotal; stacked, the caller caps the sum."""
    present = [line for line in candidates if line.amount]
    if stack or len(present) <= 1:
        return present
    return [min(present, key=lambda line: line.amount)]  # amounts are negative


def with_discounts(
    lines: list[InvoiceLine], candidates: Sequence[InvoiceLine], *, stack: bool = False
) -> list[InvoiceLine]:
    """`lines` (plan and intro, before tax) with the discounts that apply, never below zero."""
    room = max(subtotal_of(lines), 0)
    chosen: list[InvoiceLine] = []
    for line in choose_discounts(candidates, stack=stack):
        off = min(-line.amount, room)
        if off:
            chosen.append(replace(line, amount=-off))
            room -= off
    return [*lines, *chosen]


def period_lines(
    plan: Plan,
    period_index: int,
    description: str,
    discount: Discount | None,
    tenure: TenureDiscount | None = None,
) -> list[InvoiceLine]:
    """Plan, intro and discount lines of one period, before tax."""
    lines = plan_lines(plan, period_index, description)
    return with_discounts(
        lines,
        _candidates(plan, subtotal_of(lines), discount, tenure),
        stack=tenure is not None and tenure.stack,
    )


def discounts_off(
    plan: Plan, subtotal: int, discount: Discount | None, tenure: TenureDiscount | None
) -> int:
    """What the discounts that apply take off a period's pre-tax subtotal, in all: what
    `period_lines` writes as lines, for the MRR and a pause's credit."""
    candidates = _candidates(plan, subtotal, discount, tenure)
    lines = with_discounts(
        [InvoiceLine(LineKind.PLAN, "", subtotal)],
        candidates,
        stack=tenure is not None and tenure.stack,
    )
    return -sum(line.amount for line in lines[1:])


def _candidates(
    plan: Plan, subtotal: int, discount: Discount | None, tenure: TenureDiscount | None
) -> list[InvoiceLine]:
    found = [
        discount.line(plan, subtotal) if discount is not None else None,
        tenure.line(subtotal, charge_step(plan.currency)) if tenure is not None else None,
    ]
    return [line for line in found if line is not None]
