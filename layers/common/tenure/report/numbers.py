"""The report's figures in words: money and rates as text, and the founder's first sentences."""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_currency

from tenure.domain.money import exponent


def money(amount: int | None, currency: str, whole: bool = False) -> str:
    if amount is None:
        return "–"
    value = Decimal(amount).scaleb(-exponent(currency))
    if whole:
        return format_currency(
            value.quantize(Decimal(1), rounding=ROUND_HALF_UP),
            currency,
            format="¤#,##0",
            locale="en_US",
            currency_digits=False,
        )
    return format_currency(value, currency, locale="en_US")


def pct(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def month_name(key: str) -> str:
    return date.fromisoformat(f"{key}-01").strftime("%b %Y")


def day_name(key: str) -> str:
    d = date.fromisoformat(key)
    return f"{d.strftime('%b')} {d.day}, {d.year}"


def complete_months(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Months the report covers to their last day (a month cut short is left out), or all."""
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    if not daily:
        return monthly
    last = date.fromisoformat(daily[-1]["date"])
    first = date.fromisoformat(daily[0]["date"])

    def whole(key: str) -> bool:
        start = date.fromisoformat(f"{key}-01")
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return start >= first.replace(day=1) and following - timedelta(days=1) <= last

    return [m for m in monthly if whole(m["month"])] or monthly


def summary_sentences(doc: dict[str, Any], at_risk: int | None = None) -> list[str]:
    """What a founder wants to know first, in sentences (figures in the reporting currency)."""
    cur = doc["currency"]
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    if not daily:
        return ["No subscription activity in this period."]
    start = monthly[0]["mrr_start"] if monthly else 0
    end = daily[-1]["mrr"]
    period = f"between {day_name(daily[0]['date'])} and {day_name(daily[-1]['date'])}"
    if start == 0:
        first = f"MRR grew from nothing to {money(end, cur, whole=True)} {period}"
    elif end >= start:
        first = f"MRR grew {pct((end - start) / start)} to {money(end, cur, whole=True)} {period}"
    else:
        first = f"MRR fell {pct((start - end) / start)} to {money(end, cur, whole=True)} {period}"
    customers = daily[-1]["customers"]
    sentences = [f"{first}, with {customers} paying customer{'s' if customers != 1 else ''}."]
    lost = sum(m["customers_lost"] for m in monthly)
    involuntary = sum(m["involuntary_churned"] for m in monthly)
    new = sum(m["customers_new"] for m in monthly)
    back = sum(m["customers_reactivated"] for m in monthly)
    gained = f"{new} new customer{'s' if new != 1 else ''} joined"
    if back:
        gained += f" and {back} came back"
    if lost:
        how = (
            f", {involuntary} of them involuntarily (failed payments)"
            if involuntary
            else ", all by their own choice"
        )
        sentences.append(f"{gained}; {lost} churned{how}.")
    else:
        sentences.append(f"{gained}; nobody churned.")
    full = [m for m in complete_months(doc) if m["nrr"] is not None]
    if full:
        last = full[-1]
        sentences.append(
            f"In {month_name(last['month'])}, net revenue retention was {pct(last['nrr'])} "
            f"and gross revenue retention {pct(last['grr'])}."
        )
    attempts = [m for m in monthly if m["on_time_payment_rate"] is not None]
    failed = sum(m["invoices_failed"] for m in monthly)
    recovered = sum(m["invoices_recovered"] for m in monthly)
    if attempts and not failed:
        sentences.append("Payments: every invoice was paid at its first attempt.")
    elif attempts:
        sentences.append(
            f"Payments: {failed} invoice{'s' if failed != 1 else ''} failed at the first "
            f"attempt and {recovered} of them {'was' if recovered == 1 else 'were'} recovered."
        )
    reasons = doc.get("exit_reasons") or {}
    if reasons:
        top, count = next(iter(reasons.items()))
        sentences.append(f"The most common exit reason was “{top.replace('_', ' ')}” ({count}).")
    if at_risk:
        sentences.append(
            f"{at_risk} customer{'s are' if at_risk != 1 else ' is'} at risk now "
            "(late payments or disputes)."
        )
    return sentences


def customers_at_risk(
    state: dict[str, Any] | None, events: Iterable[dict[str, Any]]
) -> list[dict[str, str]]:
    """Late payers (past due or unpaid) and customers with an open dispute, from a run's
    state.json and events."""
    reasons: dict[str, set[str]] = {}
    for sub in (state or {}).get("subscriptions", []):
        if sub.get("status") in ("past_due", "unpaid"):
            reasons.setdefault(sub["customer"], set()).add(f"subscription {sub['status']}")
    disputes: dict[str, str] = {}
    for event in events:
        kind, customer = event.get("type"), event.get("customer_id")
        if not customer:
            continue
        if kind == "InvoiceDisputed":
            disputes[event["entity_id"]] = customer
        elif kind == "InvoiceDisputeClosed":
            disputes.pop(event["entity_id"], None)
        elif kind == "CustomerMarkedAtRisk":
            reasons.setdefault(customer, set()).add("flagged by the provider")
    for customer in disputes.values():
        reasons.setdefault(customer, set()).add("open dispute")
    return [{"customer": c, "why": ", ".join(sorted(w))} for c, w in sorted(reasons.items())]
