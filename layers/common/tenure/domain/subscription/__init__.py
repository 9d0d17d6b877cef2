"""The subscription state machine: named commands, legal transitions, recorded events.

`Subscription` is made of parts, each a module of one responsibility, so a change to how
(say) pauses or plan changes work is made, read and reviewed in a module of its own:

- states.py: the statuses, and which of them each command may start from (ALLOWED);
- record.py: the fields, the events recorded, and queries that read only the fields;
- discounts.py: the coupon, tenure discount and loyalty points that price its periods;
- periods.py: the current period: restarting it, its MRR, what is left of it;
- prices.py: the price it pays for a period, and its plan's price changes;
- lifecycle.py: renewals and what payments do to its status;
- cancellation.py: every way it ends, and scheduling an end;
- pauses.py: pause and resume;
- plan_changes.py: plan, seat and add-on changes (proration.py: what they are worth);
- balances.py: its credit and the charge carried to its next invoice;
- dates.py: an operator's moves of the trial's end and the renewal date.

Each part extends the one it builds on, so the type checker sees every helper a command
calls: discounts extends the record, periods extends discounts, the commands extend
periods (lifecycle extends cancellation, as a renewal may end the subscription), and
prices, balances and dates need only the record. No part imports this module: no cycle. The
parts add methods only (`__slots__ = ()`): the fields stay one slotted dataclass, which
the in-memory store copies field by field (tenure.fakes_copy). Every name this module
exported before the split is still exported here."""

from datetime import datetime, timedelta

from tenure.domain.calendar import add_intervals
from tenure.domain.discounts import Discount
from tenure.domain.due import DueKind  # also imported from here by older callers
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.subscription.balances import MAX_CREDIT, SubscriptionBalances
from tenure.domain.subscription.dates import MAX_MOVE, SubscriptionDates
from tenure.domain.subscription.lifecycle import SubscriptionLifecycle
from tenure.domain.subscription.pauses import SubscriptionPauses
from tenure.domain.subscription.plan_changes import SubscriptionPlanChanges
from tenure.domain.subscription.prices import SubscriptionPrices
from tenure.domain.subscription.proration import Proration
from tenure.domain.subscription.record import SubscriptionRecord
from tenure.domain.subscription.states import ALLOWED, EARNING, SubscriptionStatus
from tenure.domain.timeutil import iso, utc

__all__ = [
    "ALLOWED",
    "EARNING",
    "MAX_CREDIT",
    "MAX_MOVE",
    "DueKind",
    "Proration",
    "Subscription",
    "SubscriptionRecord",
    "SubscriptionStatus",
]


class Subscription(
    SubscriptionLifecycle,
    SubscriptionPauses,
    SubscriptionPlanChanges,
    SubscriptionPrices,
    SubscriptionBalances,
    SubscriptionDates,
):
    """A customer's subscription to a plan: its fields are SubscriptionRecord's, its
    commands its parts' (see this module's docstring)."""

    __slots__ = ()

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def subscribe(
        cls,
        subscription_id: str,
        customer_id: str,
        plan: Plan,
        now: datetime,
        discount: Discount | None = None,
    ) -> "Subscription":
        """`discount`: a coupon redeemed with the subscription; it covers the first paid
        period (the one after the trial, when there is one)."""
        now = utc(now)
        if plan.trial_days:
            trial_end = now + timedelta(days=plan.trial_days)
            sub = cls(
                id=subscription_id,
                customer_id=customer_id,
                plan_id=plan.id,
                currency=plan.currency,
                status=SubscriptionStatus.TRIALING,
                created_at=now,
                anchor=trial_end,
                periods_since_anchor=-1,
                cycle=-1,
                current_period_start=now,
                current_period_end=trial_end,
                trial_end=trial_end,
            )
            sub._record(EventType.SUBSCRIPTION_CREATED, now, plan=plan.id, status=sub.status)
            sub._record(EventType.TRIAL_STARTED, now, trial_end=iso(trial_end))
            if discount is not None:
                sub.apply_discount(discount, now)
            return sub
        sub = cls(
            id=subscription_id,
            customer_id=customer_id,
            plan_id=plan.id,
            currency=plan.currency,
            status=SubscriptionStatus.INCOMPLETE,
            created_at=now,
            anchor=now,
            periods_since_anchor=0,
            cycle=0,
            current_period_start=now,
            current_period_end=add_intervals(now, plan.billing_interval, 1),
            continuity_start=now,  # the first paid period starts now
        )
        sub._record(EventType.SUBSCRIPTION_CREATED, now, plan=plan.id, status=sub.status)
        if discount is not None:
            sub.apply_discount(discount, now)
            sub._open_period_discount()
        return sub
