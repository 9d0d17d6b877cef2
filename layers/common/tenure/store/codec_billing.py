"""Billing records to and from plain attribute maps: subscriptions, invoices, charges,
refunds and credit notes."""

from decimal import Decimal
from typing import Any

from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.credit_notes import CreditNote, CreditReason
from tenure.domain.discounts import TenureDiscount
from tenure.domain.invoices import (
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    OwedRefund,
    OwedRefundFailure,
    OwedRefundStatus,
    RefundRecord,
    RefundStatus,
)
from tenure.domain.prices import PriceStep
from tenure.domain.pricing import PLAIN, Item, Items
from tenure.domain.refunds import Refund, RefundBasis
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.store.codec_catalog import discount_from_attrs, discount_to_attrs
from tenure.store.codec_customers import contact_from_attrs, contact_to_attrs
from tenure.store.codec_values import parse_time, require_time, time_text
from tenure.store.compact import CHARGE_DEFAULTS, INVOICE_DEFAULTS, SUBSCRIPTION_DEFAULTS, compact


def _items_to_attrs(i: Items) -> dict[str, Any]:
    return {
        "quantity": i.quantity,
        "addons": [{"price": a.price, "quantity": a.quantity} for a in i.addons],
    }


def _items_from_attrs(a: dict[str, Any]) -> Items:
    addons = tuple(Item(x["price"], int(x["quantity"])) for x in a.get("addons") or ())
    return Items(int(a.get("quantity", 1)), addons)


_SUB_TIMES = (
    "created_at",
    "anchor",
    "current_period_start",
    "current_period_end",
    "trial_end",
    "canceled_at",
    "paused_at",
    "paused_until",
    "incomplete_expires_at",
)

_SUB_INTS = ("periods_since_anchor", "cycle", "credit", "mrr", "version")


def subscription_to_attrs(s: Subscription, *, whole: bool = False) -> dict[str, Any]:
    """The stored attributes; `whole`: every one, as items were written before
    store/compact.py (what `tenure export` writes)."""
    attrs: dict[str, Any] = {
        "id": s.id,
        "customer_id": s.customer_id,
        "plan_id": s.plan_id,
        "currency": s.currency,
        "status": str(s.status),
        "cancel_at_period_end": s.cancel_at_period_end,
        "cancel_reason": s.cancel_reason,
        **({"cancel_reason_text": s.cancel_reason_text} if s.cancel_reason_text else {}),
        **({"words_on": list(s.words_on)} if s.words_on else {}),
        "timezone": s.timezone,
        "payment_method": s.payment_method,
        "provider_customer_id": s.provider_customer_id,
    }
    if s.provider is not None:
        attrs["provider"] = s.provider
    for name in _SUB_TIMES:
        attrs[name] = time_text(getattr(s, name))
    for name in _SUB_INTS:
        attrs[name] = int(getattr(s, name))
    # Written only when there is one: items of subscriptions without coupons stay as they were.
    for name in ("discount", "period_discount"):
        if (value := getattr(s, name)) is not None:
            attrs[name] = discount_to_attrs(value)
    # The same for the tenure discount's continuity: written once it has begun.
    if s.continuity_start is not None:
        attrs["continuity_start"] = time_text(s.continuity_start)
    if s.paused_seconds:
        attrs["paused_seconds"] = s.paused_seconds
    if s.points_pending:
        attrs["points_pending"] = s.points_pending
    if s.carried:
        attrs["carried"] = s.carried
    if s.period_tenure is not None:
        attrs["period_tenure"] = {
            "after_months": s.period_tenure.after_months,
            "percent_off": str(s.period_tenure.percent_off),
            "stack": s.period_tenure.stack,
        }
    if s.contact is not None:
        attrs["contact"] = contact_to_attrs(s.contact, whole=whole)
    if not s.items.plain:
        attrs["items"] = _items_to_attrs(s.items)
    if s.scheduled_items is not None:
        attrs["scheduled_items"] = _items_to_attrs(s.scheduled_items)
    if s.plan_since is not None:
        attrs["plan_since"] = time_text(s.plan_since)
    if s.price_steps:
        attrs["price_steps"] = [
            {"change": p.change, "starts": time_text(p.starts)} for p in s.price_steps
        ]
    if s.listed:  # written only when true: older items stay as they were
        attrs["listed"] = True
    if s.credit_kept:  # only once some invoice's unused time was credited
        # A list of [invoice, amount] pairs, not a map: the credit is used oldest first
        # (unused_credit.spend_kept), and DynamoDB keeps a list's order, never a map's.
        attrs["credit_kept"] = [[invoice, amount] for invoice, amount in s.credit_kept.items()]
    if whole:
        return attrs
    if s.anchor == s.created_at:
        del attrs["anchor"]  # read back as created_at
    # Without what reads back the same when absent (store/compact.py).
    return compact(attrs, SUBSCRIPTION_DEFAULTS)


def _tenure_from_attrs(a: dict[str, Any] | None) -> TenureDiscount | None:
    if not a:
        return None
    return TenureDiscount(
        after_months=int(a["after_months"]),
        percent_off=Decimal(a["percent_off"]),
        stack=bool(a.get("stack", False)),
    )


def subscription_from_attrs(a: dict[str, Any]) -> Subscription:
    created_at = require_time(a["created_at"])
    return Subscription(
        id=a["id"],
        customer_id=a["customer_id"],
        plan_id=a["plan_id"],
        currency=a["currency"],
        status=SubscriptionStatus(a["status"]),
        created_at=created_at,
        anchor=parse_time(a.get("anchor")) or created_at,
        periods_since_anchor=int(a.get("periods_since_anchor", 0)),
        cycle=int(a.get("cycle", 0)),
        current_period_start=require_time(a["current_period_start"]),
        current_period_end=require_time(a["current_period_end"]),
        trial_end=parse_time(a.get("trial_end")),
        cancel_at_period_end=bool(a.get("cancel_at_period_end")),
        canceled_at=parse_time(a.get("canceled_at")),
        cancel_reason=a.get("cancel_reason"),
        cancel_reason_text=a.get("cancel_reason_text"),
        words_on=tuple(a.get("words_on") or ()),
        paused_at=parse_time(a.get("paused_at")),
        paused_until=parse_time(a.get("paused_until")),
        incomplete_expires_at=parse_time(a.get("incomplete_expires_at")),
        credit=int(a.get("credit", 0)),
        mrr=int(a.get("mrr", 0)),
        timezone=a.get("timezone") or "UTC",
        payment_method=a.get("payment_method"),
        provider_customer_id=a.get("provider_customer_id"),
        provider=a.get("provider"),
        discount=discount_from_attrs(a.get("discount")),
        period_discount=discount_from_attrs(a.get("period_discount")),
        continuity_start=parse_time(a.get("continuity_start")),
        paused_seconds=int(a.get("paused_seconds", 0)),
        points_pending=int(a.get("points_pending", 0)),
        carried=int(a.get("carried", 0)),
        items=_items_from_attrs(a["items"]) if a.get("items") else PLAIN,
        scheduled_items=(
            _items_from_attrs(a["scheduled_items"]) if a.get("scheduled_items") else None
        ),
        period_tenure=_tenure_from_attrs(a.get("period_tenure")),
        contact=contact_from_attrs(a.get("contact")),
        plan_since=parse_time(a.get("plan_since")),
        price_steps=tuple(
            PriceStep(p["change"], parse_time(p.get("starts"))) for p in a.get("price_steps") or ()
        ),
        listed=bool(a.get("listed", False)),
        credit_kept=_credit_kept(a.get("credit_kept")),
        version=int(a.get("version", 0)),
    )


def invoice_to_attrs(i: Invoice, *, whole: bool = False) -> dict[str, Any]:
    """Without what reads back the same when absent (store/compact.py); `whole`: every
    attribute, as items were written before (what `tenure export` writes)."""
    attrs = (
        {
            "id": i.id,
            "subscription_id": i.subscription_id,
            "customer_id": i.customer_id,
            "kind": str(i.kind),
            "period_start": time_text(i.period_start),
            "period_end": time_text(i.period_end),
            "currency": i.currency,
            "lines": [
                {"kind": str(line.kind), "description": line.description, "amount": line.amount}
                for line in i.lines
            ],
            "total": i.total,
            "status": str(i.status),
            "created_at": time_text(i.created_at),
            "paid_at": time_text(i.paid_at),
            "credit_applied": i.credit_applied,
            "attempts": i.attempts,
            "metadata": dict(i.metadata),
            "failures": i.failures,
            "first_failed_at": time_text(i.first_failed_at),
            "next_attempt_at": time_text(i.next_attempt_at),
            "dunning_ends_at": time_text(i.dunning_ends_at),
            "amount_refunded": i.amount_refunded,
            "refunds": {
                refund_id: {"amount": r.amount, "status": str(r.status), "at": time_text(r.at)}
                for refund_id, r in i.refunds.items()
            },
            "refunded_total_seen": i.refunded_total_seen,
            "refunded_total_at": time_text(i.refunded_total_at),
            "disputed": i.disputed,
            "dispute_id": i.dispute_id,
            "dispute_status": str(i.dispute_status) if i.dispute_status else None,
            "dispute_at": time_text(i.dispute_at),
        }
        | _owed_refund_attrs(i.refund_owed)
        | ({"installment_plan_id": i.installment_plan_id} if i.installment_plan_id else {})
        | ({"number": i.number} if i.number is not None else {})
        # Only once credited: an invoice never credited keeps the item it always had.
        | ({"credit_notes": i.credit_notes, "credited": i.credited} if i.credit_notes else {})
        # Only when they say more than the item always did.
        | ({"refunds_credited": i.refunds_credited} if i.refunds_credited != i.credited else {})
        | ({"credit_due_at": time_text(i.credit_due_at)} if i.credit_due_at is not None else {})
        | _unused_credit_attrs(i)
    )
    return attrs if whole else compact(attrs, INVOICE_DEFAULTS)


def _credit_kept(stored: Any) -> dict[str, int]:
    """The credit kept by invoice, oldest first, from its pairs."""
    return {str(invoice): int(amount) for invoice, amount in stored or ()}


def _unused_credit_attrs(i: Invoice) -> dict[str, Any]:
    """Only on an invoice whose unused time was credited or refunds netted against it."""
    pairs = {
        "unused_credited": i.unused_credited,
        "unused_to_balance": i.unused_to_balance,
        "refunds_netted": i.refunds_netted,
        "credit_taken_back": i.credit_taken_back,
    }
    flag = {"credit_kept_by_id": True} if i.credit_kept_by_id else {}
    return {name: value for name, value in pairs.items() if value} | flag


def _owed_refund_attrs(owed: OwedRefund | None) -> dict[str, Any]:
    # Only while owed: an invoice item without it is the item it always was.
    if owed is None:
        return {}
    return {
        "refund_owed": {
            "number": owed.number,
            "amount": owed.amount,
            "basis": owed.basis,
            "reason": owed.reason,
            "asked_at": time_text(owed.asked_at),
            "next_try_at": time_text(owed.next_try_at),
            "tries": owed.tries,
        }
        | ({"refunded_before": owed.refunded_before} if owed.refunded_before else {})
        # Only once failed: a pending owed refund's item is the item it always was.
        | (
            {
                "status": str(owed.status),
                "failed_at": time_text(owed.failed_at),
                "failure": str(owed.failure) if owed.failure else None,
            }
            if not owed.pending
            else {}
        )
    }


def _owed_refund(a: dict[str, Any] | None) -> OwedRefund | None:
    if not a:
        return None
    return OwedRefund(
        number=int(a["number"]),
        amount=int(a["amount"]),
        basis=str(a["basis"]),
        reason=a.get("reason"),
        asked_at=require_time(a["asked_at"]),
        next_try_at=require_time(a["next_try_at"]),
        tries=int(a.get("tries", 0)),
        status=OwedRefundStatus(a.get("status") or OwedRefundStatus.PENDING),
        failed_at=parse_time(a.get("failed_at")),
        failure=OwedRefundFailure(a["failure"]) if a.get("failure") else None,
        refunded_before=int(a.get("refunded_before", 0)),
    )


def invoice_from_attrs(a: dict[str, Any]) -> Invoice:
    return Invoice(
        id=a["id"],
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        kind=InvoiceKind(a["kind"]),
        period_start=require_time(a["period_start"]),
        period_end=require_time(a["period_end"]),
        currency=a["currency"],
        lines=[
            InvoiceLine(LineKind(line["kind"]), line["description"], int(line["amount"]))
            for line in a["lines"]
        ],
        status=InvoiceStatus(a["status"]),
        created_at=require_time(a["created_at"]),
        paid_at=parse_time(a.get("paid_at")),
        credit_applied=int(a.get("credit_applied", 0)),
        version=int(a.get("version", 0)),
        attempts=int(a.get("attempts", 0)),
        metadata=dict(a.get("metadata") or {}),
        failures=int(a.get("failures", 0)),
        first_failed_at=parse_time(a.get("first_failed_at")),
        next_attempt_at=parse_time(a.get("next_attempt_at")),
        dunning_ends_at=parse_time(a.get("dunning_ends_at")),
        amount_refunded=int(a.get("amount_refunded", 0)),
        refunds={
            refund_id: RefundRecord(
                int(r["amount"]), RefundStatus(r["status"]), require_time(r["at"])
            )
            for refund_id, r in (a.get("refunds") or {}).items()
        },
        refunded_total_seen=int(a.get("refunded_total_seen", 0)),
        refunded_total_at=parse_time(a.get("refunded_total_at")),
        number=a.get("number"),
        credit_notes=int(a.get("credit_notes", 0)),
        credited=int(a.get("credited", 0)),
        # Absent: every note credited a refund (before adjustments were told apart), so a
        # close never credits those refunds again.
        refunds_credited=int(a.get("refunds_credited", a.get("credited", 0))),
        credit_due_at=parse_time(a.get("credit_due_at")),
        unused_credited=int(a.get("unused_credited", 0)),
        unused_to_balance=int(a.get("unused_to_balance", 0)),
        refunds_netted=int(a.get("refunds_netted", 0)),
        credit_taken_back=int(a.get("credit_taken_back", 0)),
        credit_kept_by_id=bool(a.get("credit_kept_by_id", False)),
        disputed=bool(a.get("disputed", False)),
        dispute_id=a.get("dispute_id"),
        dispute_status=DisputeStatus(a["dispute_status"]) if a.get("dispute_status") else None,
        dispute_at=parse_time(a.get("dispute_at")),
        refund_owed=_owed_refund(a.get("refund_owed")),
        installment_plan_id=a.get("installment_plan_id"),
    )


def charge_to_attrs(c: Charge, *, whole: bool = False) -> dict[str, Any]:
    """Without what reads back the same when absent (store/compact.py); `whole`: every
    attribute, as items were written before (what `tenure export` writes)."""
    attrs = {
        "id": c.id,
        "invoice_id": c.invoice_id,
        "subscription_id": c.subscription_id,
        "customer_id": c.customer_id,
        "attempt": c.attempt,
        "amount": c.amount,
        "currency": c.currency,
        "at": time_text(c.at),
        "status": str(c.status),
        "outcome": str(c.outcome),
        "decline_code": c.decline_code,
        "payment_id": c.payment_id,
        "idempotency_key": c.idempotency_key,
        "lease_until": time_text(c.lease_until),
        "calls": c.calls,
        "payment_method": c.payment_method,
        "provider_customer": c.provider_customer,
        "provider": c.provider,
    }
    if whole:  # `provider` was written only when known
        return {k: v for k, v in attrs.items() if k != "provider" or v is not None}
    return compact(attrs, CHARGE_DEFAULTS)


def charge_from_attrs(a: dict[str, Any]) -> Charge:
    return Charge(
        id=a["id"],
        invoice_id=a["invoice_id"],
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        attempt=int(a["attempt"]),
        amount=int(a["amount"]),
        currency=a["currency"],
        at=require_time(a["at"]),
        status=ChargeStatus(a["status"]),
        outcome=ChargeOutcome(a["outcome"]),
        decline_code=a.get("decline_code"),
        payment_id=a.get("payment_id"),
        lease_until=parse_time(a.get("lease_until")),
        calls=int(a.get("calls", 0)),
        version=int(a.get("version", 0)),
        payment_method=a.get("payment_method"),
        provider_customer=a.get("provider_customer"),
        provider=a.get("provider"),
    )


def refund_to_attrs(r: Refund) -> dict[str, Any]:
    return {
        "entity": "refund",
        "id": r.id,
        "invoice_id": r.invoice_id,
        "subscription_id": r.subscription_id,
        "customer_id": r.customer_id,
        "charge_id": r.charge_id,
        "payment_id": r.payment_id,
        "provider_refund_id": r.provider_refund_id,
        "amount": r.amount,
        "currency": r.currency,
        "at": time_text(r.at),
        "basis": str(r.basis),
        "reason": r.reason,
        "note": r.note,
    }


def refund_from_attrs(a: dict[str, Any]) -> Refund:
    return Refund(
        id=a["id"],
        invoice_id=a["invoice_id"],
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        charge_id=a["charge_id"],
        payment_id=a["payment_id"],
        provider_refund_id=a["provider_refund_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        at=require_time(a["at"]),
        basis=RefundBasis(a["basis"]),
        reason=a.get("reason"),
        note=a.get("note"),
    )


def credit_note_to_attrs(n: CreditNote) -> dict[str, Any]:
    refund = {"refund_id": n.refund_id, "provider_refund_id": n.provider_refund_id}
    return {name: value for name, value in refund.items() if value is not None} | {
        "id": n.id,
        "invoice_id": n.invoice_id,
        "customer_id": n.customer_id,
        "amount": n.amount,
        "currency": n.currency,
        "reason": str(n.reason),
        "created_at": time_text(n.created_at),
        "number": n.number,
        "invoice_number": n.invoice_number,
    }


def credit_note_from_attrs(a: dict[str, Any]) -> CreditNote:
    return CreditNote(
        id=a["id"],
        invoice_id=a["invoice_id"],
        customer_id=a["customer_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        reason=CreditReason(a["reason"]),
        created_at=require_time(a["created_at"]),
        number=a.get("number"),
        invoice_number=a.get("invoice_number"),
        refund_id=a.get("refund_id"),
        provider_refund_id=a.get("provider_refund_id"),
    )
