"""Which emails a change makes owed, planned in the same transaction as the change.

The planner reads only the commit: its domain events say what happened, its subscriptions
and invoices say to what. It never reads the store, so planning costs no request. Whether a
notice is still true when its time comes (the renewal still ahead, the invoice still unpaid)
is the reminders run's question, not the planner's (tenure.services.reminders).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tenure.domain.calendar import add_intervals
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.installments import InstallmentPlan, InstalmentStatus, PlanStatus
from tenure.domain.invoices import Invoice, InvoiceKind
from tenure.domain.notices import (
    Notice,
    NoticeKind,
    invoice_copy,
    notice_key,
    subscription_copy,
)
from tenure.domain.privacy import is_pseudonym
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import iso
from tenure.notify.policy import ReminderPolicy
from tenure.notify.timing import next_slot, slot_before, slots_on
from tenure.ports import Commit

_PERIOD_STARTS = (
    EventType.SUBSCRIPTION_ACTIVATED,
    EventType.SUBSCRIPTION_RENEWED,
    EventType.SUBSCRIPTION_RESUMED,
    EventType.PLAN_CHANGED,
    EventType.SUBSCRIPTION_ITEMS_CHANGED,
    EventType.SUBSCRIPTION_ITEMS_SCHEDULED,
)
_CARD_FACTS = (EventType.PAYMENT_METHOD_ATTACHED, EventType.PAYMENT_METHOD_UPDATED)
# How a plan's ending is named in its email's notice.
_PLAN_ENDINGS = {
    EventType.INSTALLMENT_PLAN_DEFAULTED: "defaulted",
    EventType.INSTALLMENT_PLAN_CANCELED: "canceled",
}


def plan_notices(change: Commit, policy: ReminderPolicy, now: datetime) -> list[Notice]:
    planner = _Planner(change, policy, now)
    for event in change.events:
        planner.consider(event)
    return list(planner.notices.values())


class _Planner:
    def __init__(self, change: Commit, policy: ReminderPolicy, now: datetime) -> None:
        self.subs = {s.id: s for s in change.subscriptions}
        self.invoices = {i.id: i for i in change.invoices}
        self.zones = {c.id: c.timezone for c in change.customers}
        self.contacts = {c.id: c.contact for c in change.customers}
        # What a receipt may carry: the change's customers, else the contacts it holds.
        self.known_contacts = dict(change.contacts) | self.contacts
        self.zones.update((s.customer_id, s.timezone) for s in change.subscriptions)
        self.zones.update(change.zones)
        self.installment_plans = {p.id: p for p in change.installment_plans}
        self.methods = {m.id: m for m in change.payment_methods}
        self.policy = policy
        self.now = now
        self.notices: dict[str, Notice] = {}

    def consider(self, event: DomainEvent) -> None:
        if event.type in _PERIOD_STARTS:
            self._upcoming_renewal(self.subs.get(event.entity_id))
        elif event.type is EventType.TRIAL_STARTED:
            self._trial_ending(self.subs.get(event.entity_id))
        elif event.type is EventType.SUBSCRIPTION_PAUSED:
            self._pause_ending(self.subs.get(event.entity_id))
        elif event.type is EventType.PAYMENT_FAILED:
            self._payment_failed(event)
        elif event.type is EventType.SUBSCRIPTION_PAST_DUE:
            self._card_required(event)
        elif event.type is EventType.INVOICE_PAID:
            self._receipt(event)
        elif event.type is EventType.INVOICE_REFUNDED:
            self._refund_receipt(event)
        elif event.type is EventType.SUBSCRIPTION_CANCELED:
            self._ended(event, self.subs.get(event.entity_id))
        elif event.type in _CARD_FACTS:
            self._card_expiring(event)
        elif event.type is EventType.INSTALLMENT_PLAN_CREATED:
            self._installments_due(self.installment_plans.get(event.entity_id))
        elif event.type is EventType.COLLECTION_CASE_OPENED:
            self._collections_opened(event)
        elif event.type in _PLAN_ENDINGS:
            self._plan_ended(event)
        elif event.type is EventType.SUBSCRIPTION_IMPORTED:
            self._imported(self.subs.get(event.entity_id))
        elif event.type is EventType.PRICE_CHANGE_NOTED:
            self._price_change(event, self.subs.get(event.entity_id))

    # -- scheduled ahead --------------------------------------------------------------------
    def _upcoming_renewal(self, sub: Subscription | None) -> None:
        if sub is None or sub.status not in (
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
        ):
            return
        renews_at = sub.current_period_end
        period = sub.current_period_end - sub.current_period_start
        for days in self.policy.renewal_leads(period):
            due = slot_before(renews_at, days, sub.timezone, self.policy.quiet_hours, self.now)
            if due is None:
                continue
            data = {"renews_at": _iso(renews_at), "lead_days": days}
            self._add(sub.id, NoticeKind.UPCOMING_RENEWAL, _iso(renews_at), days, sub, due, data)

    def _imported(self, sub: Subscription | None) -> None:
        """A subscription taken over from another system is owed the emails ahead of it that
        it would have had here (nothing about the import itself): the renewal reminder, the
        trial's end or the pause's end. Slots already past are not sent late."""
        if sub is None:
            return
        if sub.status is SubscriptionStatus.TRIALING:
            self._trial_ending(sub)
        elif sub.status is SubscriptionStatus.PAUSED:
            self._pause_ending(sub)
        else:
            self._upcoming_renewal(sub)

    def _price_change(self, event: DomainEvent, sub: Subscription | None) -> None:
        """Due when the subscription counted its notice from (the event's `notice_at`): its
        first period at the new price starts `notice_days` after that at the earliest."""
        if sub is None:
            return
        facts = event.data
        due = datetime.fromisoformat(str(facts["notice_at"]))
        data = {k: facts[k] for k in ("change", "old_amount", "amount", "currency", "starts")}
        if "addon" in facts:
            data["addon"] = facts["addon"]
        self._add(sub.id, NoticeKind.PRICE_CHANGE, str(facts["change"]), 0, sub, due, data)

    def _trial_ending(self, sub: Subscription | None) -> None:
        if sub is None or sub.trial_end is None:
            return
        days = self.policy.trial_ending_days
        due = slot_before(sub.trial_end, days, sub.timezone, self.policy.quiet_hours, self.now)
        if due is not None:
            # Whether a card is on file now decides what the email promises: a charge to
            # that card, or a deadline to add one. The card's digits are read when it is sent.
            data: dict[str, Any] = {
                "trial_end": iso(sub.trial_end),
                "card_on_file": sub.payment_method is not None,
            }
            if sub.payment_method is not None:
                data["payment_method"] = sub.payment_method
            self._add(sub.id, NoticeKind.TRIAL_ENDING, _iso(sub.trial_end), 0, sub, due, data)

    def _pause_ending(self, sub: Subscription | None) -> None:
        if sub is None or sub.paused_until is None:
            return
        days = self.policy.pause_ending_days
        due = slot_before(sub.paused_until, days, sub.timezone, self.policy.quiet_hours, self.now)
        if due is not None:
            data = {"paused_until": iso(sub.paused_until)}
            self._add(sub.id, NoticeKind.PAUSE_ENDING, _iso(sub.paused_until), 0, sub, due, data)

    def _installments_due(self, plan: InstallmentPlan | None) -> None:
        """An `installment_due` email before each instalment, all planned when the plan is
        made: the schedule is fixed then, and a key per instalment (plan, number, lead) means
        a commit replayed or planned twice owes each once. The lead is upcoming_renewal's for
        a billing period as long as the plan's interval; an instalment due sooner gets none
        (the first, due at the start, never has one). Whether it is still owed (the plan
        standing, the instalment not yet invoiced) is asked when it is sent."""
        if plan is None or plan.status is not PlanStatus.ACTIVE:
            return
        period = add_intervals(plan.start, plan.every.interval, 1) - plan.start
        zone = self.zones.get(plan.customer_id, "UTC")
        for item in plan.instalments:
            if item.status is not InstalmentStatus.SCHEDULED:
                continue
            for days in self.policy.renewal_leads(period):
                due = slot_before(item.due_at, days, zone, self.policy.quiet_hours, self.now)
                if due is None:
                    continue
                data = {
                    "plan_id": plan.id,
                    "number": item.number,
                    "count": plan.count,
                    "amount": item.amount,
                    "currency": plan.currency,
                    "due_at": _iso(item.due_at),
                    "lead_days": days,
                }
                self._add_for(
                    plan.id,
                    NoticeKind.INSTALLMENT_DUE,
                    f"{item.number:02d}",
                    days,
                    plan.customer_id,
                    None,
                    due,
                    data,
                )

    def _card_expiring(self, event: DomainEvent) -> None:
        facts = event.data
        method = self.methods.get(str(facts.get("payment_method")))
        month = facts.get("exp_month") or (method.exp_month if method else None)
        year = facts.get("exp_year") or (method.exp_year if method else None)
        if not month or not year or event.customer_id is None:
            return
        first_of_expiry_month = date(int(year), int(month), 1)
        notice_month = (first_of_expiry_month - timedelta(days=1)).replace(day=1)
        zone = self.zones.get(event.customer_id, "UTC")
        slots = slots_on(notice_month, zone, self.policy.quiet_hours)
        later = [s for s in slots if s >= self.now]
        if not later:
            return  # the month before expiry has begun: the next renewal's failure will tell
        data = {
            "payment_method": facts.get("payment_method"),
            "exp_month": int(month),
            "exp_year": int(year),
            "brand": facts.get("brand") or (method.brand if method else None),
            "last4": facts.get("last4") or (method.last4 if method else None),
        }
        period = f"{int(year):04d}-{int(month):02d}"
        subject = f"{event.customer_id}:{facts.get('payment_method')}"
        self._add_for(
            subject, NoticeKind.CARD_EXPIRING, period, 0, event.customer_id, None, later[0], data
        )

    # -- as it happens ----------------------------------------------------------------------
    def _payment_failed(self, event: DomainEvent) -> None:
        invoice = self.invoices.get(event.entity_id)
        if invoice is None or event.customer_id is None:
            return
        action = event.data.get("decline_class") == "action_required"
        kind = NoticeKind.PAYMENT_ACTION_REQUIRED if action else NoticeKind.PAYMENT_FAILED
        attempt = int(event.data.get("attempt") or invoice.attempts)
        data = {
            "invoice_id": invoice.id,
            "attempt": attempt,
            "decline_class": event.data.get("decline_class"),
            "decline_code": event.data.get("decline_code"),
        }
        self._now(invoice.id, kind, attempt, event.customer_id, invoice.subscription_id, data)

    def _card_required(self, event: DomainEvent) -> None:
        """A trial that converted with no card on file: its first invoice was never tried
        (no attempt) and waits for a card until the dunning deadline. Without this email the
        customer would learn of it only when the subscription stops. Keyed by the invoice,
        so a commit replayed or planned twice owes it once."""
        sub = self.subs.get(event.entity_id)
        if sub is None:
            return
        for invoice in self.invoices.values():
            deadline = invoice.dunning_ends_at
            if (
                invoice.subscription_id != sub.id
                or invoice.kind is not InvoiceKind.FIRST
                or not invoice.owed
                or invoice.attempts != 0
                or deadline is None
            ):
                continue
            data = {"invoice_id": invoice.id, "deadline": iso(deadline)}
            self._now(invoice.id, NoticeKind.CARD_REQUIRED, 0, sub.customer_id, sub.id, data)

    def _collections_opened(self, event: DomainEvent) -> None:
        """A balance dunning could not collect became a case: one email, keyed by the case,
        tells the customer what is owed and how to settle it. Whether the case still waits
        for the customer (not paid or in a plan meanwhile) is asked when it is sent."""
        if event.customer_id is None:
            return
        subscription_id = event.data.get("subscription_id")
        data = {"case_id": event.entity_id}
        self._now(
            event.entity_id,
            NoticeKind.COLLECTIONS_OPENED,
            0,
            event.customer_id,
            str(subscription_id) if subscription_id else None,
            data,
        )

    def _plan_ended(self, event: DomainEvent) -> None:
        """An installment or repayment plan defaulted or was canceled: one email, keyed by
        the plan, says that nothing more will be charged, what is left and where to act.
        Without it, a plan whose last try failed ended in silence: that try's own email is
        moot once the plan has ended in the same commit. What it says is read when sent."""
        if event.customer_id is None:
            return
        data: dict[str, Any] = {
            "plan_id": event.entity_id,
            "ended": _PLAN_ENDINGS[event.type],
            "ended_at": iso(event.occurred_at),
        }
        if event.data.get("number") is not None:
            data["number"] = int(event.data["number"])  # the instalment that went unpaid
        self._now(
            event.entity_id, NoticeKind.INSTALLMENT_PLAN_ENDED, 0, event.customer_id, None, data
        )

    def _receipt(self, event: DomainEvent) -> None:
        if event.customer_id is None or int(event.data.get("total") or 0) <= 0:
            return
        invoice = self.invoices.get(event.entity_id)
        sub_id = invoice.subscription_id if invoice else None
        data = {"invoice_id": event.entity_id, "charge": event.data.get("charge")}
        self._now(event.entity_id, NoticeKind.RECEIPT, 0, event.customer_id, sub_id, data)
        self._copy_invoice(notice_key(event.entity_id, NoticeKind.RECEIPT, "now", 0), invoice)

    def _refund_receipt(self, event: DomainEvent) -> None:
        if event.customer_id is None:
            return
        refunded = int(event.data.get("amount_refunded") or 0)
        if refunded <= 0 or int(event.data.get("amount") or 0) < 0:
            return  # nothing refunded, or less than before: a refund failed, nothing to tell
        invoice = self.invoices.get(event.entity_id)
        sub_id = invoice.subscription_id if invoice else None
        # One receipt per refunded total: a second partial refund is a second email. After a
        # refund failed, per total ever reported (it only grows), so a refund of the failed
        # one's amount made after it is a second email too, not the failed one's again.
        step = int(event.data.get("refunds_reported") or refunded)
        data: dict[str, Any] = {"invoice_id": event.entity_id, "amount_refunded": refunded}
        if event.data.get("refund"):
            # A refund Tenure made says when (the email's date): refunds the provider
            # reported keep the payment's date, as before.
            data["refunded_at"] = iso(event.occurred_at)
        self._now(event.entity_id, NoticeKind.REFUND_RECEIPT, step, event.customer_id, sub_id, data)
        key = notice_key(event.entity_id, NoticeKind.REFUND_RECEIPT, "now", step)
        self._copy_invoice(key, invoice)

    def _ended(self, event: DomainEvent, sub: Subscription | None) -> None:
        if event.customer_id is None:
            return
        if sub is not None and sub.canceled_at is None:
            return
        data = {
            "reason": event.data.get("reason"),
            "voluntary": bool(event.data.get("voluntary", True)),
            "ended_at": iso(event.occurred_at),
        }
        self._now(
            event.entity_id,
            NoticeKind.SUBSCRIPTION_ENDED,
            0,
            event.customer_id,
            event.entity_id,
            data,
        )

    def _copy_invoice(self, key: str, invoice: Invoice | None) -> None:
        """The receipt planned under `key` carries the customer's contact and its invoice as
        this change stores it, so that sending it reads neither (see Notice.invoice). Not
        when the store numbers the invoice in this commit (the copy would lack its number):
        that receipt is written from fresh reads, as one without copies is."""
        notice = self.notices.get(key)
        if notice is None or invoice is None or (invoice.number is None and invoice.finalized):
            return
        sub = self.subs.get(invoice.subscription_id)
        contact = (sub.contact if sub is not None else None) or self.known_contacts.get(
            notice.customer_id
        )
        if contact is None or is_pseudonym(contact.email):
            return
        notice.contact = contact
        notice.invoice = invoice_copy(invoice, invoice.version + 1)

    # -- building ---------------------------------------------------------------------------
    def _now(
        self,
        subject: str,
        kind: NoticeKind,
        step: int,
        customer_id: str,
        subscription_id: str | None,
        data: dict[str, Any],
    ) -> None:
        zone = self._zone(customer_id, subscription_id)
        due = next_slot(self.now, zone, self.policy.quiet_hours)
        self._add_for(subject, kind, "now", step, customer_id, subscription_id, due, data)

    def _add(
        self,
        subject: str,
        kind: NoticeKind,
        period: str,
        step: int,
        sub: Subscription,
        due: datetime,
        data: dict[str, Any],
    ) -> None:
        """A notice about `sub` as this change leaves it: it carries the customer's contact
        and the subscription as stored (the version the commit writes), so that sending it
        reads neither (see Notice.contact)."""
        contact = sub.contact or self.contacts.get(sub.customer_id)
        if contact is not None and is_pseudonym(contact.email):
            return  # an erased customer is never written to again (docs/privacy.md)
        self._add_for(subject, kind, period, step, sub.customer_id, sub.id, due, data)
        if contact is not None:
            notice = self.notices[notice_key(subject, kind, period, step)]
            notice.contact = contact
            notice.subscription = subscription_copy(sub, sub.version + 1)

    def _add_for(
        self,
        subject: str,
        kind: NoticeKind,
        period: str,
        step: int,
        customer_id: str,
        subscription_id: str | None,
        due: datetime,
        data: dict[str, Any],
    ) -> None:
        sub = self.subs.get(subscription_id or "")
        contact = (sub.contact if sub is not None else None) or self.contacts.get(customer_id)
        if contact is not None and is_pseudonym(contact.email):
            return  # an erased customer is never written to again (docs/privacy.md)
        key = notice_key(subject, kind, period, step)
        self.notices[key] = Notice(
            key=key,
            kind=kind,
            customer_id=customer_id,
            subscription_id=subscription_id,
            due_at=due,
            created_at=self.now,
            data=data | {"zone": self._zone(customer_id, subscription_id)},
        )

    def _zone(self, customer_id: str, subscription_id: str | None) -> str:
        sub = self.subs.get(subscription_id or "")
        if sub is not None:
            return sub.timezone
        return self.zones.get(customer_id, "UTC")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
