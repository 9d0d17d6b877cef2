"""A subscription's life between payments: the renewal into its next period (which also
carries out a cancellation scheduled for the period's end), and what payments do to its
status (activated when paid, past_due then unpaid as dunning goes on, active again once
its collections case is paid off).

It builds on the cancellation part, since a renewal may end the subscription."""

from datetime import datetime

from tenure.domain.calendar import add_intervals
from tenure.domain.errors import IllegalTransitionError
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.domain.subscription.cancellation import SubscriptionCancellation
from tenure.domain.subscription.states import SubscriptionStatus
from tenure.domain.timeutil import utc


class SubscriptionLifecycle(SubscriptionCancellation):
    """Renewals and the outcomes of payments."""

    __slots__ = ()

    def renew(self, plan: Plan, now: datetime, programs: Programs | None = None) -> bool:
        """Roll into the next period. Returns True when the new period must be invoiced.
        `programs`: the business's programs now (None: all off), for the tenure discount."""
        self._require("renew")
        if utc(now) < self.current_period_end:
            raise IllegalTransitionError("renew", self.status, "the current period has not ended")
        ended = self.current_period_end
        if self.cancel_at_period_end:
            self._end(ended, self.cancel_reason, voluntary=True, **self._reason_text(ended))
            self.sync_mrr(plan, ended, EventType.SUBSCRIPTION_CANCELED)
            return False
        converting = self.status is SubscriptionStatus.TRIALING
        self.periods_since_anchor += 1
        self.cycle += 1
        self.current_period_start = ended
        self.current_period_end = add_intervals(
            self.anchor, plan.billing_interval, self.periods_since_anchor + 1
        )
        if converting:
            self.continuity_start = ended  # paid time begins with the first paid period
        elif self.continuity_start is None:
            # Stored before continuity was kept: counted from the subscription's creation.
            self.continuity_start = self.created_at
        self._open_period_discount(programs)
        if converting:
            self.status = SubscriptionStatus.ACTIVE
            reason = EventType.SUBSCRIPTION_ACTIVATED
            self._record(reason, ended, trial_converted=True)
        else:
            reason = EventType.SUBSCRIPTION_RENEWED
            self._record(reason, ended, **self._period())
        self.sync_mrr(plan, ended, reason)
        return True

    def activate(self, plan: Plan, now: datetime) -> None:
        """The invoice that was owed got paid."""
        self._require("activate")
        if self.status is SubscriptionStatus.ACTIVE:
            return
        if (
            self.status in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.UNPAID)
            and utc(now) >= self.current_period_end
        ):
            # The first payment came after the first period had passed: service starts now,
            # rather than billing for periods the customer never had.
            self._restart_periods(plan, utc(now), first_cycle=0)
        if self.status in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.UNPAID):
            # Paid at last: continuous paid time begins (again) with the period now paid.
            self.continuity_start, self.paused_seconds = self.current_period_start, 0
        self.status = SubscriptionStatus.ACTIVE
        self.incomplete_expires_at = None
        self._record(EventType.SUBSCRIPTION_ACTIVATED, now)
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_ACTIVATED)

    def reactivate_after_collections(self, plan: Plan, now: datetime) -> None:
        """Its collections case was paid off: the subscription is active again from a new
        period that starts now. That period is not covered by the debt just repaid, so it
        ends at once (`current_period_end = now`): the renewal due now rolls into it and
        invoices and charges it like any renewal, with the same exactly-once keys."""
        self._require("reactivate_after_collections")
        now = utc(now)
        # The renewal computes the new period's end from the anchor: periods_since_anchor
        # becomes 0 when it rolls, so the period it opens is [now, now + one interval].
        self.anchor = now
        self.periods_since_anchor = -1
        self.current_period_start = min(self.current_period_start, now)
        self.current_period_end = now
        self.continuity_start, self.paused_seconds = now, 0  # continuity starts again
        self.status = SubscriptionStatus.ACTIVE
        self._record(EventType.SUBSCRIPTION_ACTIVATED, now, reactivated_by="collections")
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_ACTIVATED)

    def mark_past_due(self, plan: Plan, now: datetime) -> None:
        self._require("mark_past_due")
        if self.status is SubscriptionStatus.PAST_DUE:
            return
        self.status = SubscriptionStatus.PAST_DUE
        self._record(EventType.SUBSCRIPTION_PAST_DUE, now)
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_PAST_DUE)

    def mark_unpaid(self, plan: Plan, now: datetime, declines: list[str]) -> None:
        """Dunning ran out: the debt stays, the subscription stops renewing."""
        self._require("mark_unpaid")
        if self.status is SubscriptionStatus.UNPAID:
            return
        self.status = SubscriptionStatus.UNPAID
        self.continuity_start, self.paused_seconds = None, 0  # continuity is lost
        self._record(EventType.SUBSCRIPTION_UNPAID, now, declines=declines)
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_UNPAID)
