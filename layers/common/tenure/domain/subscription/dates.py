"""Operator moves of a subscription's dates: a trial ended later, and a renewal moved
(later periods counted from it).

Either is moved at most MAX_MOVE (a year) ahead of the moment of the move."""

from datetime import datetime, timedelta

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.subscription.record import SubscriptionRecord
from tenure.domain.timeutil import iso, utc

# A trial or a renewal is moved at most this far ahead.
MAX_MOVE = timedelta(days=366)


class SubscriptionDates(SubscriptionRecord):
    """A trial's end and the renewal date, as an operator moves them."""

    __slots__ = ()

    def extend_trial(self, until: datetime, now: datetime) -> None:
        """End the trial later: the first paid period starts at `until` (and is counted from
        it, as a trial's always is)."""
        self._require("extend_trial")
        until = utc(until)
        if self.trial_end is None or until <= self.trial_end:
            raise ValidationFailedError("until", "must be after the trial's current end")
        if until - utc(now) > MAX_MOVE:
            raise ValidationFailedError("until", f"must be within {MAX_MOVE.days} days from now")
        self.trial_end = self.current_period_end = self.anchor = until
        self._record(EventType.TRIAL_EXTENDED, now, trial_end=iso(until))

    def move_renewal(self, at: datetime, now: datetime) -> None:
        """Renew at `at` instead of the period's end, and count later periods from it: the
        current period lasts until then (longer or shorter) at the price already paid."""
        self._require("move_renewal")
        at, now = utc(at), utc(now)
        if at <= now:
            raise ValidationFailedError("at", "must be in the future")
        if at <= self.current_period_start:
            raise ValidationFailedError("at", "must be after the current period's start")
        if at - now > MAX_MOVE:
            raise ValidationFailedError("at", f"must be within {MAX_MOVE.days} days from now")
        # As a restart does: the renewal at `at` opens period 0 of a schedule anchored there.
        self.anchor = self.current_period_end = at
        self.periods_since_anchor = -1
        self._record(EventType.RENEWAL_DATE_CHANGED, now, renews_at=iso(at))
