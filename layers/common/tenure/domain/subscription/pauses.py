"""Pausing a subscription and resuming it.

A pause stops billing and turns the paid-for rest of the period into credit; a resume
starts a new period (keeping the continuity the tenure discount counts, less the time
paused), or, on a subscription with a scheduled cancellation, withdraws it."""

from datetime import datetime

from tenure.domain.calendar import seconds_between
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.domain.subscription.periods import SubscriptionPeriods
from tenure.domain.subscription.states import SubscriptionStatus
from tenure.domain.timeutil import iso, utc


class SubscriptionPauses(SubscriptionPeriods):
    """Pause and resume."""

    __slots__ = ()

    def pause(self, plan: Plan, now: datetime, until: datetime | None, refunded: int = 0) -> int:
        """Stop billing now; the paid-for rest of the period becomes credit for the resume,
        less `refunded` (what refunds of the period gave back already). Returns the credit."""
        self._require("pause")
        now = utc(now)
        if until is not None and utc(until) <= now:
            raise ValidationFailedError("until", "must be after the moment of the pause")
        unused = self._unused_value(plan, now, refunded)
        self.credit += unused
        self.status = SubscriptionStatus.PAUSED
        self.paused_at = now
        self.paused_until = utc(until) if until else None
        self._record(
            EventType.SUBSCRIPTION_PAUSED, now, until=iso(self.paused_until), credit=unused
        )
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_PAUSED)
        return unused

    def resume(self, plan: Plan, now: datetime, programs: Programs | None = None) -> bool:
        """Resume a pause (a new period starts now and is invoiced: returns True), or take back
        a scheduled cancellation (nothing to invoice: returns False). A pause keeps the
        continuity the tenure discount counts; the time paused is not counted in it."""
        now = utc(now)
        if self.status is not SubscriptionStatus.PAUSED and self.cancel_at_period_end:
            self.cancel_at_period_end = False
            self.cancel_reason, self.cancel_reason_text = None, None
            self._record(EventType.SUBSCRIPTION_RESUMED, now, cancellation_withdrawn=True)
            return False
        self._require("resume")
        if self.paused_at is not None and self.continuity_start is not None:
            self.paused_seconds += max(seconds_between(self.paused_at, now), 0)
        self.status = SubscriptionStatus.ACTIVE
        self.paused_at = None
        self.paused_until = None
        self._restart_periods(plan, now)
        self._open_period_discount(programs)
        self._record(EventType.SUBSCRIPTION_RESUMED, now, **self._period())
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_RESUMED)
        return True
