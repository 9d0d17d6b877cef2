"""Notices (emails owed, with their copies of a contact, subscription or invoice) and audit
entries to and from plain attribute maps."""

from decimal import Decimal
from typing import Any

from tenure.domain.audit import AuditAction, AuditEntry, Summary
from tenure.domain.invoices import Invoice
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.store.codec_billing import (
    invoice_from_attrs,
    invoice_to_attrs,
    subscription_from_attrs,
    subscription_to_attrs,
)
from tenure.store.codec_customers import contact_from_attrs, contact_to_attrs
from tenure.store.codec_values import parse_time, require_time, time_text
from tenure.store.compact import NOTICE_DEFAULTS, compact, with_repeats, without_repeats

# What a notice's copies repeat of the notice itself: left out, read back from the notice.
_SUBSCRIPTION_REPEATS = {"id": "subscription_id", "customer_id": "customer_id"}

_INVOICE_REPEATS = {"subscription_id": "subscription_id", "customer_id": "customer_id"}


def notice_to_attrs(n: Notice, *, whole: bool = False) -> dict[str, Any]:
    """Without what reads back the same when absent (store/compact.py): its nulls, and what
    its copies repeat of it. `whole`: every attribute, as notices were written before (what
    `tenure export` writes)."""
    attrs: dict[str, Any] = {
        "id": n.key,
        "kind": str(n.kind),
        "customer_id": n.customer_id,
        "subscription_id": n.subscription_id,
        "due_at": time_text(n.due_at),
        "created_at": time_text(n.created_at),
        "status": str(n.status),
        "data": n.data,
        "sent_at": time_text(n.sent_at),
        "message_id": n.message_id,
        "reason": n.reason,
    }
    if not whole:
        attrs = compact(attrs, NOTICE_DEFAULTS)
    # Written only when there are copies: notices planned before them stay as they were.
    if n.contact is not None:
        attrs["contact"] = contact_to_attrs(n.contact, whole=whole)
    if n.subscription is not None:
        copied = subscription_to_attrs(n.subscription, whole=whole)
        attrs["subscription"] = (
            {k: v for k, v in copied.items() if v is not None}
            if whole
            else without_repeats(copied, attrs, _SUBSCRIPTION_REPEATS)
        )
    if n.invoice is not None:
        copied = _invoice_copy_attrs(n.invoice)
        attrs["invoice"] = copied if whole else without_repeats(copied, attrs, _INVOICE_REPEATS)
    return attrs


def _invoice_copy_attrs(invoice: Invoice) -> dict[str, Any]:
    """A notice's copy of an invoice, with its version, without the derived total (and,
    as the invoice's own item, without what reads back the same when absent): the notice
    is written to the table and its due index, so its size is paid twice."""
    copied = invoice_to_attrs(invoice)
    del copied["total"]
    return copied | {"version": invoice.version}


def notice_from_attrs(a: dict[str, Any]) -> Notice:
    """A notice from its attributes, of either shape: every attribute (items written before
    store/compact.py), or without what reads back the same. Its `id` may be left to its
    caller, who knows the key that holds it (DynamoRepository)."""
    sub, invoice = a.get("subscription"), a.get("invoice")
    return Notice(
        key=a["id"],
        kind=NoticeKind(a["kind"]),
        customer_id=a["customer_id"],
        subscription_id=a.get("subscription_id"),
        due_at=require_time(a["due_at"]),
        created_at=require_time(a["created_at"]),
        status=NoticeStatus(a["status"]),
        data=dict(a.get("data") or {}),
        sent_at=parse_time(a.get("sent_at")),
        message_id=a.get("message_id"),
        reason=a.get("reason"),
        version=int(a.get("version", 0)),
        contact=contact_from_attrs(a.get("contact")),
        subscription=(
            subscription_from_attrs(with_repeats(sub, a, _SUBSCRIPTION_REPEATS)) if sub else None
        ),
        invoice=invoice_from_attrs(with_repeats(invoice, a, _INVOICE_REPEATS)) if invoice else None,
    )


def audit_to_attrs(e: AuditEntry) -> dict[str, Any]:
    return {
        "entity": "audit",
        "id": e.id,
        "at": time_text(e.at),
        "actor": e.actor,
        "action": str(e.action),
        "entity_id": e.entity,
        "customer_id": e.customer_id,
        "note": e.note,
        "reference": e.reference,
        "before": dict(e.before),
        "after": dict(e.after),
    }


def _summary(held: Any) -> Summary:
    # DynamoDB hands numbers back as Decimal: a summary holds whole numbers only.
    return {str(k): int(v) if isinstance(v, Decimal) else v for k, v in dict(held or {}).items()}


def audit_from_attrs(a: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=a["id"],
        at=require_time(a["at"]),
        actor=a["actor"],
        action=AuditAction(a["action"]),
        entity=a["entity_id"],
        customer_id=a["customer_id"],
        note=a.get("note"),
        reference=a.get("reference"),
        before=_summary(a.get("before")),
        after=_summary(a.get("after")),
    )
