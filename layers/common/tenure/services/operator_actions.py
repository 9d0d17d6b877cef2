"""Operator actions: what support staff do to fix a customer's account, each with its audit
entry committed in the same transaction as its effect (docs/operations.md).

Every action takes the actor (the API token's principal) and a note saying why. A refused
action raises before anything is written, so it leaves no entry; an action that happened
has exactly one.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from tenure.domain import collection
from tenure.domain.audit import AuditAction, AuditEntry, Summary, check_note, new_entry
from tenure.domain.charges import Charge, ChargeStatus
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import iso
from tenure.ports import Commit
from tenure.services import charging, subscriptions
from tenure.services import collections as cases
from tenure.services.catalog import subscription_plan, subscription_plan_lookup
from tenure.services.context import Services

REFERENCE_MAX = 200


@dataclass(frozen=True, slots=True)
class Acted:
    """What an action did: its audit entry, and the invoice or subscription as it now stands
    (and the attempt a retry claimed)."""

    audit: AuditEntry
    invoice: Invoice | None = None
    subscription: Subscription | None = None
    charge: Charge | None = None


# -- invoices ---------------------------------------------------------------------------------
def void_invoice(svc: Services, invoice_id: str, *, actor: str, note: str | None) -> Acted:
    """Void an open invoice: nobody owes it any more and it is never charged. A paid,
    void or written-off invoice is refused (409)."""
    note = check_note(note)
    invoice = _settleable(svc, invoice_id, "void")
    before = _invoice_summary(invoice)
    invoice.void()
    invoice.next_attempt_at = invoice.dunning_ends_at = None
    now = svc.clock.now()
    event = DomainEvent(
        EventType.INVOICE_VOIDED,
        invoice.id,
        invoice.customer_id,
        now,
        invoice.version,
        {"total": invoice.total, "currency": invoice.currency},
    )
    entry = _entry(svc, actor, AuditAction.VOID, invoice, note, before)
    svc.commit_with_notices(Commit(invoices=[invoice], events=[event], audit=[entry]))
    return Acted(entry, invoice=invoice)


def write_off_invoice(svc: Services, invoice_id: str, *, actor: str, note: str | None) -> Acted:
    """Mark an open invoice uncollectible: its dunning stops, the debt stays on record. A
    paid, void or written-off invoice is refused (409)."""
    note = check_note(note)
    invoice = _settleable(svc, invoice_id, "write off")
    before = _invoice_summary(invoice)
    invoice.mark_uncollectible()
    now = svc.clock.now()
    event = collection.InvoiceMarkedUncollectible(invoice.id, invoice.customer_id, now)
    entry = _entry(svc, actor, AuditAction.WRITE_OFF, invoice, note, before)
    svc.commit_with_notices(Commit(invoices=[invoice], events=[event.to_event()], audit=[entry]))
    return Acted(entry, invoice=invoice)


def mark_paid_out_of_band(
    svc: Services, invoice_id: str, *, actor: str, note: str | None, reference: str
) -> Acted:
    """Record that an open invoice was paid outside the provider (`reference`: the bank
    transfer's, the cheque's): paid as if charged, its subscription brought back as a
    payment brings it back. An instalment's invoice is paid through its plan (409)."""
    note = check_note(note)
    reference = _reference(reference)
    invoice = _settleable(svc, invoice_id, "mark paid")
    if invoice.installment_plan_id:
        raise IllegalTransitionError(
            "mark paid", invoice.status, "an instalment is paid through its plan", "invoice"
        )
    before = _invoice_summary(invoice)
    now = svc.clock.now()
    sub = svc.repo.get_subscription(invoice.subscription_id)
    was_unpaid = sub is not None and sub.status is SubscriptionStatus.UNPAID
    recorded = collection.record_paid_out_of_band(
        invoice, sub, partial(subscription_plan_lookup, svc, sub), now
    )
    change = Commit(invoices=[invoice], events=[e.to_event() for e in recorded.events])
    if recorded.subscription_changed:
        assert sub is not None
        if was_unpaid:
            cases.follow_invoice_paid(svc, sub, invoice, change)
        change.add_subscription(sub)
    entry = _entry(svc, actor, AuditAction.MARK_PAID, invoice, note, before, reference)
    change.audit.append(entry)
    svc.commit_with_notices(change)
    return Acted(entry, invoice=invoice, subscription=sub)


def retry_now(svc: Services, invoice_id: str, *, actor: str, note: str | None) -> Acted:
    """Charge an open invoice now through the money path (claim, one provider request,
    settle), once: the entry is committed with the claim, so there is one only when an
    attempt was made. Refused (409), nothing written: an invoice not owed, disputed, with an
    attempt in flight, or no provider configured."""
    note = check_note(note)
    invoice = _settleable(svc, invoice_id, "retry")
    if not invoice.owed or invoice.dispute_open or svc.gateway is None:
        raise IllegalTransitionError(
            "retry", invoice.status, "it has nothing to collect now", "invoice"
        )
    before = _invoice_summary(invoice)
    after = before | {"attempt": invoice.attempts + 1}
    entry = _entry(svc, actor, AuditAction.RETRY, invoice, note, before, after=after)
    charge = charging.retry_invoice_now(svc, invoice, Commit(audit=[entry]))
    if charge is None:
        raise IllegalTransitionError(
            "retry",
            invoice.status,
            "it cannot be charged now (no payment method on file, or its subscription ended)",
            "invoice",
        )
    return Acted(entry, invoice=svc.repo.get_invoice(invoice_id), charge=charge)


# -- subscriptions ------------------------------------------------------------------------------
def adjust_credit(
    svc: Services, subscription_id: str, amount: int, *, actor: str, note: str | None
) -> Acted:
    """Add `amount` minor units (negative: take them) to the credit the subscription's next
    invoices use; bounded (Subscription.adjust_credit)."""
    return _change_subscription(
        svc,
        subscription_id,
        actor,
        AuditAction.ADJUST_CREDIT,
        note,
        lambda sub, now: sub.adjust_credit(amount, now),
    )


def extend_trial(
    svc: Services, subscription_id: str, until: datetime, *, actor: str, note: str | None
) -> Acted:
    """End a trialing subscription's trial at `until` (later than now planned)."""
    return _change_subscription(
        svc,
        subscription_id,
        actor,
        AuditAction.EXTEND_TRIAL,
        note,
        lambda sub, now: sub.extend_trial(until, now),
    )


def change_renewal_date(
    svc: Services, subscription_id: str, at: datetime, *, actor: str, note: str | None
) -> Acted:
    """Renew an active (or past-due) subscription at `at`; later periods follow from it."""
    return _change_subscription(
        svc,
        subscription_id,
        actor,
        AuditAction.CHANGE_RENEWAL_DATE,
        note,
        lambda sub, now: sub.move_renewal(at, now),
    )


def cancel_now(
    svc: Services,
    subscription_id: str,
    *,
    actor: str,
    note: str | None,
    reason: str | None = None,
) -> Acted:
    """End the subscription now (no refund: refund its invoices separately). A canceled one
    is refused (409)."""
    note = check_note(note)
    sub = subscriptions.get_subscription(svc, subscription_id)
    now = svc.clock.now()
    # Cancelled first on a copy: refused there, nothing is written; else it says `after`.
    ended = copy.deepcopy(sub)
    ended.cancel(subscription_plan(svc, sub), now, False, reason)
    entry = new_entry(
        at=now,
        actor=actor,
        action=AuditAction.CANCEL,
        entity=sub.id,
        customer_id=sub.customer_id,
        note=note,
        before=_subscription_summary(sub),
        after=_subscription_summary(ended),
        nonce=str(sub.version),
    )
    done = subscriptions.cancel(svc, subscription_id, False, reason, along=Commit(audit=[entry]))
    return Acted(entry, subscription=done.subscription)


# -- helpers ----------------------------------------------------------------------------------
def _settleable(svc: Services, invoice_id: str, action: str) -> Invoice:
    """The invoice, when no attempt of it is in flight: what the provider answers decides
    it first (a settle racing an operator would be lost to a version conflict)."""
    invoice = subscriptions.get_invoice(svc, invoice_id)
    if invoice.status is not InvoiceStatus.OPEN:
        raise IllegalTransitionError(action, invoice.status, entity="invoice")
    if invoice.attempts and any(
        c.status is ChargeStatus.CHARGING for c in svc.repo.list_charges(invoice.id)
    ):
        raise IllegalTransitionError(
            action, invoice.status, "a payment attempt of it is in flight; retry later", "invoice"
        )
    return invoice


def _reference(reference: str) -> str:
    text = reference.strip()
    if not text or len(reference) > REFERENCE_MAX or not reference.isprintable():
        raise ValidationFailedError("reference", f"must be 1-{REFERENCE_MAX} printable characters")
    return reference


def _invoice_summary(invoice: Invoice) -> Summary:
    return {
        "status": str(invoice.status),
        "total": invoice.total,
        "currency": invoice.currency,
        "attempts": invoice.attempts,
        "amount_refunded": invoice.amount_refunded,
    }


def _subscription_summary(sub: Subscription) -> Summary:
    return {
        "status": str(sub.status),
        "current_period_end": iso(sub.current_period_end),
        "trial_end": iso(sub.trial_end) if sub.trial_end else None,
        "credit": sub.credit,
        "currency": sub.currency,
    }


def _entry(
    svc: Services,
    actor: str,
    action: AuditAction,
    invoice: Invoice,
    note: str | None,
    before: Summary,
    reference: str | None = None,
    after: Summary | None = None,
) -> AuditEntry:
    return new_entry(
        at=svc.clock.now(),
        actor=actor,
        action=action,
        entity=invoice.id,
        customer_id=invoice.customer_id,
        note=note,
        before=before,
        after=after if after is not None else _invoice_summary(invoice),
        reference=reference,
        nonce=str(invoice.version),
    )


def _change_subscription(
    svc: Services,
    subscription_id: str,
    actor: str,
    action: AuditAction,
    note: str | None,
    change: Callable[[Subscription, datetime], None],
) -> Acted:
    """Make `change` (given the subscription and now; it raises to refuse, nothing written)
    and commit it with its audit entry, its before and after summaries."""
    note = check_note(note)
    sub = subscriptions.get_subscription(svc, subscription_id)
    before = _subscription_summary(sub)
    change(sub, svc.clock.now())
    entry = new_entry(
        at=svc.clock.now(),
        actor=actor,
        action=action,
        entity=sub.id,
        customer_id=sub.customer_id,
        note=note,
        before=before,
        after=_subscription_summary(sub),
        nonce=str(sub.version),
    )
    commit = Commit(audit=[entry])
    commit.add_subscription(sub)
    svc.commit_with_notices(commit)
    return Acted(entry, subscription=sub)
