"""Invoice lines as facts an email can word in any language.

The domain stores each line with an English description ("Basic (2026-01-31T09:00:00Z –
2026-02-28T09:00:00Z)", "Introductory 50% off", "Unused time on Basic"): that text is part of
the stored invoice and of `state.json`, so it stays as it is. A customer must read neither
English they did not choose nor an ISO timestamp, so the description is read back here into
what the line is (its label), the plan it is about, a discount's percent and the period it
pays for; the renderer words those in the customer's language. A description this module
does not know keeps its text and no label, and is shown as written.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tenure.domain.collection_cases import CollectionCase
from tenure.domain.invoices import Invoice, InvoiceLine, LineKind
from tenure.domain.notices import EmailFacts, LineFact
from tenure.domain.timeutil import parse_iso

# The shapes the domain writes (tenure.domain.invoices, .subscription, services.subscriptions);
# tests build lines through those functions, so a change of wording there fails here.
_PERIOD = re.compile(r"^(?P<plan>.+) \((?P<start>\S+) – (?P<end>\S+)\)$")
# tenure.domain.invoices.item_description, then the period when the invoice has one.
_ITEM = re.compile(
    r"^(?P<plan>.+): (?P<quantity>\d+) (?:× (?P<unit>\d+)|units)"
    r"(?: \((?P<start>\S+) – (?P<end>\S+)\))?$"
)
_INTRO = re.compile(r"^Introductory (?P<percent>\d+(?:\.\d+)?)% off$")
_PRORATIONS = {
    "unused_time": re.compile(r"^Unused time on (?P<plan>.+)$"),
    "remaining_time": re.compile(r"^Remaining time on (?P<plan>.+)$"),
}
# tenure.domain.discounts.coupon_description: the terms never hold parentheses, a name may.
_COUPON = re.compile(r"^Coupon (?P<name>.+) \((?P<terms>[^()]+ off)\)$")
# tenure.domain.discounts.tenure_description
_TENURE = re.compile(r"^Tenure discount after \d+ months \((?P<percent>\d+(?:\.\d+)?)% off\)$")
# tenure.domain.points.points_credit_description
_POINTS = re.compile(r"^Loyalty points redeemed \((?P<points>\d+) points\)$")
_CREDITS = {"Credit applied": "credit_applied", "Carried to customer credit": "credit_carried"}


def line_fact(
    line: InvoiceLine, start: datetime | None = None, end: datetime | None = None
) -> LineFact:
    """One line as the email shows it; `start`/`end` is the invoice's period, which a plan
    line pays for (None for a preview of an invoice not made yet)."""
    text, amount = line.description, line.amount
    if line.kind is LineKind.PLAN and (item := _ITEM.match(text)) is not None:
        moments = _moments(item["start"], item["end"]) if item["start"] else None
        first, last = moments if moments is not None else (start, end)
        unit = int(item["unit"]) if item["unit"] is not None else None
        quantity = int(item["quantity"])
        return LineFact(
            text,
            amount,
            "item",
            item["plan"],
            start=first,
            end=last,
            quantity=quantity,
            unit_amount=unit,
        )
    if line.kind is LineKind.PLAN:
        found = _PERIOD.match(text)
        moments = _moments(found["start"], found["end"]) if found is not None else None
        if found is not None and moments is not None:
            return LineFact(text, amount, "plan", found["plan"], start=moments[0], end=moments[1])
        return LineFact(text, amount, "plan", text, start=start, end=end)
    if line.kind is LineKind.DISCOUNT:
        intro = _INTRO.match(text)
        if intro is not None:
            return LineFact(text, amount, "intro_discount", percent=intro["percent"])
    if line.kind is LineKind.PRORATION:
        for label, shape in _PRORATIONS.items():
            matched = shape.match(text)
            if matched is not None:
                return LineFact(text, amount, label, matched["plan"])
    if line.kind is LineKind.COUPON:
        coupon = _COUPON.match(text)
        if coupon is not None:
            return LineFact(text, amount, "coupon", coupon=coupon["name"])
    if line.kind is LineKind.TENURE_DISCOUNT:
        tenure = _TENURE.match(text)
        if tenure is not None:
            return LineFact(text, amount, "tenure_discount", percent=tenure["percent"])
    if line.kind is LineKind.POINTS_CREDIT:
        points = _POINTS.match(text)
        if points is not None:
            return LineFact(text, amount, "points_credit", points=int(points["points"]))
    if line.kind is LineKind.CREDIT and text in _CREDITS:
        return LineFact(text, amount, _CREDITS[text])
    return LineFact(text, amount)


def line_facts(
    lines: Iterable[InvoiceLine], start: datetime | None = None, end: datetime | None = None
) -> tuple[LineFact, ...]:
    """The lines an email itemizes; tax is a fact of its own, shown as its own row."""
    return tuple(line_fact(ln, start, end) for ln in lines if ln.kind is not LineKind.TAX)


def case_line_facts(case: CollectionCase, invoices: Mapping[str, Invoice]) -> tuple[LineFact, ...]:
    """A collections case's lines as its email and page word them, oldest invoice first:
    each owed invoice's lines read back like any invoice's (its plan line with the period it
    paid for), its tax as a line of its own, so that they add up to the case's total; less
    what was recovered. An invoice no longer as the case recorded it (or not found) shows the
    case's own lines: its description and the invoice's period. Less what was forgiven, too
    small to be charged (a settled three-decimal case's last fils)."""
    facts: list[LineFact] = []
    for invoice_id in case.invoice_ids:
        recorded = [ln for ln in case.lines if ln.invoice_id == invoice_id]
        invoice = invoices.get(invoice_id)
        if invoice is not None and [(ln.description, ln.amount) for ln in invoice.lines] == [
            (ln.description, ln.amount) for ln in recorded
        ]:
            facts.extend(
                LineFact(ln.description, ln.amount, "case_tax")
                if ln.kind is LineKind.TAX
                else line_fact(ln, invoice.period_start, invoice.period_end)
                for ln in invoice.lines
            )
            continue
        facts.extend(
            LineFact(
                ln.description, ln.amount, "case_line", start=ln.period_start, end=ln.period_end
            )
            for ln in recorded
        )
    if case.recovered:
        facts.append(LineFact("Already paid", -case.recovered, "case_recovered"))
    if case.forgiven:  # under the smallest amount a provider charges (KWD 0.005)
        facts.append(LineFact("Forgiven", -case.forgiven, "case_forgiven"))
    return tuple(facts)


def invoice_plan(lines: Iterable[LineFact]) -> str | None:
    """The plan an invoice is for: its plan line's, else the plan a change moved to."""
    facts = list(lines)
    for label in ("plan", "item", "remaining_time"):
        for fact in facts:
            if fact.label == label and fact.plan:
                return fact.plan
    return None


def invoice_tax(lines: Iterable[InvoiceLine]) -> int | None:
    taxes = [line.amount for line in lines if line.kind is LineKind.TAX]
    return sum(taxes) if taxes else None


def invoice_facts(
    invoice: Invoice, customer_name: str, plan_name: str | None = None, **more: Any
) -> EmailFacts:
    """What an email about `invoice` shows of it (its lines, tax, total and the period that
    names it), plus `more` facts of the email's kind. The plan is the one its lines name,
    else `plan_name`."""
    items = line_facts(invoice.lines, invoice.period_start, invoice.period_end)
    return EmailFacts(
        customer_name=customer_name,
        currency=invoice.currency,
        plan_name=invoice_plan(items) or plan_name,
        amount=invoice.total,
        lines=items,
        tax=invoice_tax(invoice.lines),
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        installment_plan=invoice.installment_plan_id is not None,
        **more,
    )


def _moments(start: str, end: str) -> tuple[datetime, datetime] | None:
    try:
        return parse_iso(start), parse_iso(end)
    except ValueError:
        return None
