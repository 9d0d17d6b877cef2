"""What the reminders run checks and says of a notice's subject, apart from the run itself
(tenure.services.reminders): whether a renewal, trial end, pause end or instalment is still
ahead as announced, the preview of a coming invoice, an attempt's and a card's facts.

Each check raises Skip (with the reason the notice is closed with) when the email is no
longer owed.
"""

from datetime import datetime
from typing import Any

from tenure.domain.customers import Customer
from tenure.domain.discounts import TenureDiscount, period_lines
from tenure.domain.installments import InstalmentStatus, PlanStatus
from tenure.domain.invoices import (
    Invoice,
    InvoiceLine,
    LineKind,
    apply_credit,
    carried_line,
    with_tax,
)
from tenure.domain.money import charge_step
from tenure.domain.notices import EmailFacts, Notice, NoticeKind
from tenure.domain.plans import Plan
from tenure.domain.points import points_credit_line
from tenure.domain.programs import NO_PROGRAMS, Programs
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import parse_iso
from tenure.notify.lines import invoice_facts
from tenure.services.context import Services


class Skip(Exception):
    """The email is no longer owed: `reason` is what the notice is closed with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def instalment_ahead(svc: Services, notice: Notice) -> None:
    """An installment_due email is owed while its plan stands and the instalment is not
    invoiced yet (once it is, the receipt or the failure says what happened). A notice
    planned without its plan's id (none is) is sent as it stands."""
    plan_id = notice.data.get("plan_id")
    if plan_id is None:
        return
    plan = svc.repo.get_installment_plan(str(plan_id))
    if plan is None:
        raise Skip("installment_plan_missing")
    if plan.status is not PlanStatus.ACTIVE:
        raise Skip(f"installment_plan_{plan.status}")
    number = int(notice.data["number"])
    if not 1 <= number <= len(plan.instalments):
        raise Skip("instalment_missing")
    item = plan.instalment(number)
    if item.status is not InstalmentStatus.SCHEDULED:
        raise Skip(f"instalment_{item.status}")
    if item.due_at != parse_iso(str(notice.data["due_at"])):
        raise Skip("instalment_moved")


def still_ahead(notice: Notice, sub: Subscription) -> None:
    """Raises Skip when the subscription no longer leads to what the notice announces."""
    data = notice.data
    if notice.kind is NoticeKind.UPCOMING_RENEWAL:
        if sub.status is not SubscriptionStatus.ACTIVE:
            raise Skip(f"subscription_{sub.status}")
        if sub.cancel_at_period_end:
            raise Skip("ends_at_period_end")
        if parse_iso(str(data["renews_at"])) != sub.current_period_end:
            raise Skip("renewal_moved")
    elif notice.kind is NoticeKind.TRIAL_ENDING:
        if sub.status is not SubscriptionStatus.TRIALING or sub.cancel_at_period_end:
            raise Skip(f"trial_not_converting_{sub.status}")
        if sub.trial_end is None or parse_iso(str(data["trial_end"])) != sub.trial_end:
            raise Skip("trial_end_moved")
    elif notice.kind is NoticeKind.PAUSE_ENDING:
        if sub.status is not SubscriptionStatus.PAUSED or sub.paused_until is None:
            raise Skip("not_paused")
        if parse_iso(str(data["paused_until"])) != sub.paused_until:
            raise Skip("pause_end_moved")


def card_expiring_facts(
    svc: Services, now: datetime, notice: Notice, customer: Customer, base: dict[str, Any]
) -> EmailFacts:
    """A card expiring: owed while it is still the default and a subscription renews after
    it expires."""
    method_id = notice.data.get("payment_method")
    if customer.default_payment_method != method_id:
        raise Skip("card_replaced")
    month, year = int(notice.data["exp_month"]), int(notice.data["exp_year"])
    expires = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=now.tzinfo)
    ongoing = [
        s
        for s in svc.repo.list_subscriptions(customer.id)
        if s.status
        in (
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.PAUSED,
        )
        and not (s.cancel_at_period_end and s.current_period_end <= expires)
    ]
    if not ongoing:
        raise Skip("no_renewal_after_expiry")
    method = next(
        (m for m in svc.repo.list_payment_methods(customer.id) if m.id == method_id),
        None,
    )
    brand = (method.brand if method else None) or notice.data.get("brand") or "card"
    last4 = (method.last4 if method else None) or notice.data.get("last4") or "····"
    return EmailFacts(
        **base,
        currency=ongoing[0].currency,
        when=expires,
        card_brand=str(brand),
        card_last4=str(last4),
        card_exp_month=month,
        card_exp_year=year,
    )


def tenure_reached(
    sub: Subscription, programs: Programs, lines: list[InvoiceLine]
) -> TenureDiscount | None:
    """The tenure step the coming renewal applies for the first time, to announce it: not
    when a larger coupon takes its place on that invoice (the price does not drop by it)."""
    coming, now = sub.next_period_tenure(programs), sub.period_tenure
    if coming is None or (now is not None and now.after_months >= coming.after_months):
        return None
    if not any(line.kind is LineKind.TENURE_DISCOUNT for line in lines):
        return None
    return coming


def preview_lines(
    sub: Subscription, plan: Plan, programs: Programs = NO_PROGRAMS
) -> list[InvoiceLine]:
    """The next period's invoice as it will be built (intro price, coupon, tenure discount,
    tax, credit)."""
    label = plan.name or plan.id
    discount, tenure = sub.next_period_discount(), sub.next_period_tenure(programs)
    lines = with_tax(period_lines(plan, max(sub.cycle + 1, 0), label, discount, tenure), plan)
    if sub.carried:
        lines.append(carried_line(sub.carried))
    if sub.points_pending and programs.loyalty is not None:
        value, step = programs.loyalty.point_value_minor, charge_step(plan.currency)
        lines, _ = points_credit_line(lines, sub.points_pending, value, step)
    lines, _ = apply_credit(lines, sub.credit)
    return lines


def attempt_facts(notice: Notice, invoice: Invoice, customer_name: str) -> EmailFacts:
    """What an email about a failed or waiting attempt says of it: when the invoice was made,
    which attempt this was, the next one (if any) and the decline's class."""
    return invoice_facts(
        invoice,
        customer_name,
        when=invoice.created_at,
        next_attempt_at=invoice.next_attempt_at,
        attempt=invoice.attempts,
        final_attempt=invoice.next_attempt_at is None,
        decline_class=notice.data.get("decline_class"),
    )
