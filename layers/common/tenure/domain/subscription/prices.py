"""The price a subscription pays for a period, and the changes of its plan's and add-ons'
prices it has noted (tenure.domain.prices: a change starts for it at its first period at
or after the change's date and the notice it is owed).

Its own dates for each change are kept on it (`price_steps`), so every lookup of a
period's price (renewal, previews, price-change emails) goes through `price_at` here."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.prices import PriceStep, change_in_effect, first_period_from
from tenure.domain.pricing import item_amount
from tenure.domain.subscription.record import SubscriptionRecord
from tenure.domain.timeutil import iso, utc


class SubscriptionPrices(SubscriptionRecord):
    """The prices a subscription pays, and its plan's price changes."""

    __slots__ = ()

    # -- the price of a period --------------------------------------------------------------
    @property
    def joined_plan_at(self) -> datetime:
        return self.plan_since if self.plan_since is not None else self.created_at

    def plan_at(self, plan: Plan, period_start: datetime) -> Plan:
        """`plan` at the price this subscription pays for a period that starts at
        `period_start`: the one price lookup the renewal and every preview go through."""
        return self.price_at(plan, self.joined_plan_at, period_start)

    def addon_at(self, addon: Plan, period_start: datetime) -> Plan:
        """Add-on `addon` at the price this subscription pays for it for a period that starts
        at `period_start` (it holds its add-ons since it was created, or since
        `join_addon_prices` noted the ones it bought later)."""
        return self.price_at(addon, self.created_at, period_start)

    def price_at(self, price: Plan, joined: datetime, period_start: datetime) -> Plan:
        if not price.price_changes:
            return price
        change = change_in_effect(price.price_changes, joined, self.price_steps, utc(period_start))
        return price.priced_by(change)

    # -- price changes ----------------------------------------------------------------------
    def note_price_changes(
        self, plan: Plan, now: datetime, notice_at: datetime, addons: Sequence[Plan] = ()
    ) -> None:
        """Take the changes of `plan`'s price, and of the `addons` it holds, this subscription
        has not noted yet. Each that is not grandfathered gets its first period at the new
        price: the first to start at or after the change's effective date and `notice_days`
        after `notice_at`, when its email is planned to go out (an event says so, and the
        planner plans the email then). A subscriber who joined after a change took effect
        pays it already: nothing to note."""
        if self.ended or plan.id != self.plan_id:
            return
        # The first period at the new price starts at or after this period's end, so it is
        # billed for the items scheduled for then, when a change waits: the email quotes those.
        billed = self.scheduled_items if self.scheduled_items is not None else self.items
        self._note_changes(plan, self.joined_plan_at, billed.quantity, now, notice_at)
        for addon in addons:
            quantity = self._addon_quantity(addon.id)
            if quantity is not None:
                self._note_changes(addon, self.created_at, quantity, now, notice_at)

    def _note_changes(
        self, price: Plan, joined: datetime, quantity: int, now: datetime, notice_at: datetime
    ) -> None:
        noted = {step.change for step in self.price_steps}
        for change in price.price_changes:
            if change.id in noted or joined >= change.effective_at:
                continue
            if change.grandfather:
                self.price_steps = (*self.price_steps, PriceStep(change.id, None))
                continue
            earliest = max(change.effective_at, utc(notice_at) + timedelta(days=change.notice_days))
            starts = first_period_from(
                self.anchor, price.billing_interval, self.current_period_end, earliest
            )
            was = self.price_at(price, joined, starts)
            self.price_steps = (*self.price_steps, PriceStep(change.id, starts))
            data: dict[str, Any] = {"change": change.id, "plan": self.plan_id}
            if price.id != self.plan_id:
                data["addon"] = price.id
            # What the subscriber's own units cost per period before and after: a table of
            # tiers has no one unit price, and 3 seats at a new unit price cost 3 times it.
            old_amount = item_amount(was, quantity)
            new_amount = item_amount(price.priced_by(change), quantity)
            self._record(
                EventType.PRICE_CHANGE_NOTED,
                now,
                **data,
                old_amount=old_amount,
                amount=new_amount,
                currency=self.currency,
                starts=iso(starts),
                notice_at=iso(notice_at),
            )

    def join_addon_prices(self, addon: Plan, now: datetime) -> None:
        """`addon` is bought now: the changes of its price in effect by now are its price from
        the current period on (it joins the add-on at today's price, as a new subscriber
        would); one announced for later is noted as for any holder."""
        noted = {step.change for step in self.price_steps}
        start = self.current_period_start
        for change in addon.price_changes:
            if change.id not in noted and change.effective_at <= utc(now):
                self.price_steps = (*self.price_steps, PriceStep(change.id, start))

    def held_prices(self) -> list[str]:
        """The prices it pays or will pay from its period's end: its plan, then its add-ons."""
        addons = {a.price for a in self.items.addons}
        if self.scheduled_items is not None:
            addons |= {a.price for a in self.scheduled_items.addons}
        return [self.plan_id, *sorted(addons - {self.plan_id})]

    def _addon_quantity(self, price: str) -> int | None:
        """How many of add-on `price` it holds from its period's end, or now when no change
        waits (None: none): the quantity its first period at a new price is billed for."""
        for items in (self.scheduled_items, self.items):
            for item in items.addons if items is not None else ():
                if item.price == price:
                    return item.quantity
        return None
