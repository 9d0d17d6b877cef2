"""The public output files of `tenure simulate`: state.json and a readable report.html."""

from pathlib import Path
from typing import Any

from tenure.domain.charges import Charge
from tenure.domain.customers import Customer
from tenure.domain.invoices import Invoice
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.ports import Repository


def customer_view(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "locale": c.locale,
        "timezone": c.timezone,
        "default_payment_method": c.default_payment_method,
        "created_at": iso(c.created_at),
        "at_risk": bool(c.metadata.get("at_risk")),  # a dispute was reported (webhooks)
    }


def subscription_view(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "customer": s.customer_id,
        "plan": s.plan_id,
        "status": str(s.status),
        "currency": s.currency,
        "created_at": iso(s.created_at),
        "current_period_start": iso(s.current_period_start),
        "current_period_end": iso(s.current_period_end),
        "trial_end": iso(s.trial_end),
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": iso(s.canceled_at),
        "cancel_reason": s.cancel_reason,
        "paused_until": iso(s.paused_until),
        "credit": s.credit,
        "mrr": s.mrr,
    }


def invoice_view(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "subscription": i.subscription_id,
        "customer": i.customer_id,
        "kind": str(i.kind),
        "period_start": iso(i.period_start),
        "period_end": iso(i.period_end),
        "currency": i.currency,
        "total": i.total,
        "status": str(i.status),
        "lines": [
            {"kind": str(line.kind), "description": line.description, "amount": line.amount}
            for line in i.lines
        ],
        "created_at": iso(i.created_at),
        "paid_at": iso(i.paid_at),
        "attempts": i.attempts,
        "next_attempt_at": iso(i.next_attempt_at),
        # Reported by the provider (webhooks): refunds made in its dashboard, disputes.
        "amount_refunded": i.amount_refunded,
        "refund_status": i.refund_status,
        "disputed": i.disputed,
        "dispute_status": str(i.dispute_status) if i.dispute_status else None,
    }


def charge_view(c: Charge) -> dict[str, Any]:
    return {
        "id": c.id,
        "invoice": c.invoice_id,
        "subscription": c.subscription_id,
        "customer": c.customer_id,
        "idempotency_key": c.idempotency_key,
        "payment_id": c.payment_id,
        "amount": c.amount,
        "currency": c.currency,
        "outcome": str(c.outcome),
        "decline_code": c.decline_code,
        "at": iso(c.at),
        "calls": c.calls,
    }


def build_state(repo: Repository, customer_ids: list[str]) -> dict[str, Any]:
    """Everything the run left, read by key and bounded queries (no scan), sorted by id."""
    customers: list[dict[str, Any]] = []
    subscriptions: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    charges: list[dict[str, Any]] = []
    for customer_id in sorted(customer_ids):
        customer = repo.get_customer(customer_id)
        if customer is None:
            continue
        customers.append(customer_view(customer))
        for sub in repo.list_subscriptions(customer_id):
            subscriptions.append(subscription_view(sub))
            for invoice in repo.list_invoices(sub.id):
                invoices.append(invoice_view(invoice))
                charges.extend(charge_view(c) for c in repo.list_charges(invoice.id))
    return {
        "customers": customers,
        "subscriptions": sorted(subscriptions, key=lambda s: s["id"]),
        "invoices": sorted(invoices, key=lambda i: i["id"]),
        "charges": sorted(charges, key=lambda c: c["id"]),
    }


def write_report(
    out: Path, state: dict[str, Any], rejected: list[dict[str, Any]], title: str
) -> Path:
    """The full report (metrics, charts, these tables) lives in tenure_local.metrics_report;
    it reads DIR/metrics.json and DIR/events.jsonl when they are there."""
    from tenure_local.metrics_report import write_report as write_full_report

    return write_full_report(out, state, rejected, title=title)
