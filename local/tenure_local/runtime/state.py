"""The public output files of `tenure simulate`: state.json and a readable report.html."""

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tenure.ports import Repository
from tenure.views import (
    ChargeView,
    CollectionCaseView,
    CouponView,
    CreditNoteView,
    CustomerView,
    InstallmentPlanView,
    InvoiceView,
    RefundView,
    SubscriptionView,
    audit_view,
    charge_view,
    collection_case_view,
    coupon_view,
    credit_note_view,
    customer_view,
    installment_plan_view,
    invoice_view,
    points_view,
    refund_view,
    subscription_view,
)

AUDIT_KEPT = 1000  # a customer's newest entries in state.json
# Pieces of JSON gathered before each write: few writes, and never the whole text at once.
WRITE_EVERY = 8192


def build_state(repo: Repository, customer_ids: list[str]) -> dict[str, Any]:
    """Everything the run left, read by key and bounded queries (no scan), sorted by id."""
    customers: list[CustomerView] = []
    subscriptions: list[SubscriptionView] = []
    invoices: list[InvoiceView] = []
    charges: list[ChargeView] = []
    points: dict[str, dict[str, Any]] = {}
    refunds: list[RefundView] = []
    credit_notes: list[CreditNoteView] = []
    plans: list[InstallmentPlanView] = []
    cases: list[CollectionCaseView] = []
    for customer_id in sorted(customer_ids):
        customer = repo.get_customer(customer_id)
        if customer is None:
            continue
        customers.append(customer_view(customer))
        for plan in repo.list_installment_plans(customer_id):
            plans.append(installment_plan_view(plan))
            for instalment in plan.instalments:  # invoiced ones: each is an invoice like others
                invoice = repo.get_invoice(instalment.invoice_id) if instalment.invoice_id else None
                if invoice is not None:
                    invoices.append(invoice_view(invoice))
                    charges.extend(charge_view(c) for c in repo.list_charges(invoice.id))
                    if invoice.credit_notes:
                        notes = repo.list_credit_notes(invoice.id)
                        credit_notes.extend(map(credit_note_view, notes))
        for case in repo.list_collection_cases(customer_id):
            repayment = repo.get_installment_plan(case.plan_id) if case.plan_id else None
            cases.append(collection_case_view(case, repayment))
        account = repo.get_points(customer_id)
        if account.entries or account.balance or account.pending:
            view = points_view(account)
            points[customer_id] = {k: v for k, v in view.items() if k != "customer"}
        for sub in repo.list_subscriptions(customer_id):
            subscriptions.append(subscription_view(sub))
            for invoice in repo.list_invoices(sub.id):
                invoices.append(invoice_view(invoice))
                charges.extend(charge_view(c) for c in repo.list_charges(invoice.id))
                if invoice.refunds:  # only an invoice refunded at all can have Tenure's refunds
                    refunds.extend(refund_view(r) for r in repo.list_refunds(invoice.id))
                if invoice.credit_notes:  # it counts its notes: none, no query
                    credit_notes.extend(map(credit_note_view, repo.list_credit_notes(invoice.id)))
    coupons: list[CouponView] = [coupon_view(c) for c in repo.list_coupons()]
    audit = [
        audit_view(e)
        for customer_id in sorted(customer_ids)
        for e in repo.list_customer_audit(customer_id, AUDIT_KEPT)
    ]
    state = {
        "coupons": coupons,  # with how often each was redeemed
        "customers": customers,
        "subscriptions": sorted(subscriptions, key=lambda s: s["id"]),
        "invoices": sorted(invoices, key=lambda i: i["id"]),
        "charges": sorted(charges, key=lambda c: c["id"]),
        # Loyalty points of the customers whose points ever moved: balance, pending, entries.
        "points": points,
        "refunds": sorted(refunds, key=lambda r: r["id"]),  # those Tenure made
        # Always present (empty without plans): each plan with its instalments; the invoices
        # and charges of the instalments invoiced so far are in `invoices` and `charges`.
        "installment_plans": sorted(plans, key=lambda p: p["id"]),
        # Always present (empty without cases): each collections case with its lines and
        # repayment plan; the plan is also among `installment_plans`, whose machinery
        # charges it (docs/collections.md).
        "collection_cases": sorted(cases, key=lambda c: c["id"]),
        # Always present (empty without any): the credit notes of refunds and adjustments,
        # each with its own legal number and the invoice it credits (docs/invoices.md).
        "credit_notes": sorted(credit_notes, key=lambda n: n["id"]),
    }
    if audit:  # only when something was audited: runs without operator actions stay as they were
        state["audit"] = sorted(audit, key=lambda e: (e["at"], e["id"]))
    return state


class OutputEvents:
    """A run's events for its output files (events.jsonl, the report), in the table's order
    on every pass. The in-memory store hands them out one at a time, so a year of them is
    never unpacked at once; another store is read once and its list kept."""

    def __init__(self, repo: Repository, start: datetime, end: datetime) -> None:
        self._repo, self._start, self._end = repo, start, end
        self._read: list[dict[str, Any]] | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        one_by_one = getattr(self._repo, "iter_events_between", None)
        if one_by_one is not None:
            found: Iterator[dict[str, Any]] = one_by_one(self._start, self._end)
            return found
        if self._read is None:
            self._read = self._repo.events_between(self._start, self._end)
        return iter(self._read)


def write_state_json(path: Path, state: dict[str, Any]) -> Path:
    """`state` written as `json.dumps(state, indent=2, sort_keys=True)` and a newline, the
    same bytes, but streamed: with an indent the json module builds the whole text from a
    list of millions of small pieces, which at 10,000 customers was the run's peak memory."""
    pieces: list[str] = []
    with path.open("w") as fh:
        for piece in json.JSONEncoder(indent=2, sort_keys=True).iterencode(state):
            pieces.append(piece)
            if len(pieces) == WRITE_EVERY:
                fh.write("".join(pieces))
                pieces.clear()
        pieces.append("\n")
        fh.write("".join(pieces))
    return path


def write_report(
    out: Path, state: dict[str, Any], rejected: list[dict[str, Any]], title: str
) -> Path:
    """The full report (metrics, charts, these tables) lives in tenure_local.report.metrics_report;
    it reads DIR/metrics.json and DIR/events.jsonl when they are there."""
    from tenure_local.report.metrics_report import write_report as write_full_report

    return write_full_report(out, state, rejected, title=title)
