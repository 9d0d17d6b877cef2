"""Price changes: what a plan costs when, and from which period each subscriber pays it.

A plan keeps every change of its price (`Plan.price_changes`). A subscriber who joined
after a change took effect pays it from the start. One who was there before is told first:
when its subscription notes the change (`Subscription.note_price_changes`), it fixes the
first period it pays the new amount, at or after the change's `effective_at` and at least
`notice_days` after the moment its email is planned to go out. A grandfathering change is
noted too, with no such period: the subscriber keeps the price it had.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenure.domain.calendar import Interval, add_intervals, period_index_at
from tenure.domain.errors import ValidationFailedError
from tenure.domain.timeutil import utc

# The shortest notice accepted unless a deployment sets its own (MIN_PRICE_NOTICE_DAYS): a
# conservative floor, not legal advice; docs/pricing.md gives the sources (the EU's and UK's
# unfair-terms grey list, California's automatic-renewal law) and their caveats.
DEFAULT_MIN_NOTICE_DAYS = 30
MAX_NOTICE_DAYS = 366
# How far ahead a change may be set: a schedule bounded so a subscriber's first period at
# the new price is found by a short walk over its periods.
MAX_EFFECTIVE_AHEAD = timedelta(days=2 * 366)
MAX_AMOUNT = 10**12


@dataclass(frozen=True, slots=True)
class Tier:
    """One band of a graduated price: units up to `up_to` (None: every unit beyond the last
    band) cost `unit_amount` each, plus `flat_amount` once when any unit falls in it. Held
    here, not beside Plan, because a price change may carry a new table of them."""

    up_to: int | None
    unit_amount: int
    flat_amount: int = 0


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A new price for a plan: `amount` (minor units, the plan's currency) for new
    subscribers from `effective_at`; for those already there, from their first period at or
    after it that starts `notice_days` after their email, unless `grandfather` keeps them
    on their price."""

    id: str  # "pc1", "pc2", …: the n-th change of its plan
    amount: int
    effective_at: datetime
    notice_days: int
    grandfather: bool
    announced_at: datetime
    # A plan priced by graduated tiers changes its whole table (and `amount` stays 0, as such
    # a plan's is); a plan priced per unit has none here.
    tiers: tuple[Tier, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective_at", utc(self.effective_at))
        object.__setattr__(self, "announced_at", utc(self.announced_at))
        object.__setattr__(self, "tiers", tuple(self.tiers))


@dataclass(frozen=True, slots=True)
class PriceStep:
    """A subscriber's own date for one change: the start of the first period it pays the
    change's amount (None: grandfathered, it never does)."""

    change: str
    starts: datetime | None


def check_price_change(
    amount: int,
    effective_at: datetime,
    notice_days: int,
    now: datetime,
    min_notice_days: int = DEFAULT_MIN_NOTICE_DAYS,
    tiers: Sequence[Tier] = (),
) -> None:
    """Refuses a change Tenure cannot honour (ValidationFailedError naming the field). A
    change by `tiers` has amount 0 (the tiers themselves are checked as at plan creation)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailedError("amount", "must be a positive whole number of minor units")
    if tiers:
        if amount != 0:
            raise ValidationFailedError("amount", "give amount or tiers, not both")
    elif amount <= 0:
        raise ValidationFailedError("amount", "must be a positive whole number of minor units")
    if amount > MAX_AMOUNT:
        raise ValidationFailedError("amount", f"must be at most {MAX_AMOUNT}")
    if isinstance(notice_days, bool) or not isinstance(notice_days, int):
        raise ValidationFailedError("notice_days", "must be a whole number of days")
    if notice_days < min_notice_days:
        raise ValidationFailedError(
            "notice_days",
            f"must be at least {min_notice_days}: subscribers are owed that much notice",
        )
    if notice_days > MAX_NOTICE_DAYS:
        raise ValidationFailedError("notice_days", f"must be at most {MAX_NOTICE_DAYS}")
    if effective_at.tzinfo is None:
        raise ValidationFailedError("effective_at", "must carry a time zone offset")
    if utc(effective_at) < utc(now):
        raise ValidationFailedError("effective_at", "must not be in the past")
    if utc(effective_at) - utc(now) > MAX_EFFECTIVE_AHEAD:
        raise ValidationFailedError(
            "effective_at", f"must be within {MAX_EFFECTIVE_AHEAD.days} days from now"
        )


def change_in_effect(
    changes: Iterable[PriceChange],
    subscribed_at: datetime,
    steps: Iterable[PriceStep],
    period_start: datetime,
) -> PriceChange | None:
    """The one price lookup: the change whose price a subscriber (joined at `subscribed_at`,
    with its own `steps`) pays for a period starting at `period_start` (None: the price it
    was created with). The latest change that reaches it wins; changes it has not noted yet
    (nor joined after) leave its price alone."""
    own = {step.change: step.starts for step in steps}
    found = None
    for change in sorted(changes, key=lambda c: (c.effective_at, c.id)):
        if subscribed_at >= change.effective_at:
            found = change  # joined at this price
            continue
        starts = own.get(change.id)
        if starts is not None and period_start >= starts:
            found = change
    return found


def unit_amount_at(
    base_amount: int,
    changes: Iterable[PriceChange],
    subscribed_at: datetime,
    steps: Iterable[PriceStep],
    period_start: datetime,
) -> int:
    """The unit amount `change_in_effect` finds (`base_amount` when none)."""
    change = change_in_effect(changes, subscribed_at, steps, period_start)
    return base_amount if change is None else change.amount


def first_period_from(
    anchor: datetime, interval: Interval, next_start: datetime, moment: datetime
) -> datetime:
    """The first period start at or after `moment`, counting boundaries from `anchor`, and
    never before `next_start` (the period the subscription opens next)."""
    if moment <= next_start:
        return next_start
    n = period_index_at(anchor, interval, moment)
    start = add_intervals(anchor, interval, n)
    return start if start >= moment else add_intervals(anchor, interval, n + 1)
