"""Changing what a subscription buys: its plan, its seats and its add-ons, now (prorated to
the second, see proration.py) or at the period's end (a scheduled items change).

A change that costs less than what is left of the period becomes the customer's credit;
in a trial nothing has been paid, so nothing is prorated."""

from datetime import datetime
from typing import Any

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.invoices import InvoiceLine, LineKind
from tenure.domain.plans import Plan
from tenure.domain.pricing import Items
from tenure.domain.subscription.periods import SubscriptionPeriods
from tenure.domain.subscription.proration import Proration, share_of
from tenure.domain.subscription.states import SubscriptionStatus
from tenure.domain.timeutil import iso, utc


class SubscriptionPlanChanges(SubscriptionPeriods):
    """Plan, seat and add-on changes."""

    __slots__ = ()

    def change_plan(
        self, old: Plan, new: Plan, now: datetime, refunded: int = 0
    ) -> Proration | None:
        """Switch plans. Same interval: prorate to the second inside the current period.
        Different interval: the billing period restarts now. Returns what to invoice or credit
        (None in a trial, where nothing has been paid). `refunded`: what refunds of this
        period's invoices gave back already, never given back again as unused time."""
        self._require("change_plan")
        now = utc(now)
        if new.id == self.plan_id:
            raise ValidationFailedError("plan", "the subscription is already on this plan")
        if new.currency != self.currency:
            raise ValidationFailedError(
                "plan",
                f"plan currency {new.currency} differs from the subscription's {self.currency}",
            )
        old_id = self.plan_id
        self.plan_id = new.id
        self.plan_since = now  # it joins the plan now (the caller priced `new` for that)
        if self.status is SubscriptionStatus.TRIALING:
            self._record(EventType.PLAN_CHANGED, now, from_plan=old_id, to_plan=new.id)
            return None
        if new.billing_interval == old.billing_interval:
            lines = self._prorated_lines(old, new, now, refunded)
            start, end = now, self.current_period_end
        else:
            unused = self._unused_value(old, now, refunded)
            name = old.name or old.id
            lines = [InvoiceLine(LineKind.PRORATION, f"Unused time on {name}", -unused)]
            self._restart_periods(new, now, first_cycle=0)
            # The new period's invoice is a proration's: full price, no discount.
            self.period_discount, self.period_tenure = None, None
            lines.append(
                InvoiceLine(LineKind.PLAN, new.name or new.id, new.price_for_period(0).amount_minor)
            )
            start, end = self.current_period_start, self.current_period_end
        total = sum(line.amount for line in lines)
        credit = self._credit_a_downgrade(lines, total, now)
        self._record(EventType.PLAN_CHANGED, now, from_plan=old_id, to_plan=new.id, net=total)
        self.sync_mrr(new, now, EventType.PLAN_CHANGED)
        unused = -lines[0].amount
        return Proration(lines, start, end, credit_granted=credit, unused=unused)

    def change_items(
        self, old: Plan, new: Plan, items: Items, now: datetime, refunded: int = 0
    ) -> Proration | None:
        """Change seats or add-ons now: `old` and `new` are the plan priced for the items
        before and after (pricing.priced_plan). Prorated to the second as a plan change on the
        same interval is (`refunded` as there); None in a trial, where nothing has been paid."""
        self._require("change_items")
        now = utc(now)
        if items == self.items:
            raise ValidationFailedError("items", "the subscription already has these items")
        before, self.items = self.items, items
        self.scheduled_items = None  # a change made now replaces one that was waiting
        changed = _items_data(before, items)
        if self.status is SubscriptionStatus.TRIALING:
            self._record(EventType.SUBSCRIPTION_ITEMS_CHANGED, now, **changed)
            return None
        lines = self._prorated_lines(old, new, now, refunded)
        total = sum(line.amount for line in lines)
        credit = self._credit_a_downgrade(lines, total, now)
        self._record(EventType.SUBSCRIPTION_ITEMS_CHANGED, now, net=total, **changed)
        self.sync_mrr(new, now, EventType.SUBSCRIPTION_ITEMS_CHANGED)
        end = self.current_period_end
        return Proration(lines, now, end, credit_granted=credit, unused=-lines[0].amount)

    def schedule_items(self, items: Items, now: datetime) -> None:
        """Change seats or add-ons when the current period ends (the usual way to downgrade:
        what was paid for stays until then, and nothing is prorated)."""
        self._require("change_items")
        if items == self.items:
            raise ValidationFailedError("items", "the subscription already has these items")
        self.scheduled_items = items
        changed = _items_data(self.items, items)
        changed["effective_at"] = iso(self.current_period_end)
        self._record(EventType.SUBSCRIPTION_ITEMS_SCHEDULED, now, **changed)

    def take_scheduled_items(self, now: datetime) -> bool:
        """The period ended: the scheduled items, if any, are the subscription's from now on
        (the renewal then prices the new period with them). Returns whether they changed."""
        items = self.scheduled_items
        if items is None or utc(now) < self.current_period_end:
            return False
        before, self.items, self.scheduled_items = self.items, items, None
        self._record(
            EventType.SUBSCRIPTION_ITEMS_CHANGED,
            self.current_period_end,
            scheduled=True,
            **_items_data(before, items),
        )
        return True

    # -- proration --------------------------------------------------------------------------
    def _prorated_lines(
        self, old: Plan, new: Plan, now: datetime, refunded: int = 0
    ) -> list[InvoiceLine]:
        """The rest of the period given back on `old` and charged on `new` (same interval)."""
        unused = self._unused_value(old, now, refunded)
        remaining = self._remaining_value(new, now)
        return [
            InvoiceLine(LineKind.PRORATION, f"Unused time on {old.name or old.id}", -unused),
            InvoiceLine(LineKind.PRORATION, f"Remaining time on {new.name or new.id}", remaining),
        ]

    def _credit_a_downgrade(self, lines: list[InvoiceLine], total: int, now: datetime) -> int:
        """A change that costs less than what is left of the period: the difference goes to
        the customer's credit (and a line says so). Returns the credit granted."""
        if total >= 0:
            return 0
        self.credit -= total
        lines.append(InvoiceLine(LineKind.CREDIT, "Carried to customer credit", -total))
        self._record(EventType.CREDIT_GRANTED, now, amount=-total, currency=self.currency)
        return -total

    def _remaining_value(self, plan: Plan, now: datetime) -> int:
        price = plan.price_for_period(max(self.cycle, 0)).amount_minor
        return share_of(price, self._fraction_left(now), plan.currency)


def _items_data(before: Items, after: Items) -> dict[str, Any]:
    """An items change as its event tells it: the quantities and add-ons before and after."""

    def addons(items: Items) -> list[dict[str, Any]]:
        return [{"price": a.price, "quantity": a.quantity} for a in items.addons]

    return {
        "from_quantity": before.quantity,
        "to_quantity": after.quantity,
        "from_addons": addons(before),
        "to_addons": addons(after),
    }
