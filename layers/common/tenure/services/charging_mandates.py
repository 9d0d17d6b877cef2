"""Debits on a mandate (India's e-mandate rules, tenure.domain.mandates): whether the charger
may debit now, and the pre-debit emails that announce each debit."""

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from tenure.domain import ids, mandates
from tenure.domain.charges import Charge
from tenure.domain.customers import Payer
from tenure.domain.invoices import Invoice, InvoiceKind
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, notice_key
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import iso
from tenure.notify.policy import ReminderPolicy
from tenure.notify.timing import last_slot_by, next_slot
from tenure.ports import Commit
from tenure.services.context import Services

if TYPE_CHECKING:  # charging imports this module: its collection is named for types only
    from tenure.services.charging import Collection

log = logging.getLogger(__name__)

HOLD = "hold"  # the gate's answer when the debit is not made now


def mandate_gate(svc: Services, c: "Collection", payer: Payer) -> mandates.Verdict | str | None:
    """Whether the debit may be made now, by the mandate rules (None: not on a mandate,
    charged as ever). When it may not, the invoice says what happens instead (written with
    the unsaved creation) and the answer is HOLD: no attempt is recorded, no money moves.

    The customer present (a subscription's first payment, which sets the mandate up with
    their authentication) is not a debit on the mandate."""
    invoice = c.invoice
    if not mandates.on_mandate(_provider_of(svc, payer)):
        return None
    if c.sub is not None and c.sub.status is SubscriptionStatus.INCOMPLETE:
        return None
    c.at = None  # money moves when the debit is made, not at a reported moment
    now = svc.clock.now()
    debit = invoice.failures + 1
    key = mandates.pre_debit_key(invoice.id, debit, invoice.total)
    notice = svc.repo.get_notice(key)
    if notice is None and debit == 1:
        ahead = svc.repo.get_notice(mandates.renewal_key(invoice.id))
        notice = ahead if ahead is not None and mandates.announces(ahead, invoice.total) else None
    decision = mandates.decide(
        amount_minor=invoice.total,
        currency=invoice.currency,
        mandate_max_minor=_mandate_max(svc, invoice.customer_id, payer),
        notice=notice,
        now=now,
        policy=svc.mandates,
    )
    verdict = decision.verdict
    if verdict in (mandates.Verdict.DEBIT, mandates.Verdict.FRESH_AUTH):
        return verdict
    change = Commit(invoices=[invoice])
    if verdict is mandates.Verdict.NOTICE_FIRST:
        notice = _pre_debit_notice(svc, c, key, now, {"debit": debit})
        invoice.next_attempt_at = notice.due_at + svc.mandates.notice_lead
        notice.data["debit_at"] = iso(invoice.next_attempt_at)
        change.notices.append(notice)
    elif verdict is mandates.Verdict.WAIT:
        invoice.next_attempt_at = decision.debit_at
    else:
        # Over the mandate's limit, or never announced: this debit is not made. The invoice
        # waits for a new mandate (a new payment method charges it) until dunning's
        # deadline, as when no card is on file; over the limit, the customer is asked.
        _await_new_mandate(svc, invoice)
        if verdict is mandates.Verdict.OVER_LIMIT:
            limit = _mandate_max(svc, invoice.customer_id, payer)
            over = notice_key(invoice.id, NoticeKind.PRE_DEBIT, "over_limit", invoice.total)
            change.notices.append(_pre_debit_notice(svc, c, over, now, {"limit": limit}))
    log.info(
        "mandate debit held",
        extra={"invoice": invoice.id, "verdict": str(verdict), "debit": debit},
    )
    c.write(svc, change)
    return HOLD


def announce_retry(
    svc: Services,
    invoice: Invoice,
    charge: Charge,
    zone: str | None,
    change: Commit,
    now: datetime,
) -> None:
    """A dunning retry of a debit on a mandate, just scheduled: its pre-debit email is
    planned with the failure, at the last slot of the customer's window a notice lead or
    more before the retry, so that the retry keeps its time; with no such slot left, the
    retry moves to a notice lead after the first one. (The charger still checks when the
    retry comes: an email sent late moves it again.)"""
    retry_at = invoice.next_attempt_at
    if retry_at is None or not mandates.on_mandate(_provider_of(svc, charge)):
        return
    if zone is None:
        customer = svc.repo.get_customer(invoice.customer_id)
        zone = customer.timezone if customer is not None else "UTC"
    lead, hours = svc.mandates.notice_lead, (svc.reminders or ReminderPolicy()).quiet_hours
    due = last_slot_by(retry_at - lead, zone, hours, not_before=now)
    if due is None:
        due = next_slot(now, zone, hours)
        invoice.next_attempt_at = retry_at = max(retry_at, due + lead)
    debit = invoice.failures + 1
    key = mandates.pre_debit_key(invoice.id, debit, invoice.total)
    more: dict[str, object] = {"debit": debit, "debit_at": iso(retry_at)}
    change.notices.append(_pre_debit(invoice, key, due, zone, now, more))


def announce_renewal(
    svc: Services, sub: Subscription, charge: Charge, change: Commit, now: datetime
) -> None:
    """A period paid on a mandate: the next renewal's pre-debit email is planned with the
    payment, at the last slot of the customer's window a notice lead or more before the
    renewal, so that the renewal is debited on time. Its amount is worked out when it is
    sent; one that no longer holds when the renewal is invoiced (a coupon, a plan change)
    is announced again and debited a day after, by the charger."""
    if not mandates.on_mandate(_provider_of(svc, charge)):
        return
    if sub.status is not SubscriptionStatus.ACTIVE or sub.cancel_at_period_end:
        return
    hours = (svc.reminders or ReminderPolicy()).quiet_hours
    renews_at = sub.current_period_end
    due = last_slot_by(renews_at - svc.mandates.notice_lead, sub.timezone, hours, now)
    if due is None:
        return  # too near: the renewal is announced when it is invoiced
    renewal = ids.invoice_id(sub.id, InvoiceKind.RENEWAL, renews_at)
    planned = svc.repo.get_notice(mandates.renewal_key(renewal))
    if planned is not None and planned.status is not NoticeStatus.SCHEDULED:
        return  # already told (another payment this period, say a proration): kept as sent
    notice = Notice(
        key=mandates.renewal_key(renewal),
        kind=NoticeKind.PRE_DEBIT,
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        due_at=due,
        created_at=now,
        data={
            "invoice_id": renewal,
            "ahead": True,
            "renews_at": iso(renews_at),
            "debit_at": iso(renews_at),
            "currency": sub.currency,
            "debit": 1,
            "zone": sub.timezone,
        },
    )
    change.notices.append(notice)


def _provider_of(svc: Services, payer: Payer | Charge) -> str | None:
    """The provider that debits `payer` (or made the charge): theirs, else the default."""
    return payer.provider or (svc.gateway.name if svc.gateway is not None else None)


def _mandate_max(svc: Services, customer_id: str, payer: Payer) -> int | None:
    """The maximum the payer's mandate allows per debit, in minor units (None: no cap known)."""
    for method in svc.repo.list_payment_methods(customer_id):
        if method.id == payer.payment_method:
            return method.mandate_max_amount
    return None


def _await_new_mandate(svc: Services, invoice: Invoice) -> None:
    """Nothing is due until a new payment method comes, or dunning's deadline: a new invoice
    starts waiting through `await_payment_method` (its caller's); one already dunned keeps
    (or gets) the deadline its first failure set."""
    invoice.next_attempt_at = None
    if invoice.first_failed_at is not None and invoice.dunning_ends_at is None:
        invoice.dunning_ends_at = svc.policy.deadline(invoice.first_failed_at)


def _pre_debit_notice(
    svc: Services, c: "Collection", key: str, now: datetime, more: dict[str, object]
) -> Notice:
    """The pre-debit email of the invoice's next debit, due at the first slot of the
    customer's window from now; the debit follows it by the notice lead at least."""
    zone = _zone_of(svc, c)
    due = next_slot(now, zone, (svc.reminders or ReminderPolicy()).quiet_hours)
    return _pre_debit(c.invoice, key, due, zone, now, more)


def _pre_debit(
    invoice: Invoice, key: str, due: datetime, zone: str, now: datetime, more: dict[str, object]
) -> Notice:
    return Notice(
        key=key,
        kind=NoticeKind.PRE_DEBIT,
        customer_id=invoice.customer_id,
        subscription_id=invoice.subscription_id or None,
        due_at=due,
        created_at=now,
        data={
            "invoice_id": invoice.id,
            "amount": invoice.total,
            "currency": invoice.currency,
            "zone": zone,
            **more,
        },
    )


def _zone_of(svc: Services, c: "Collection") -> str:
    if c.sub is not None:
        return c.sub.timezone
    c.customer = c.customer or svc.repo.get_customer(c.invoice.customer_id)
    return c.customer.timezone if c.customer is not None else "UTC"


def needs_presence(svc: Services, charge: Charge) -> bool:
    """Whether an attempt was one the customer must confirm (a debit on a mandate above
    the no-authentication limit): never replayed nor confirmed off-session."""
    return mandates.on_mandate(_provider_of(svc, charge)) and svc.mandates.needs_fresh_auth(
        charge.amount, charge.currency
    )
