"""Price changes: schedule a plan's new price, and let a subscription note it."""

from dataclasses import replace
from datetime import datetime

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.money import normalize_currency
from tenure.domain.plans import Plan
from tenure.domain.prices import PriceChange, check_price_change
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso, utc
from tenure.notify.timing import next_slot
from tenure.ports import Commit
from tenure.services.catalog import get_plan
from tenure.services.context import Services


def schedule_price_change(
    svc: Services,
    plan_id: str,
    amount: int,
    effective_at: datetime,
    notice_days: int = 30,
    grandfather: bool = False,
    currency: str | None = None,
) -> Plan:
    """Give `plan_id` a new price from `effective_at`. Subscribers are told as their
    subscriptions note it (`note_price_changes`); nothing is charged here. A change Tenure
    cannot honour (in the past, too little notice, not positive, another currency) is
    refused before anything is written."""
    plan = get_plan(svc, plan_id)
    now = svc.clock.now()
    if currency is not None and normalize_currency(currency) != plan.currency:
        raise ValidationFailedError(
            "currency", f"the plan is priced in {plan.currency}, not {currency.upper()}"
        )
    check_price_change(amount, effective_at, notice_days, now, svc.min_price_notice_days)
    change = PriceChange(
        id=f"{plan.id}:pc{len(plan.price_changes) + 1}",
        amount=amount,
        effective_at=utc(effective_at),
        notice_days=notice_days,
        grandfather=grandfather,
        announced_at=now,
    )
    changed = replace(plan, price_changes=(*plan.price_changes, change))
    event = DomainEvent(
        EventType.PLAN_PRICE_CHANGE_SCHEDULED,
        plan.id,
        None,
        now,
        len(changed.price_changes),
        {
            "change": change.id,
            "amount": amount,
            "currency": plan.currency,
            "effective_at": iso(change.effective_at),
            "notice_days": notice_days,
            "grandfather": grandfather,
        },
    )
    svc.commit_with_notices(Commit(plan_updates=[changed], events=[event]))
    return changed


def note_price_changes(svc: Services, sub: Subscription, plan: Plan, now: datetime) -> None:
    """Let `sub` note the changes of its plan's price it has not noted yet. Its email is
    planned for the first moment the customer's quiet hours allow from now, and its first
    period at the new price counts the notice from that moment."""
    if not plan.price_changes:
        return
    hours = svc.reminders.quiet_hours if svc.reminders is not None else None
    notice_at = next_slot(now, sub.timezone, hours) if hours is not None else now
    sub.note_price_changes(plan, now, notice_at)
