"""The business's numbers at the end of a `tenure simulate` run, read from what it wrote.

A founder who runs a scenario wants to know how the business did (MRR, churn, payments
recovered, emails sent), not how fast the engine ran; the engine's statistics are for
`--verbose`. Everything here is read back from `metrics.json` and `outbox/`, so the lines
say what the files say.
"""

import json
from datetime import date
from pathlib import Path
from typing import Any

from tenure.report.numbers import complete_months, money


class SummaryInputError(ValueError):
    """The folder does not hold a metrics.json that `tenure simulate` writes."""


def business_lines(folder: Path) -> list[str]:
    """The run's business numbers, a few lines for a terminal."""
    try:
        doc = json.loads((folder / "metrics.json").read_text())
        currency, monthly, daily = doc["currency"], doc["monthly"], doc["daily"]
        first, last = date.fromisoformat(doc["start"]), date.fromisoformat(doc["until"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SummaryInputError(f"cannot read {folder / 'metrics.json'}: {exc}") from exc
    emails = len(list((folder / "outbox").glob("*.eml")))
    lines = [f"The business from {first} to {last}" + (f" ({currency}):" if currency else ":")]
    if not monthly or not currency:
        lines.append("  no subscriptions were billed")
    else:
        lines += [
            _mrr_line(monthly, daily, currency),
            _customers_line(monthly),
            _churn_line(monthly, complete_months(doc)),
            _recovered_line(monthly),
        ]
    others = sorted(doc.get("other_currencies") or {})
    instalments = _instalments_line(doc)
    if instalments:
        lines.append(instalments)
    if others:
        lines.append(f"  also billed in {', '.join(others)}: see the report")
    lines.append(f"  emails     {emails:,} sent to customers")
    return lines


def _instalments_line(doc: dict[str, Any]) -> str | None:
    """Instalments of installment plans paid over the run, in every currency they were
    billed in (a plan's currency need not be the subscriptions'); None when there were none
    (older metrics.json files, without the field, have none to tell)."""
    books = [(doc.get("currency"), doc.get("monthly") or [])]
    books += [
        (c, book.get("monthly") or []) for c, book in (doc.get("other_currencies") or {}).items()
    ]
    paid, collected = 0, []
    for currency, monthly in books:
        count = sum(m.get("installments_paid", 0) for m in monthly)
        amount = sum(m.get("installments_collected", 0) for m in monthly)
        if count and currency:
            paid += count
            collected.append(money(amount, currency))
    if not paid:
        return None
    return f"  instalments {paid:,} paid, {' + '.join(collected)} collected"


def _mrr_line(monthly: list[dict[str, Any]], daily: list[dict[str, Any]], currency: str) -> str:
    start, end = monthly[0]["mrr_start"], monthly[-1]["mrr_end"]
    text = f"  MRR        {money(end, currency)} at the end"
    text += f", from {money(start, currency)} at the start"
    if daily:
        peak = max(daily, key=lambda day: day["mrr"])  # the first day of a tie
        if peak["mrr"] > end:
            text += f"; peak {money(peak['mrr'], currency)} on {peak['date']}"
    return text


def _customers_line(monthly: list[dict[str, Any]]) -> str:
    new = sum(m["customers_new"] for m in monthly)
    back = sum(m["customers_reactivated"] for m in monthly)
    text = f"  customers  {monthly[-1]['customers_end']:,} paying at the end; {new:,} new"
    return text + (f", {back:,} came back" if back else "")


def _churn_line(monthly: list[dict[str, Any]], whole: list[dict[str, Any]]) -> str:
    """The period's churn, and the last whole month's rate (the report's own months)."""
    lost = sum(m["customers_lost"] for m in monthly)
    voluntary = sum(m["voluntary_churned"] for m in monthly)
    involuntary = sum(m["involuntary_churned"] for m in monthly)
    text = f"  churn      {lost:,} customers lost"
    if lost:
        text += f" ({voluntary:,} left, {involuntary:,} for failed payments)"
    if whole and whole[-1]["customers_start"]:
        month = whole[-1]
        rate = month["customer_churn_rate"] or 0.0
        name = date.fromisoformat(f"{month['month']}-01").strftime("%B %Y")
        text += (
            f"; in {name}, the last whole month: {month['customers_lost']:,} of "
            f"{month['customers_start']:,} ({rate:.0%})"
        )
    return text


def _recovered_line(monthly: list[dict[str, Any]]) -> str:
    failed = sum(m["invoices_failed"] for m in monthly)
    recovered = sum(m["invoices_recovered"] for m in monthly)
    if not failed:
        return "  recovered  no payment failed"
    return (
        f"  recovered  {recovered:,} of {failed:,} invoices whose first payment failed "
        f"({recovered / failed:.0%})"
    )
