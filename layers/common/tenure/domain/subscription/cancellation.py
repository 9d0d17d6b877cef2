"""How a subscription ends: a cancellation the customer or the business asked for (now, or
scheduled for the period's end), the end dunning decides (non-payment), and the expiry of
a first payment that never came.

Every end goes through `_end`, which clears what an ended subscription no longer has (a
scheduled cancellation, its continuity), and the customer's own words about why are kept
with the days of the events that carry them (`_reason_text`, for erasure)."""

from datetime import datetime
from typing import Any

from tenure.domain.errors import IllegalTransitionError
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.subscription.periods import SubscriptionPeriods
from tenure.domain.subscription.states import SubscriptionStatus
from tenure.domain.timeutil import iso, utc


class SubscriptionCancellation(SubscriptionPeriods):
    """The ends of a subscription, and scheduling one."""

    __slots__ = ()

    def cancel(
        self,
        plan: Plan,
        now: datetime,
        at_period_end: bool,
        reason: str | None,
        after_offers: bool = False,
        reason_text: str | None = None,
    ) -> None:
        """Cancel as the customer or the business asked. The event says it was asked for
        (`requested`, where the end itself is also an end of a scheduled cancellation), and
        `after_offers` when save offers were presented and declined first: the metrics count
        each request once (tenure.services.retention). `reason_text`, the customer's own
        words, is kept with the reason (checked by offers.check_reason_text)."""
        now = utc(now)
        asked: dict[str, Any] = {"after_offers": True} if after_offers else {}
        if at_period_end:
            self.check_can_cancel(at_period_end)
            self.cancel_at_period_end = True
            self.cancel_reason, self.cancel_reason_text = reason, reason_text
            asked |= self._reason_text(now)
            self._record(
                EventType.CANCELLATION_SCHEDULED,
                now,
                cancel_at=iso(self.current_period_end),
                reason=reason,
                currency=self.currency,
                **asked,
            )
            return
        self.check_can_cancel(at_period_end)
        self.cancel_reason_text = reason_text
        asked |= self._reason_text(now)
        self._end(now, reason, voluntary=True, requested=True, currency=self.currency, **asked)
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_CANCELED)

    def check_can_cancel(self, at_period_end: bool) -> None:
        """Refuses a cancellation this subscription cannot take (IllegalTransitionError)."""
        if not at_period_end:
            self._require("cancel_now")
            return
        self._require("cancel_at_period_end")
        if self.cancel_at_period_end:
            raise IllegalTransitionError(
                "cancel_at_period_end", self.status, "a cancellation is already scheduled"
            )

    def cancel_for_nonpayment(self, plan: Plan, now: datetime, declines: list[str]) -> None:
        """Involuntary churn: dunning ran out and the policy ends the subscription."""
        self._require("cancel_for_nonpayment")
        self._end(now, "payment_failed", voluntary=False, declines=declines)
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_CANCELED)

    def expire(self, plan: Plan, now: datetime) -> None:
        """The first payment never came within the window (Stripe: incomplete_expired)."""
        self._require("expire")
        self._end(now, "incomplete_expired", voluntary=False)

    def _reason_text(self, at: datetime) -> dict[str, Any]:
        # Only when given: the events of cancellations without words stay as they were.
        if not self.cancel_reason_text:
            return {}
        day = at.strftime("%Y-%m-%d")
        if day not in self.words_on:
            self.words_on = (*self.words_on, day)
        return {"reason_text": self.cancel_reason_text}

    def _end(self, at: datetime, reason: str | None, voluntary: bool, **extra: Any) -> None:
        self.status = SubscriptionStatus.CANCELED
        self.canceled_at = at
        self.cancel_reason = reason
        if not voluntary:
            self.cancel_reason_text = None  # the customer's words were about another reason
        self.cancel_at_period_end = False
        self.incomplete_expires_at = None
        self.continuity_start, self.paused_seconds = None, 0  # continuity ends with it
        self._record(
            EventType.SUBSCRIPTION_CANCELED, at, reason=reason, voluntary=voluntary, **extra
        )
