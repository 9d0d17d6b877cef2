"""The subscription's current period: restarting it, what it is worth a month (the MRR
every command writes to the ledger when it changes), and what is left of it at a moment
(what a pause or a plan change gives back).

The period arithmetic every command shares, kept under the commands so each of them
(lifecycle, pauses, plan changes, cancellation) reads it from one place."""

from datetime import datetime
from fractions import Fraction

from tenure.domain.calendar import add_intervals, seconds_between
from tenure.domain.events import EventType, MrrLedgerEntry
from tenure.domain.plans import Plan
from tenure.domain.subscription.discounts import SubscriptionDiscounts
from tenure.domain.subscription.proration import share_of
from tenure.domain.subscription.states import EARNING


class SubscriptionPeriods(SubscriptionDiscounts):
    """A subscription's current period, its monthly value and its unused value."""

    __slots__ = ()

    # -- its monthly value ------------------------------------------------------------------
    def monthly_value(self, plan: Plan) -> int:
        if self.status not in EARNING:
            return 0
        period = max(self.cycle, 0)
        return plan.monthly_value(period, self.period_discount_on(plan))

    def sync_mrr(self, plan: Plan, at: datetime, reason: EventType) -> None:
        """Write a ledger entry whenever the monthly value changes."""
        value = self.monthly_value(plan)
        if value != self.mrr:
            self.ledger.append(
                MrrLedgerEntry(
                    self.id, self.customer_id, self.currency, at, self.mrr, value, reason
                )
            )
            self.mrr = value

    # -- the period -------------------------------------------------------------------------
    def _restart_periods(self, plan: Plan, now: datetime, first_cycle: int | None = None) -> None:
        self.anchor = now
        self.periods_since_anchor = 0
        self.cycle = self.cycle + 1 if first_cycle is None else first_cycle
        self.current_period_start = now
        self.current_period_end = add_intervals(now, plan.billing_interval, 1)

    def _fraction_left(self, now: datetime) -> Fraction:
        whole = seconds_between(self.current_period_start, self.current_period_end)
        left = seconds_between(now, self.current_period_end)
        if whole <= 0:
            return Fraction(0)
        return Fraction(min(max(left, 0), whole), whole)

    def unused_value(self, plan: Plan, now: datetime) -> int:
        """What the customer paid for the rest of this period on `plan` (0 when nothing was
        paid), before any refund: what a pause or change now would give back."""
        return self._unused_value(plan, now)

    def _unused_value(self, plan: Plan, now: datetime, refunded: int = 0) -> int:
        """What the customer paid for the rest of this period (0 when nothing was paid), less
        what refunds of the period's invoices already gave back."""
        if self.status not in EARNING:
            return 0
        price = plan.price_for_period(max(self.cycle, 0)).amount_minor
        price -= self.period_discount_on(plan)  # what was paid, after its coupon
        unused = share_of(price, self._fraction_left(now), plan.currency)
        return max(unused - refunded, 0)
