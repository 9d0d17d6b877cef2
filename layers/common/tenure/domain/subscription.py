"""The subscription state machine: named commands, legal transitions, recorded events."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from tenure.domain.calendar import add_intervals, seconds_between
from tenure.domain.customers import Contact, Payer
from tenure.domain.discounts import Discount, TenureDiscount, discounts_off
from tenure.domain.due import DueKind  # also imported from here by older callers
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType, MrrLedgerEntry
from tenure.domain.invoices import InvoiceLine, LineKind
from tenure.domain.money import charge_step, round_to_step, unchargeable
from tenure.domain.plans import Plan
from tenure.domain.prices import PriceStep, change_in_effect, first_period_from
from tenure.domain.pricing import Items, item_amount
from tenure.domain.programs import Programs
from tenure.domain.timeutil import iso, utc
from tenure.domain.unused_credit import spend_kept


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"  # created, first payment not made yet
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    PAUSED = "paused"
    CANCELED = "canceled"


# Which states each command may start from. Anything else raises IllegalTransitionError.
ALLOWED: dict[str, frozenset[SubscriptionStatus]] = {
    "renew": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "pause": frozenset({SubscriptionStatus.ACTIVE}),
    "resume": frozenset({SubscriptionStatus.PAUSED}),
    "cancel_now": frozenset(set(SubscriptionStatus) - {SubscriptionStatus.CANCELED}),
    "cancel_at_period_end": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "change_plan": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "change_items": frozenset(
        {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
    ),
    "activate": frozenset(
        {
            SubscriptionStatus.INCOMPLETE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.UNPAID,
            SubscriptionStatus.ACTIVE,
        }
    ),
    "mark_past_due": frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}),
    "reactivate_after_collections": frozenset({SubscriptionStatus.UNPAID}),
    "mark_unpaid": frozenset({SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}),
    "cancel_for_nonpayment": frozenset(
        {
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.UNPAID,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
        }
    ),
    "expire": frozenset({SubscriptionStatus.INCOMPLETE}),
    "extend_trial": frozenset({SubscriptionStatus.TRIALING}),
    "move_renewal": frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}),
    "adjust_credit": frozenset(set(SubscriptionStatus) - {SubscriptionStatus.CANCELED}),
    "redeem_points": frozenset(
        {
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        }
    ),
    "apply_discount": frozenset(
        {
            SubscriptionStatus.INCOMPLETE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        }
    ),
}
# Bounds of operator changes: a trial or a renewal moved at most a year ahead; a credit
# balance (and one adjustment of it) at most this many minor units.
MAX_MOVE = timedelta(days=366)
MAX_CREDIT = 100_000_000

EARNING = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
)  # the states that count towards MRR


@dataclass(frozen=True, slots=True)
class Proration:
    """The result of a mid-period plan change."""

    lines: list[InvoiceLine]
    period_start: datetime
    period_end: datetime
    credit_granted: int  # minor units moved to the subscription's credit balance
    unused: int = 0  # the unused time given back (paying the new plan's time, then credit)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(slots=True)
class Subscription:
    id: str
    customer_id: str
    plan_id: str
    currency: str
    status: SubscriptionStatus
    created_at: datetime
    anchor: datetime  # billing periods are counted from here, so month ends never drift
    periods_since_anchor: int
    cycle: int  # how many paid periods came before this one; drives intro pricing (-1 in trial)
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    cancel_reason: str | None = None
    cancel_reason_text: str | None = None  # the customer's own words, with the reason
    # The days (yyyy-mm-dd) whose events carry those words: an erasure finds the events
    # there, since events are kept by day, not by customer (docs/privacy.md).
    words_on: tuple[str, ...] = ()
    paused_at: datetime | None = None
    paused_until: datetime | None = None
    incomplete_expires_at: datetime | None = None
    credit: int = 0  # minor units owed to the customer, used by the next invoice
    # Of `credit`, what each invoice's unused time (a pause, a plan or seat change) still
    # holds, by invoice id, so that a refund of that invoice takes back only its own credit
    # (tenure.domain.unused_credit); an invoice credited before this was kept is not listed.
    credit_kept: dict[str, int] = field(default_factory=dict)
    mrr: int = 0  # the monthly value last written to the ledger
    # The customer's IANA zone, copied at subscribe (a customer's zone is set once): emails
    # about this subscription are timed in it without reading the customer.
    timezone: str = "UTC"
    # The customer's default payment method and provider customer, copied whenever they change
    # (services.catalog.save_payer): a renewal charges without reading the customer, and its
    # claim checks the copy against the customer. None: no copy yet, read the customer.
    payment_method: str | None = None
    provider_customer_id: str | None = None
    provider: str | None = None  # the customer's provider (None: the default one)
    # The customer's contact, copied at subscribe (as the zone is): the emails about this
    # subscription are planned with it (Notice.contact). None: subscribed before copies.
    contact: Contact | None = None
    # A coupon redeemed for it, still to cover coming periods (None once used up), and the
    # one that priced the current period (for its MRR): see tenure.domain.discounts.
    discount: Discount | None = None
    period_discount: Discount | None = None
    # Continuous paid time, for the tenure discount: when it began (the first paid period's
    # start; None before that, and once lost to an end or to `unpaid`) and the seconds spent
    # paused since, which push each step back by as long. The step the current period earned
    # (None: none, or the programs had no ladder when it opened).
    continuity_start: datetime | None = None
    paused_seconds: int = 0
    period_tenure: TenureDiscount | None = None
    # Loyalty points its customer redeemed, to credit on its next period invoice
    # (tenure.domain.points): the renewal that builds it reads nothing else.
    points_pending: int = 0
    # A plan change's charge that could not be debited on its own (a UPI mandate allows one
    # debit a cycle), in minor units with its tax: the next period invoice carries it.
    carried: int = 0
    # Seats of its plan and its add-ons (tenure.domain.pricing), and a change of them
    # scheduled for the period's end (a downgrade keeps what was paid for until then).
    items: Items = field(default_factory=Items)
    scheduled_items: Items | None = None
    # Its own dates for the plan's price changes it has noted (tenure.domain.prices), and
    # when it moved to its plan (None: it was created on it): it joined the plan then, so a
    # change already in effect by that moment is its price from the start.
    price_steps: tuple[PriceStep, ...] = ()
    plan_since: datetime | None = None
    # Whether its customer's record lists it (Customer.subscription_ids): then every change
    # of the customer's card reaches its copy in the same transaction, and a charge whose
    # claim writes it at the copy's version needs no check of the customer. Made true by
    # `subscribe`; the commit that creates it lists it, or makes it false when the card
    # changed meanwhile (tenure.listings). False: made before customers listed theirs, by
    # an import, or so.
    listed: bool = False
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)
    ledger: list[MrrLedgerEntry] = field(default_factory=list, repr=False, compare=False)

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

    # -- commands ---------------------------------------------------------------------------
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

    def cancel_for_nonpayment(self, plan: Plan, now: datetime, declines: list[str]) -> None:
        """Involuntary churn: dunning ran out and the policy ends the subscription."""
        self._require("cancel_for_nonpayment")
        self._end(now, "payment_failed", voluntary=False, declines=declines)
        self.sync_mrr(plan, now, EventType.SUBSCRIPTION_CANCELED)

    def expire(self, plan: Plan, now: datetime) -> None:
        """The first payment never came within the window (Stripe: incomplete_expired)."""
        self._require("expire")
        self._end(now, "incomplete_expired", voluntary=False)

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

    def adjust_credit(self, amount: int, now: datetime) -> None:
        """Add to (or, negative, take from) the credit the next invoices use; the balance
        never goes below zero nor above MAX_CREDIT."""
        self._require("adjust_credit")
        if amount == 0 or abs(amount) > MAX_CREDIT:
            raise ValidationFailedError("amount", f"must be non-zero and at most {MAX_CREDIT}")
        why = unchargeable(amount, self.currency)
        if why:  # KWD 0.005 of credit would leave the next invoice one Stripe cannot charge
            raise ValidationFailedError("amount", why)
        after = self.credit + amount
        if after < 0:
            raise ValidationFailedError(
                "amount", f"would take the credit below zero (it is {self.credit})"
            )
        if after > MAX_CREDIT:
            raise ValidationFailedError("amount", f"would take the credit above {MAX_CREDIT}")
        if amount < 0:  # from credit no invoice's unused time holds, first
            spend_kept(self.credit_kept, -amount - (self.credit - sum(self.credit_kept.values())))
        self.credit = after
        self._record(
            EventType.CREDIT_ADJUSTED, now, amount=amount, credit=after, currency=self.currency
        )

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

    def give_back_credit(self, amount: int, now: datetime, invoice_id: str, keep: bool) -> None:
        """A refund of `invoice_id` that took `amount` of its credit back (or kept a pause or
        change from crediting it) failed: the credit returns, whatever the status (as
        `take_back_credit` took it). `keep`: kept against the invoice (`credit_kept`); False
        only for an invoice credited before credit was kept, which its own share tells."""
        if amount <= 0:
            raise ValidationFailedError("amount", f"cannot give back {amount}")
        self.credit += amount
        if keep:
            self.credit_kept[invoice_id] = self.credit_kept.get(invoice_id, 0) + amount
        self._record(
            EventType.CREDIT_ADJUSTED,
            now,
            amount=amount,
            credit=self.credit,
            currency=self.currency,
            refunded_invoice=invoice_id,
        )

    def take_back_credit(self, amount: int, now: datetime, invoice_id: str) -> None:
        """A refund of `invoice_id` gave back `amount` of the unused time its credit held: the
        credit goes, whatever the status (a canceled subscription keeps its credit)."""
        if not 0 < amount <= self.credit:
            raise ValidationFailedError("amount", f"cannot take back {amount} of {self.credit}")
        self.credit -= amount
        if invoice_id in self.credit_kept:
            self.credit_kept[invoice_id] = max(self.credit_kept[invoice_id] - amount, 0)
        self._record(
            EventType.CREDIT_ADJUSTED,
            now,
            amount=-amount,
            credit=self.credit,
            currency=self.currency,
            refunded_invoice=invoice_id,
        )

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

    def carry_to_next_invoice(self, amount: int) -> None:
        if amount <= 0:
            raise ValidationFailedError("amount", "only a positive charge is carried")
        self.carried += amount

    def take_carried(self) -> int:
        """What the next period invoice must add, now taken by it."""
        carried, self.carried = self.carried, 0
        return carried

    def take_credit(self, amount: int) -> None:
        if amount < 0 or amount > self.credit:
            raise ValidationFailedError("credit", "cannot use more credit than is available")
        self.credit -= amount
        # An invoice uses the credit invoices' unused time holds first, oldest first: once
        # used, a refund of those invoices has none of theirs left to take back.
        spend_kept(self.credit_kept, amount)
        spend_kept(self.credit_kept, sum(self.credit_kept.values()) - self.credit)

    def record_import(self, at: datetime, **facts: Any) -> None:
        """It was taken over from another billing system (tenure.domain.imported) at `at`."""
        self._record(EventType.SUBSCRIPTION_IMPORTED, at, **facts)

    def copy_payer(self, payer: Payer) -> None:
        """Take the customer's current payment details."""
        if payer.customer_id != self.customer_id:
            raise ValueError(f"{payer.customer_id} does not pay for subscription {self.id}")
        self.payment_method = payer.payment_method
        self.provider_customer_id = payer.provider_customer_id
        self.provider = payer.provider

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

    # -- queries ----------------------------------------------------------------------------
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

    @property
    def payer(self) -> Payer:
        """The copy of the customer's payment details (see the fields)."""
        return Payer(
            self.customer_id, self.payment_method, self.provider_customer_id, self.provider
        )

    @property
    def ended(self) -> bool:
        """Nothing will ever be charged for it again."""
        return self.status is SubscriptionStatus.CANCELED

    def next_due(self) -> tuple[datetime, DueKind] | None:
        """When the scheduler must next look at this subscription, and why."""
        if self.status in (
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
        ):
            return self.current_period_end, DueKind.RENEWAL
        if self.status is SubscriptionStatus.PAUSED and self.paused_until is not None:
            return self.paused_until, DueKind.PAUSE_END
        if self.status is SubscriptionStatus.INCOMPLETE and self.incomplete_expires_at is not None:
            return self.incomplete_expires_at, DueKind.EXPIRE
        return None

    def monthly_value(self, plan: Plan) -> int:
        if self.status not in EARNING:
            return 0
        period = max(self.cycle, 0)
        return plan.monthly_value(period, self.period_discount_on(plan))

    def period_discount_on(self, plan: Plan) -> int:
        """What the current period's coupon and tenure discount take off its pre-tax price
        on `plan`, combined as its invoice combined them."""
        if self.period_discount is None and self.period_tenure is None:
            return 0
        price = plan.price_for_period(max(self.cycle, 0)).amount_minor
        return discounts_off(plan, price, self.period_discount, self.period_tenure)

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

    def next_period_discount(self) -> Discount | None:
        """The coupon that will cover the next period, if one will (for previews)."""
        d = self.discount
        return d if d is not None and d.covers_period_from(self.current_period_end) else None

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

    def pull_events(self) -> tuple[list[DomainEvent], list[MrrLedgerEntry]]:
        events, ledger = self.events, self.ledger
        self.events, self.ledger = [], []
        return events, ledger

    # -- internals --------------------------------------------------------------------------
    def _require(self, command: str) -> None:
        if self.status not in ALLOWED[command]:
            raise IllegalTransitionError(command, self.status)

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
        unused = _share_of(price, self._fraction_left(now), plan.currency)
        return max(unused - refunded, 0)

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
        return _share_of(price, self._fraction_left(now), plan.currency)

    def _period(self) -> dict[str, Any]:
        return {
            "period_start": iso(self.current_period_start),
            "period_end": iso(self.current_period_end),
        }

    def _record(self, event_type: EventType, at: datetime, **data: Any) -> None:
        seq = self.version * 100 + len(self.events)
        self.events.append(
            DomainEvent(event_type, self.id, self.customer_id, utc(at), seq, data=data)
        )


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


def _share_of(price: int, fraction: Fraction, currency: str) -> int:
    """`fraction` (0 to 1) of `price`, rounded to the currency's step and never past the price
    (which a price not in a three-decimal currency's step, stored before such prices were
    refused, could otherwise be rounded to)."""
    return min(round_to_step(price * fraction, charge_step(currency)), max(price, 0))
