"""The public output files of `tenure simulate`: state.json and a readable report.html."""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from tenure.ports import Repository
from tenure.views import (
    CouponView,
    CustomerView,
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
    registration_charge_views,
    subscription_view,
)
from tenure_local.runtime.state_rows import PackedRows, Rows, write_rows

AUDIT_KEPT = 1000  # a customer's newest entries in state.json
# Pieces of JSON gathered before each write: few writes, and never the whole text at once.
WRITE_EVERY = 8192


def build_state(
    repo: Repository, customer_ids: list[str], rows: type[Rows] = Rows
) -> dict[str, Any]:
    """Everything the run left, read by key and bounded queries (no scan), sorted by id.
    With `rows=PackingRows` its lists of rows are PackedRows (write it with
    write_state_json: the same bytes)."""
    customers: list[CustomerView] = []
    subscriptions, invoices, charges = rows(), rows(), rows()
    points: dict[str, dict[str, Any]] = {}
    refunds, credit_notes, plans, cases = rows(), rows(), rows(), rows()
    for customer_id in sorted(customer_ids):
        customer = repo.get_customer(customer_id)
        if customer is None:
            continue
        customers.append(customer_view(customer))
        # A new mandate's registration payment sits among the charges, of no invoice.
        charges.extend(registration_charge_views(customer))
        for plan in repo.list_installment_plans(customer_id):
            plans.add(installment_plan_view(plan))
            for instalment in plan.instalments:  # invoiced ones: each is an invoice like others
                invoice = repo.get_invoice(instalment.invoice_id) if instalment.invoice_id else None
                if invoice is not None:
                    invoices.add(invoice_view(invoice))
                    charges.extend(charge_view(c) for c in repo.list_charges(invoice.id))
                    if invoice.credit_notes:
                        notes = repo.list_credit_notes(invoice.id)
                        credit_notes.extend(credit_note_view(n, invoice) for n in notes)
        for case in repo.list_collection_cases(customer_id):
            repayment = repo.get_installment_plan(case.plan_id) if case.plan_id else None
            cases.add(collection_case_view(case, repayment))
        account = repo.get_points(customer_id)
        if account.entries or account.balance or account.pending:
            view = points_view(account)
            points[customer_id] = {k: v for k, v in view.items() if k != "customer"}
        for sub in repo.list_subscriptions(customer_id):
            subscriptions.add(subscription_view(sub))
            for invoice in repo.list_invoices(sub.id):
                invoices.add(invoice_view(invoice))
                charges.extend(charge_view(c) for c in repo.list_charges(invoice.id))
                if invoice.refunds:  # only an invoice refunded at all can have Tenure's refunds
                    refunds.extend(refund_view(r, invoice) for r in repo.list_refunds(invoice.id))
                if invoice.credit_notes:  # it counts its notes: none, no query
                    notes = repo.list_credit_notes(invoice.id)
                    credit_notes.extend(credit_note_view(n, invoice) for n in notes)
    coupons: list[CouponView] = [coupon_view(c) for c in repo.list_coupons()]
    audit = [
        audit_view(e)
        for customer_id in sorted(customer_ids)
        for e in repo.list_customer_audit(customer_id, AUDIT_KEPT)
    ]
    state = {
        "coupons": coupons,  # with how often each was redeemed
        "customers": customers,
        "subscriptions": subscriptions.by_id(),
        "invoices": invoices.by_id(),
        "charges": charges.by_id(),
        # Loyalty points of the customers whose points ever moved: balance, pending, entries.
        "points": points,
        "refunds": refunds.by_id(),  # those Tenure made
        # Always present (empty without plans): each plan with its instalments; the invoices
        # and charges of the instalments invoiced so far are in `invoices` and `charges`.
        "installment_plans": plans.by_id(),
        # Always present (empty without cases): each collections case with its lines and
        # repayment plan; the plan is also among `installment_plans`, whose machinery
        # charges it (docs/collections.md).
        "collection_cases": cases.by_id(),
        # Always present (empty without any): the credit notes of refunds and adjustments,
        # each with its own legal number and the invoice it credits (docs/invoices.md).
        "credit_notes": credit_notes.by_id(),
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
    list of millions of small pieces, which at 10,000 customers was the run's peak memory.
    Lists held as PackedRows are written as the lists they stand for."""
    with path.open("w") as fh:
        if not any(isinstance(value, PackedRows) for value in state.values()):
            _write_pieces(fh, json.JSONEncoder(indent=2, sort_keys=True).iterencode(state))
        else:
            fh.write("{")
            for n, key in enumerate(sorted(state)):
                fh.write(("," if n else "") + "\n  " + json.dumps(key) + ": ")
                value = state[key]
                if isinstance(value, PackedRows):
                    write_rows(fh, value, depth=1)
                else:  # its newlines are its indents (see write_rows), one level deeper
                    pieces = json.JSONEncoder(indent=2, sort_keys=True).iterencode(value)
                    _write_pieces(fh, (piece.replace("\n", "\n  ") for piece in pieces))
            fh.write("\n}" if state else "}")
        fh.write("\n")
    return path


def _write_pieces(fh: IO[str], pieces: Iterable[str]) -> None:
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) == WRITE_EVERY:
            fh.write("".join(batch))
            batch.clear()
    fh.write("".join(batch))


def write_report(
    out: Path, state: dict[str, Any], rejected: list[dict[str, Any]], title: str
) -> Path:
    """The full report (metrics, charts, these tables) lives in tenure_local.report.metrics_report;
    it reads DIR/metrics.json and DIR/events.jsonl when they are there."""
    from tenure_local.report.metrics_report import write_report as write_full_report

    return write_full_report(out, state, rejected, title=title)
