"""What each kind of reminder email says: its facts and links, from fresh reads or from the
notice's copies, or Skip when the email is no longer owed (the reminders run, in
tenure.services.reminders, sends what these write)."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tenure.domain.collection_cases import CaseStatus
from tenure.domain.customers import Customer
from tenure.domain.installments import PlanStatus
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.notices import (
    EmailFacts,
    Notice,
    NoticeKind,
    notice_key,
    subscription_copy,
)
from tenure.domain.plans import Plan
from tenure.domain.pricing import priced_plan
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import parse_iso
from tenure.notify.lines import case_line_facts, invoice_facts, invoice_tax, line_facts
from tenure.notify.link_tokens import LinkPurpose
from tenure.notify.policy import ReminderPolicy
from tenure.notify.timing import slot_before
from tenure.services.catalog import held_prices
from tenure.services.context import Services
from tenure.services.reminder_facts import Skip as _Skip
from tenure.services.reminder_facts import (
    attempt_facts,
    card_expiring_facts,
    instalment_ahead,
    preview_lines,
    still_ahead,
    tenure_reached,
)

_Link = tuple[LinkPurpose, str | None, str | None]  # purpose, subject, action


@dataclass(frozen=True, slots=True)
class Draft:
    facts: EmailFacts
    links: dict[str, _Link]
    # Planned once this one is sent, if the customer is a late payer (a question the draft
    # leaves open: one way of answering it reads, the other checks)
    if_late: Notice | None = None


class Drafts:
    """The reminders run's drafting half, as its base class (reminders._Run), which gives it
    `svc`, `policy` and `now`: each kind's email is written as the run wrote it, apart from
    how the run claims, sends and records it."""

    __slots__ = ()
    svc: Services
    policy: ReminderPolicy
    now: datetime

    def facts(
        self,
        notice: Notice,
        customer: Customer,
        copied: Subscription | None = None,
        copied_invoice: Invoice | None = None,
    ) -> Draft:
        kind = notice.kind
        base: dict[str, Any] = {"customer_name": customer.name or customer.email}
        manage = LinkPurpose.MANAGE_SUBSCRIPTION
        card: _Link = (LinkPurpose.UPDATE_CARD, customer.id, None)  # every open invoice
        if kind in (NoticeKind.UPCOMING_RENEWAL, NoticeKind.TRIAL_ENDING, NoticeKind.PAUSE_ENDING):
            sub, plan = self._subscription(notice, copied)
            still_ahead(notice, sub)
            programs = self.svc.repo.get_programs().programs
            lines = preview_lines(sub, plan, programs)
            reached = (
                tenure_reached(sub, programs, lines)
                if kind is NoticeKind.UPCOMING_RENEWAL
                else None
            )
            when = {
                NoticeKind.UPCOMING_RENEWAL: sub.current_period_end,
                NoticeKind.TRIAL_ENDING: sub.trial_end,
                NoticeKind.PAUSE_ENDING: sub.paused_until,
            }[kind]
            facts = EmailFacts(
                **base,
                currency=sub.currency,
                plan_name=plan.name or plan.id,
                amount=sum(line.amount for line in lines),
                lines=line_facts(lines),
                tax=invoice_tax(lines),
                when=when,
                tenure_months=reached.after_months if reached else None,
                tenure_percent=f"{reached.percent_off.normalize():f}" if reached else None,
            )
            if kind is NoticeKind.TRIAL_ENDING and "card_on_file" in notice.data:
                facts = self._trial_card(notice, customer, facts, None if copied else sub)
            links = {
                "update_card": card,
                "pause": (manage, sub.id, "pause"),
                "cancel": (manage, sub.id, "cancel"),
            }
            if_late = (
                self._late_payer_reminder(notice, customer, sub)
                if kind is NoticeKind.UPCOMING_RENEWAL
                else None
            )
            return Draft(facts, links, if_late)
        if kind in (NoticeKind.PAYMENT_FAILED, NoticeKind.PAYMENT_ACTION_REQUIRED):
            invoice = self._invoice(notice)
            if invoice.status is not InvoiceStatus.OPEN:
                raise _Skip(f"invoice_{invoice.status}")
            if invoice.attempts != int(notice.data.get("attempt", invoice.attempts)):
                raise _Skip("superseded_by_later_attempt")
            if invoice.installment_plan_id:
                wanted: dict[str, _Link] = {"update_card": card}
                if kind is NoticeKind.PAYMENT_ACTION_REQUIRED:
                    wanted["confirm_payment"] = (LinkPurpose.CONFIRM_PAYMENT, invoice.id, None)
                return Draft(self._failed_instalment(notice, invoice, base), wanted)
            owner = self.svc.repo.get_subscription(invoice.subscription_id)
            if owner is None or owner.status is SubscriptionStatus.CANCELED:
                raise _Skip("subscription_ended")
            owed_for = self.svc.repo.get_plan(owner.plan_id)
            facts = attempt_facts(notice, invoice, base["customer_name"])
            # The email names the plan the customer is on now, as it always did.
            facts = replace(
                facts, plan_name=(owed_for.name or owed_for.id) if owed_for else owner.plan_id
            )
            wanted = {"update_card": card}
            if kind is NoticeKind.PAYMENT_ACTION_REQUIRED:
                wanted["confirm_payment"] = (LinkPurpose.CONFIRM_PAYMENT, invoice.id, None)
            return Draft(facts, wanted)
        if kind is NoticeKind.CARD_REQUIRED:
            invoice = self._invoice(notice)
            if invoice.status is not InvoiceStatus.OPEN:
                raise _Skip(f"invoice_{invoice.status}")
            if invoice.attempts:
                # A card came and was tried: the receipt or the failure says what happened.
                raise _Skip("card_added")
            owner = self.svc.repo.get_subscription(invoice.subscription_id)
            if owner is None or owner.status is SubscriptionStatus.CANCELED:
                raise _Skip("subscription_ended")
            if invoice.dunning_ends_at is None:
                raise _Skip("deadline_passed")  # "add a card by" a day gone by is no help
            facts = invoice_facts(invoice, base["customer_name"], when=invoice.dunning_ends_at)
            if facts.plan_name is None:
                facts = replace(facts, plan_name=self._plan_name(invoice))
            return Draft(facts, {"update_card": card})
        if kind in (NoticeKind.RECEIPT, NoticeKind.REFUND_RECEIPT):
            invoice = copied_invoice or self._invoice(notice)
            refunded = int(notice.data.get("amount_refunded") or 0)
            at = notice.data.get("refunded_at")
            facts = invoice_facts(
                invoice,
                base["customer_name"],
                when=parse_iso(str(at)) if at else invoice.paid_at,
                refund_amount=refunded or None,
            )
            if facts.plan_name is None:
                facts = replace(facts, plan_name=self._plan_name(invoice))
            return Draft(facts, {})
        if kind is NoticeKind.SUBSCRIPTION_ENDED:
            sub, plan = self._subscription(notice)
            if sub.status is not SubscriptionStatus.CANCELED:
                raise _Skip("subscription_not_ended")
            voluntary = bool(notice.data.get("voluntary", True))
            facts = EmailFacts(
                **base,
                currency=sub.currency,
                plan_name=plan.name or plan.id,
                when=sub.canceled_at,
                ended_reason="voluntary" if voluntary else "involuntary",
            )
            return Draft(facts, {"resubscribe": (manage, sub.id, "resubscribe")})
        if kind is NoticeKind.CARD_EXPIRING:
            return Draft(
                card_expiring_facts(self.svc, self.now, notice, customer, base),
                {"update_card": card},
            )
        if kind is NoticeKind.COLLECTIONS_OPENED:
            return self._collections_opened(notice, base)
        if kind is NoticeKind.INSTALLMENT_PLAN_ENDED:
            return self._plan_ended(notice, base, card)
        if kind is NoticeKind.PRE_DEBIT:
            return self._pre_debit(notice, base, card)
        if kind is NoticeKind.PRICE_CHANGE:
            return self._price_change(notice, base)
        if kind is NoticeKind.INSTALLMENT_DUE:
            data = notice.data
            instalment_ahead(self.svc, notice)
            facts = EmailFacts(
                **base,
                currency=str(data["currency"]),
                amount=int(data["amount"]),
                when=parse_iso(str(data["due_at"])),
                installment_number=int(data["number"]),
                installment_count=int(data["count"]),
                installment_plan=True,
            )
            return Draft(facts, {"update_card": card})
        raise _Skip(f"unknown_kind_{kind}")

    def _pre_debit(self, notice: Notice, base: dict[str, Any], card: _Link) -> Draft:
        """A debit on a mandate, announced: owed while the invoice is open and still owes
        that amount on that debit (a later debit or another amount has its own notice). The
        date is when the debit may first be made: never sooner than the notice lead after
        this email goes out, since the charger holds it until then."""
        if notice.data.get("ahead"):
            return self._renewal_ahead(notice, base, card)
        invoice = self._invoice(notice)
        data = notice.data
        if invoice.status is not InvoiceStatus.OPEN:
            raise _Skip(f"invoice_{invoice.status}")
        if invoice.total != int(data["amount"]):
            raise _Skip("amount_changed")
        limit = data.get("limit")
        if limit is None and invoice.failures + 1 != int(data.get("debit", 1)):
            raise _Skip("superseded_by_later_debit")
        planned = parse_iso(str(data["debit_at"])) if data.get("debit_at") else invoice.created_at
        when = max(planned, self.now + self.svc.mandates.notice_lead) if limit is None else planned
        facts = invoice_facts(
            invoice,
            base["customer_name"],
            when=when,
            mandate_limit=int(limit) if limit is not None else None,
        )
        links: dict[str, _Link] = {"update_card": card}
        if invoice.installment_plan_id:
            plan = self.svc.repo.get_installment_plan(invoice.installment_plan_id)
            item = plan.by_invoice(invoice.id) if plan is not None else None
            if plan is not None and item is not None:
                facts = replace(
                    facts,
                    plan_name=plan.description,
                    installment_number=item.number,
                    installment_count=plan.count,
                )
            return Draft(facts, links)
        if facts.plan_name is None:
            facts = replace(facts, plan_name=self._plan_name(invoice))
        links["cancel"] = (LinkPurpose.MANAGE_SUBSCRIPTION, invoice.subscription_id, "cancel")
        return Draft(facts, links)

    def _renewal_ahead(self, notice: Notice, base: dict[str, Any], card: _Link) -> Draft:
        """A renewal on a mandate announced before it is invoiced: owed while the
        subscription still renews then, and not yet invoiced (an invoice has its own
        notice). The amount is the renewal's preview, as the upcoming-renewal email shows it,
        written on the notice: the charger debits on time only a renewal of that amount."""
        sub, plan = self._subscription(notice)
        renews_at = parse_iso(str(notice.data["renews_at"]))
        if sub.status is not SubscriptionStatus.ACTIVE or sub.cancel_at_period_end:
            raise _Skip("renewal_not_ahead")
        invoiced = self.svc.repo.get_invoice(str(notice.data["invoice_id"]))
        if invoiced is not None:
            # Sent late, after the renewal was invoiced (and held for it): the invoice's own
            # amount, debited a notice lead from now at the soonest.
            if invoiced.status is not InvoiceStatus.OPEN:
                raise _Skip(f"invoice_{invoiced.status}")
            lines = invoiced.lines
            when = max(renews_at, self.now + self.svc.mandates.notice_lead)
        else:
            if sub.current_period_end != renews_at:
                raise _Skip("renewal_not_ahead")
            lines = preview_lines(sub, plan, self.svc.repo.get_programs().programs)
            when = renews_at
        amount = sum(line.amount for line in lines)
        if self.svc.mandates.needs_fresh_auth(amount, sub.currency):
            raise _Skip("customer_confirms")  # the payment_action_required email asks them
        if amount > self._mandate_max(sub):
            raise _Skip("over_mandate_limit")  # the charger asks for a new mandate instead
        notice.data["amount"] = amount
        facts = EmailFacts(
            **base,
            currency=sub.currency,
            plan_name=plan.name or plan.id,
            amount=amount,
            lines=line_facts(lines),
            tax=invoice_tax(lines),
            when=when,
        )
        cancel: _Link = (LinkPurpose.MANAGE_SUBSCRIPTION, sub.id, "cancel")
        return Draft(facts, {"update_card": card, "cancel": cancel})

    def _price_change(self, notice: Notice, base: dict[str, Any]) -> Draft:
        """Owed while the subscription still renews into the new price: one that ended, or
        that has left the plan, is not told of a price it will not pay."""
        sub, plan = self._subscription(notice)
        data = notice.data
        # About an add-on's price: owed while the subscription still holds the add-on.
        addon = data.get("addon")
        held = {a.price for a in sub.items.addons}
        if sub.scheduled_items is not None:
            held &= {a.price for a in sub.scheduled_items.addons}
        owner = str(addon) if addon is not None else plan.id
        if (
            sub.ended
            or sub.plan_id != plan.id
            or not str(data["change"]).startswith(f"{owner}:")
            or (addon is not None and addon not in held)
        ):
            raise _Skip("price_not_ahead")
        named = self.svc.repo.get_plan(owner) if addon is not None else plan
        facts = EmailFacts(
            **base,
            currency=str(data["currency"]),
            plan_name=(named.name or named.id) if named is not None else owner,
            amount=int(data["amount"]),
            old_amount=int(data["old_amount"]),
            when=parse_iso(str(data["starts"])),
        )
        manage = LinkPurpose.MANAGE_SUBSCRIPTION
        return Draft(
            facts, {"manage": (manage, sub.id, None), "cancel": (manage, sub.id, "cancel")}
        )

    def _mandate_max(self, sub: Subscription) -> float:
        methods = self.svc.repo.list_payment_methods(sub.customer_id)
        cap = next((m.mandate_max_amount for m in methods if m.id == sub.payment_method), None)
        return float("inf") if cap is None else cap

    def _collections_opened(self, notice: Notice, base: dict[str, Any]) -> Draft:
        """The case as it stands when the email is sent: owed while it still waits for the
        customer (a plan chosen, or the balance paid by a new card, makes it moot). Every
        line of the owed invoices with the period it paid for, less anything recovered."""
        case = self.svc.repo.get_collection_case(str(notice.data.get("case_id")))
        if case is None:
            raise _Skip("case_missing")
        if case.status is not CaseStatus.OPEN:
            raise _Skip(f"case_{case.status}")
        owed = (self.svc.repo.get_invoice(i) for i in case.invoice_ids)
        lines = case_line_facts(case, {i.id: i for i in owed if i is not None})
        owner = self.svc.repo.get_subscription(case.subscription_id)
        plan = self.svc.repo.get_plan(owner.plan_id) if owner is not None else None
        facts = EmailFacts(
            **base,
            currency=case.currency,
            plan_name=(plan.name or plan.id) if plan is not None else case.subscription_id,
            amount=case.balance,
            lines=lines,
            when=case.opened_at,
        )
        return Draft(facts, {"collections": (LinkPurpose.COLLECTIONS, case.id, None)})

    def _plan_ended(self, notice: Notice, base: dict[str, Any], card: _Link) -> Draft:
        """A plan that ended, as it stands when the email is sent. Defaulted: the instalment
        that went unpaid, what the plan did not collect, and the card page. Canceled: what it
        did not collect; a repayment plan the customer left also says the balance waits for
        a new choice on the collections page (unless one was made meanwhile: then the plan
        chosen speaks for itself). A plan completed after all is not written to."""
        plan = self.svc.repo.get_installment_plan(str(notice.data.get("plan_id")))
        if plan is None:
            raise _Skip("installment_plan_missing")
        if plan.status not in (PlanStatus.DEFAULTED, PlanStatus.CANCELED):
            raise _Skip(f"installment_plan_{plan.status}")
        facts = EmailFacts(
            **base,
            currency=plan.currency,
            plan_name=plan.description,
            amount=plan.amount - plan.collected,
            when=parse_iso(str(notice.data["ended_at"])),
            installment_count=plan.count,
            installment_plan=True,
            ended_reason=str(plan.status),
        )
        if plan.status is PlanStatus.DEFAULTED:
            number = int(notice.data.get("number") or 0)
            if not 1 <= number <= len(plan.instalments):
                raise _Skip("instalment_missing")
            # A repayment plan is named as such: its description is not the customer's words.
            reason = "repayment_defaulted" if plan.collection_case_id else "defaulted"
            ended = replace(facts, installment_number=number, ended_reason=reason)
            return Draft(ended, {"update_card": card})
        case = (
            self.svc.repo.get_collection_case(plan.collection_case_id)
            if plan.collection_case_id
            else None
        )
        if case is None:
            return Draft(facts, {})  # ended on request: nothing is left for the customer to do
        if case.status is not CaseStatus.OPEN:
            raise _Skip(f"case_{case.status}")
        left = replace(facts, amount=case.balance, ended_reason="left")
        return Draft(left, {"collections": (LinkPurpose.COLLECTIONS, case.id, None)})

    def _trial_card(
        self, notice: Notice, customer: Customer, facts: EmailFacts, stored: Subscription | None
    ) -> EmailFacts:
        """A trial-ending email's card: none (the email asks for one by the trial's end), or
        the card it will charge, by its last digits (one read of the customer's cards; a card
        removed since is "your card"). Written from the notice's copies, it is the card on
        file when the email was planned: the claim checks that the subscription has not
        changed since, and a card added or replaced changes it (its payer copy), so such an
        email is written again from the `stored` subscription, whose card is the current one."""
        if stored is not None:
            method_id = stored.payment_method
        else:
            method_id = notice.data.get("payment_method") if notice.data["card_on_file"] else None
        if method_id is None:
            return replace(facts, card_on_file=False)
        method = next(
            (m for m in self.svc.repo.list_payment_methods(customer.id) if m.id == method_id),
            None,
        )
        if method is None or not (method.brand and method.last4):
            return replace(facts, card_on_file=True)
        return replace(facts, card_on_file=True, card_brand=method.brand, card_last4=method.last4)

    def _subscription(
        self, notice: Notice, copied: Subscription | None = None
    ) -> tuple[Subscription, Plan]:
        """The subscription the notice is about: its copy when given, else as stored."""
        sub = copied or self.svc.repo.get_subscription(notice.subscription_id or "")
        if sub is None:
            raise _Skip("subscription_missing")
        plan = self.svc.repo.get_plan(sub.plan_id)
        if plan is None:
            raise _Skip("plan_missing")
        # Priced for the period ahead (what the reminders announce), at the unit price that
        # period pays (tenure.domain.prices), for its seats and add-ons.
        start = sub.current_period_end
        ahead = sub.plan_at(plan, start)
        # Seats or add-ons scheduled for the period's end are what its renewal bills (taken
        # when it renews); a paused subscription resumes into a fresh period first.
        items = sub.scheduled_items
        if items is None or sub.status is SubscriptionStatus.PAUSED:
            items = sub.items
        return sub, priced_plan(ahead, items, held_prices(self.svc, sub, items, start))

    def _plan_name(self, invoice: Invoice) -> str | None:
        """The plan of the invoice's subscription, for an invoice whose lines name none."""
        owner = self.svc.repo.get_subscription(invoice.subscription_id)
        plan = self.svc.repo.get_plan(owner.plan_id) if owner is not None else None
        return (plan.name or plan.id) if plan is not None else None

    def _invoice(self, notice: Notice) -> Invoice:
        invoice = self.svc.repo.get_invoice(str(notice.data.get("invoice_id")))
        if invoice is None:
            raise _Skip("invoice_missing")
        return invoice

    def _failed_instalment(
        self, notice: Notice, invoice: Invoice, base: dict[str, Any]
    ) -> EmailFacts:
        """The email about an instalment that failed or waits for the bank's confirmation:
        owed while its plan stands (a plan defaulted or canceled since has its own ending),
        worded as an instalment of a payment plan, never as a subscription."""
        plan = self.svc.repo.get_installment_plan(str(invoice.installment_plan_id))
        if plan is None:
            raise _Skip("installment_plan_missing")
        if plan.status is not PlanStatus.ACTIVE:
            raise _Skip(f"installment_plan_{plan.status}")
        item = plan.by_invoice(invoice.id)
        if item is None:
            raise _Skip("instalment_missing")
        facts = attempt_facts(notice, invoice, base["customer_name"])
        return replace(
            facts,
            plan_name=plan.description,
            installment_number=item.number,
            installment_count=plan.count,
            installment_plan=True,
        )

    def _late_payer_reminder(
        self, notice: Notice, customer: Customer, sub: Subscription
    ) -> Notice | None:
        """Late payers hear once more, the day before: planned when the first one goes out.
        This is that reminder, if there is a day before left; whether the customer is a late
        payer is asked apart (the run's `_late_payer`, `_late_on_record`)."""
        days = self.policy.late_payer_days
        if not days or notice.data.get("late_payer") or int(notice.data["lead_days"]) <= days:
            return None
        renews = sub.current_period_end
        due = slot_before(renews, days, sub.timezone, self.policy.quiet_hours, self.now)
        if due is None:
            return None
        period = notice.key.split(":")[-2]
        key = notice_key(sub.id, NoticeKind.UPCOMING_RENEWAL, period, days)
        data = notice.data | {"lead_days": days, "late_payer": True}
        # With copies of what it was written from: sending it reads nothing either. The
        # subscription is as read (or checked), its version the stored one.
        follow = Notice(
            key, NoticeKind.UPCOMING_RENEWAL, sub.customer_id, sub.id, due, self.now, data=data
        )
        follow.contact, follow.subscription = customer.contact, subscription_copy(sub, sub.version)
        return follow
