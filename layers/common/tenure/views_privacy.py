"""The JSON of a customer's export and of a legal hold (docs/privacy.md), from the records
tenure.services.privacy reads: the public views of each kind, so an export reads as the API
does."""

from typing import Any

from tenure.domain.notices import Notice
from tenure.domain.offers import SaveAttempt
from tenure.domain.privacy import LegalHold
from tenure.domain.timeutil import iso
from tenure.domain.webhooks_out import WebhookDelivery
from tenure.services.privacy import CustomerRecords
from tenure.views import (
    audit_view,
    charge_view,
    collection_case_view,
    credit_note_view,
    customer_view,
    installment_plan_view,
    invoice_view,
    payment_method_view,
    points_view,
    refund_view,
    subscription_view,
)

# Said in every export, so that its reader knows what it is and is not.
SCOPE = {
    "events": "domain events of the days the customer's own records point to (creation, "
    "subscriptions, invoices, payments, refunds, credit notes, plans, cases, audit entries); "
    "events are kept by day, and other days are not read without a scan",
    "webhook_deliveries": "deliveries of those events to the business's endpoints",
    "not_included": "the legal hold of an erased customer (GET .../legal-hold), API "
    "idempotency records (expire within 24 hours), the payment provider's own records",
}


def export_view(found: CustomerRecords) -> dict[str, Any]:
    plans = {p.id: p for p in found.installment_plans}
    invoices = {i.id: i for i in found.invoices}
    return {
        "customer": customer_view(found.customer),
        "payment_methods": [payment_method_view(m) for m in found.payment_methods],
        "subscriptions": [subscription_view(s) for s in found.subscriptions],
        "cancellation_requests": [_save_attempt_view(a) for a in found.save_attempts],
        "invoices": [invoice_view(i) for i in found.invoices],
        "charges": [charge_view(c) for c in found.charges],
        "refunds": [refund_view(r, invoices.get(r.invoice_id)) for r in found.refunds],
        "credit_notes": [
            credit_note_view(n, invoices.get(n.invoice_id)) for n in found.credit_notes
        ],
        "installment_plans": [installment_plan_view(p) for p in found.installment_plans],
        "collection_cases": [
            collection_case_view(c, plans.get(c.plan_id) if c.plan_id else None)
            for c in found.collection_cases
        ],
        "points": points_view(found.points) if found.points is not None else None,
        "emails": [_notice_view(n) for n in found.notices],
        "audit": [audit_view(e) for e in found.audit],
        "events": found.events,
        "webhook_deliveries": [_delivery_view(d) for d in found.deliveries],
        "scope": SCOPE | {"event_days": found.event_days},
    }


def _save_attempt_view(a: SaveAttempt) -> dict[str, Any]:
    return {
        "subscription": a.subscription_id,
        "presented_at": iso(a.presented_at),
        "reason": a.reason,
        "reason_text": a.reason_text,
        "status": str(a.status),
        "decided_at": iso(a.decided_at),
        "accepted": a.accepted,
    }


def _notice_view(n: Notice) -> dict[str, Any]:
    contact = n.contact
    return {
        "key": n.key,
        "kind": str(n.kind),
        "subscription": n.subscription_id,
        "status": str(n.status),
        "due_at": iso(n.due_at),
        "sent_at": iso(n.sent_at),
        "reason": n.reason,
        "to": contact.email if contact is not None else None,
    }


def _delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "endpoint": d.endpoint_id,
        "event": d.event_id,
        "type": d.event_type,
        "status": str(d.status),
        "attempts": d.attempts,
        "created_at": iso(d.created_at),
        "payload": d.payload,
    }


def legal_hold_view(hold: LegalHold) -> dict[str, Any]:
    return {
        "customer": hold.customer_id,
        "erased_at": iso(hold.erased_at),
        "billing_name": hold.name,
        "billing_address": hold.address,
        "tax_id": hold.tax_id,
        "invoices": list(hold.invoices),
        "credit_notes": list(hold.credit_notes),
    }
