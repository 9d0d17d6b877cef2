"""Price changes: schedule a plan's new price, and let a subscription note it."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.money import UnknownCurrencyError, charged_currency
from tenure.domain.plans import Plan
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.prices import PriceChange, Tier, check_price_change
from tenure.domain.pricing import check_chargeable, check_tiers
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso, utc
from tenure.notify.timing import next_slot
from tenure.ports import Commit
from tenure.services.catalog import get_current_plan, get_plan
from tenure.services.context import Services


def schedule_price_change(
    svc: Services,
    plan_id: str,
    amount: int | None,
    effective_at: datetime,
    notice_days: int = 30,
    grandfather: bool = False,
    currency: str | None = None,
    tiers: Sequence[Tier] | None = None,
) -> Plan:
    """Give `plan_id` (a plan or an add-on) a new price from `effective_at`: a new `amount`
    per unit, or for a plan priced by graduated tiers a new table of `tiers`. Subscribers
    are told as their subscriptions note it (`note_price_changes`): all at once, by the run
    this starts, or at their renewal, whichever comes first; nothing is charged here.
    A change Tenure cannot honour (in the past, too little notice, not positive, another
    currency, the wrong kind of price for the plan) is refused before anything is written."""
    plan = get_current_plan(svc, plan_id)
    now = svc.clock.now()
    if currency is not None and _currency(currency) != plan.currency:
        raise ValidationFailedError(
            "currency", f"the plan is priced in {plan.currency}, not {currency.upper()}"
        )
    table = _checked_table(plan, amount, tiers)
    check_price_change(
        amount or 0, effective_at, notice_days, now, svc.min_price_notice_days, table
    )
    check_chargeable(amount or 0, table, plan.currency)
    change = PriceChange(
        id=f"{plan.id}:pc{len(plan.price_changes) + 1}",
        amount=amount or 0,
        effective_at=utc(effective_at),
        notice_days=notice_days,
        grandfather=grandfather,
        announced_at=now,
        tiers=table,
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
            **({"tiers": [_tier_data(t) for t in table]} if table else {}),
        },
    )
    # Its subscribers are told at once, by a run the renewals schedule works as due work
    # (services.price_notices); grandfathered ones are owed nothing.
    runs = (
        []
        if grandfather
        else [PriceNoticeRun(change_id=change.id, price_id=plan.id, started_at=now)]
    )
    svc.commit_with_notices(Commit(plan_updates=[changed], events=[event], price_runs=runs))
    return changed


def _currency(code: str) -> str:
    try:
        return charged_currency(code)
    except UnknownCurrencyError as exc:
        raise ValidationFailedError("currency", str(exc)) from None


def _checked_table(
    plan: Plan, amount: int | None, tiers: Sequence[Tier] | None
) -> tuple[Tier, ...]:
    """The new tiers of a change (none for a plan priced per unit): a change keeps the kind
    of price its plan has, and its table covers every quantity as at plan creation."""
    if tiers is None or not tiers:
        if plan.tiers:
            raise ValidationFailedError(
                "tiers", f"{plan.id} is priced by tiers: give its new tiers, not an amount"
            )
        if amount is None:
            raise ValidationFailedError("amount", "give the new amount")
        return ()
    if amount is not None:
        raise ValidationFailedError("amount", "give amount or tiers, not both")
    if not plan.tiers:
        raise ValidationFailedError(
            "tiers", f"{plan.id} is priced per unit: give its new amount, not tiers"
        )
    table = tuple(tiers)
    check_tiers(table)
    return table


def _tier_data(tier: Tier) -> dict[str, int | None]:
    return {"up_to": tier.up_to, "unit_amount": tier.unit_amount, "flat_amount": tier.flat_amount}


def note_price_changes(svc: Services, sub: Subscription, plan: Plan, now: datetime) -> None:
    """Let `sub` note the changes of its plan's price it has not noted yet. Its email is
    planned for the first moment the customer's quiet hours allow from now, and its first
    period at the new price counts the notice from that moment."""
    held = {a.price for a in sub.items.addons}
    if sub.scheduled_items is not None:
        held |= {a.price for a in sub.scheduled_items.addons}
    addons = [a for a in (get_plan(svc, p) for p in sorted(held)) if a.price_changes]
    if not plan.price_changes and not addons:
        return
    hours = svc.reminders.quiet_hours if svc.reminders is not None else None
    notice_at = next_slot(now, sub.timezone, hours) if hours is not None else now
    sub.note_price_changes(plan, now, notice_at, addons)
