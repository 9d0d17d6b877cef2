"""The public output files of `tenure simulate`: state.json and a readable report.html."""

import html
import json
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


def _money(amount: int, currency: str) -> str:
    from tenure.domain.money import Money

    return str(Money(amount, currency))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(v if v is not None else ''))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    out: Path, state: dict[str, Any], rejected: list[dict[str, Any]], title: str
) -> Path:
    subs = state["subscriptions"]
    invoices = state["invoices"]
    by_status: dict[str, int] = {}
    for sub in subs:
        by_status[sub["status"]] = by_status.get(sub["status"], 0) + 1
    paid = [i for i in invoices if i["status"] == "paid"]
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        "<section class='cards'>"
        + "".join(
            f"<div class='card'><b>{v}</b><span>{html.escape(k)}</span></div>"
            for k, v in [
                ("customers", len(state["customers"])),
                ("subscriptions", len(subs)),
                ("invoices", len(invoices)),
                ("paid invoices", len(paid)),
                *sorted(by_status.items()),
            ]
        )
        + "</section>",
        "<h2>Customers</h2>",
        _table(
            ["id", "name", "email", "locale", "time zone"],
            [
                [c["id"], c["name"], c["email"], c["locale"], c["timezone"]]
                for c in state["customers"]
            ],
        ),
        "<h2>Subscriptions</h2>",
        _table(
            ["id", "customer", "plan", "status", "period", "cancel", "paused until"],
            [
                [
                    s["id"],
                    s["customer"],
                    s["plan"],
                    s["status"],
                    f"{s['current_period_start']} → {s['current_period_end']}",
                    s["cancel_reason"] or ("at period end" if s["cancel_at_period_end"] else ""),
                    s["paused_until"],
                ]
                for s in subs
            ],
        ),
        "<h2>Invoices</h2>",
        _table(
            ["id", "kind", "period start", "status", "total", "lines"],
            [
                [
                    i["id"],
                    i["kind"],
                    i["period_start"],
                    i["status"],
                    _money(i["total"], i["currency"]),
                    "; ".join(
                        f"{line['description']}: {_money(line['amount'], i['currency'])}"
                        for line in i["lines"]
                    ),
                ]
                for i in invoices
            ],
        ),
    ]
    if rejected:
        sections += [
            "<h2>Actions the API refused</h2>",
            _table(
                ["at", "action", "status", "response"],
                [[r["at"], r["where"], r["status"], json.dumps(r["response"])] for r in rejected],
            ),
        ]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#1d2433}}
table{{border-collapse:collapse;width:100%;margin-bottom:2rem;font-size:.9rem}}
th,td{{border-bottom:1px solid #dde;padding:.35rem .5rem;text-align:left;vertical-align:top}}
th{{background:#f3f5fa}} .cards{{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0 2rem}}
.card{{background:#f3f5fa;border-radius:8px;padding:.8rem 1.2rem}}
.card b{{display:block;font-size:1.6rem}} .card span{{color:#556}}
</style></head><body>
{"".join(sections)}
</body></html>
"""
    path = out / "report.html"
    path.write_text(page)
    return path
