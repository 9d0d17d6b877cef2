"""What takes money off a subscription's periods: the coupon redeemed for it, the tenure
discount its continuous paid time earns, and the loyalty points its customer redeemed.

A period's discounts are settled when it opens (`_open_period_discount`) and kept for it,
so its MRR, the unused time a change gives back and every preview read the same ones.
The discounts themselves (Discount, TenureDiscount) are tenure.domain.discounts'."""

from datetime import datetime

from tenure.domain.discounts import Discount, TenureDiscount, discounts_off
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.domain.subscription.record import SubscriptionRecord
from tenure.domain.timeutil import iso


class SubscriptionDiscounts(SubscriptionRecord):
    """Coupons, the tenure discount and loyalty points on a subscription."""

    __slots__ = ()

    # -- coupons and points -----------------------------------------------------------------
    def apply_discount(self, discount: Discount, now: datetime) -> None:
        """Give it a redeemed coupon. The coupon covers periods that start from now on: the
        current period, already invoiced, keeps its price."""
        self.check_can_take_discount()
        self.discount = discount
        self._record(
            EventType.COUPON_APPLIED,
            now,
            coupon=discount.coupon_id,
            periods=discount.periods_left,
            starts=iso(discount.starts),
        )

    def check_can_take_discount(self) -> None:
        """Refuses a coupon for a subscription that ended or has one still to run (one coupon
        at a time, so a second never silently replaces what the first promised)."""
        self._require("apply_discount")
        if self.discount is not None:
            raise ValidationFailedError(
                "coupon",
                f"the subscription already has coupon {self.discount.coupon_id!r} "
                "for its coming periods",
            )

    def take_points(self, points: int, now: datetime) -> None:
        """Points its customer redeemed, for its next period invoice."""
        self._require("redeem_points")
        if points < 1:
            raise ValidationFailedError("points", "redeem at least one point")
        self.points_pending += points
        self._record(EventType.LOYALTY_POINTS_REDEEMED, now, points=points)

    def credit_points(self, invoice_id: str, used: int, at: datetime) -> None:
        """The pending points went to invoice `invoice_id`: `used` of them as its credit, the
        rest back to the customer's balance (tenure.services.points_planning)."""
        returned, self.points_pending = self.points_pending - used, 0
        self._record(
            EventType.LOYALTY_POINTS_APPLIED,
            at,
            invoice=invoice_id,
            points=used,
            returned=returned,
            currency=self.currency,
        )

    # -- the current and next period's discounts --------------------------------------------
    def period_discount_on(self, plan: Plan) -> int:
        """What the current period's coupon and tenure discount take off its pre-tax price
        on `plan`, combined as its invoice combined them."""
        if self.period_discount is None and self.period_tenure is None:
            return 0
        price = plan.price_for_period(max(self.cycle, 0)).amount_minor
        return discounts_off(plan, price, self.period_discount, self.period_tenure)

    def next_period_discount(self) -> Discount | None:
        """The coupon that will cover the next period, if one will (for previews)."""
        d = self.discount
        return d if d is not None and d.covers_period_from(self.current_period_end) else None

    def next_period_tenure(self, programs: Programs) -> TenureDiscount | None:
        """The tenure step the next period will earn, if it renews (for previews)."""
        return self._tenure_at(self.current_period_end, programs)

    def _tenure_at(
        self, period_start: datetime, programs: Programs | None
    ) -> TenureDiscount | None:
        if programs is None or self.continuity_start is None:
            return None
        step = programs.tenure_step(self.continuity_start, self.paused_seconds, period_start)
        if step is None:
            return None
        return TenureDiscount(
            after_months=step.after_months,
            percent_off=step.percent_off,
            stack=programs.stacks_discounts,
        )

    def _open_period_discount(self, programs: Programs | None = None) -> None:
        """A new period to invoice began: the coupon waiting for it covers it, once more, and
        the tenure step it earned (announced by an event the first time it applies)."""
        d = self.discount
        if d is None or not d.covers_period_from(self.current_period_start):
            self.period_discount = None
        else:
            self.period_discount = d
            self.discount = d.used_once()
        before = self.period_tenure
        self.period_tenure = self._tenure_at(self.current_period_start, programs)
        step = self.period_tenure
        if step is not None and (before is None or before.after_months < step.after_months):
            self._record(
                EventType.TENURE_DISCOUNT_REACHED,
                self.current_period_start,
                after_months=step.after_months,
                percent_off=f"{step.percent_off.normalize():f}",
            )
