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


def _month_start(key: str) -> date:
    return date.fromisoformat(f"{key}-01")


def _month_end(key: str) -> date:
    start = _month_start(key)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)


def partial_months(doc: dict[str, Any]) -> dict[str, str]:
    """Months the period covers only in part, each with the days it does cover ("Jan 31",
    "Jun 1–15"): a rate over a few days is not a monthly rate, so they are never shown as
    whole months."""
    daily = doc.get("daily", [])
    if not daily:
        return {}
    first, last = date.fromisoformat(daily[0]["date"]), date.fromisoformat(daily[-1]["date"])
    partial = {}
    for m in doc.get("monthly", []):
        start, end = _month_start(m["month"]), _month_end(m["month"])
        if start >= first and end <= last:
            continue
        since, until = max(start, first), min(end, last)
        days = f"{since.strftime('%b')} {since.day}"
        if until != since:
            days += f"–{until.day}"
        partial[m["month"]] = days
    return partial


def month_label(key: str, partial: dict[str, str]) -> str:
    """The month's name, marked partial with the days covered when it is."""
    if key in partial:
        return f"{month_name(key)} (partial: {partial[key]})"
    return month_name(key)


def complete_months(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The months the report covers from their first day to their last."""
    partial = partial_months(doc)
    return [m for m in doc.get("monthly", []) if m["month"] not in partial]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def mrr_sentence(doc: dict[str, Any]) -> str:
    """Where MRR stands today against its peak and against the start of the period: a line
    that only compared the ends would call a rise and a steep fall "growth"."""
    cur = doc["currency"]
    daily, monthly = doc["daily"], doc.get("monthly", [])
    start = monthly[0]["mrr_start"] if monthly else 0
    end, today = daily[-1]["mrr"], day_name(daily[-1]["date"])
    peak = max(d["mrr"] for d in daily)
    at_peak = [d["date"] for d in daily if d["mrr"] == peak]
    customers = daily[-1]["customers"]
    first = f"MRR is {money(end, cur, whole=True)} on {today}, with"
    first += f" {_plural(customers, 'paying customer')}"
    if peak == end or peak <= start:
        against_peak = "its highest in the period" if peak > start else ""
    else:
        when = "" if len(at_peak) == 1 else "first reached "
        against_peak = (
            f"{pct((peak - end) / peak)} below its peak of {money(peak, cur, whole=True)} "
            f"({when}{day_name(at_peak[0])})"
        )
    opened = day_name(daily[0]["date"])
    if end == start:
        against_start = f"level with the start on {opened}"
    elif start == 0:
        against_start = f"up from nothing on {opened}"
    elif end > start:
        against_start = f"up {pct((end - start) / start)} from {money(start, cur, whole=True)}"
        against_start += f" on {opened}"
    else:
        against_start = f"down {pct((start - end) / start)} from {money(start, cur, whole=True)}"
        against_start += f" on {opened}"
    return f"{first}: {_joined([p for p in (against_peak, against_start) if p])}."


def summary_sentences(doc: dict[str, Any], at_risk: int | None = None) -> list[str]:
    """What a founder wants to know first, in sentences (figures in the reporting currency)."""
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    if not daily:
        return ["No subscription activity in this period."]
    sentences = [mrr_sentence(doc)]
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
    partial = partial_months(doc)
    rated = [m for m in monthly if m["nrr"] is not None]
    whole = [m for m in rated if m["month"] not in partial]
    if whole or rated:
        last = (whole or rated)[-1]
        sentences.append(
            f"In {month_label(last['month'], partial)}, net revenue retention "
            f"(customers who came back included) was {pct(last['nrr'])} "
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
    if reason := exit_reason_sentence(doc.get("exit_reasons") or {}):
        sentences.append(reason)
    if at_risk:
        sentences.append(
            f"{at_risk} customer{'s are' if at_risk != 1 else ' is'} at risk now "
            "(late payments or disputes)."
        )
    return sentences


def exit_reason_sentence(reasons: dict[str, int]) -> str | None:
    """The most common exit reason; reasons given equally often are named together, since
    picking one of them would say more than the figures do."""
    if not reasons:
        return None
    top = max(reasons.values())
    tied = [f"“{r.replace('_', ' ')}”" for r, n in reasons.items() if n == top]
    if len(tied) == 1:
        return f"The most common exit reason was {tied[0]} ({top})."
    return f"The most common exit reasons were {_joined(tied)}, tied at {top} each."


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
