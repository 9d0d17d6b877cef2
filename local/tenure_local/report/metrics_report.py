"""metrics.json and the self-contained HTML report (inline SVG charts, nothing fetched)."""

import csv
import html
import io
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from babel.numbers import format_currency

from tenure.domain.money import exponent

# -- metrics.json -----------------------------------------------------------------------------
CSV_TABLES = ("monthly", "daily", "cohorts", "exit_reasons")


def build_simulation_metrics(
    repo: Any, start: datetime, until: datetime, currency: str | None
) -> dict[str, Any]:
    """Aggregate every simulated day through the real metrics handler, then read the report.

    Runs inside the simulator, with its services installed."""
    from tenure import bootstrap
    from tenure.services import metrics as retention
    from tenure_local.runtime import functions

    first, last = start.date(), until.date()
    functions.invoke("metrics", {"from": first.isoformat(), "to": last.isoformat()})
    return retention.metrics_document(bootstrap.services(), first, last, currency)


def reporting_currency(plans: Sequence[Any]) -> str | None:
    """REPORTING_CURRENCY if set, else the first plan's currency (docs/metrics.md)."""
    chosen = os.environ.get("REPORTING_CURRENCY", "").strip().upper()
    if chosen:
        return chosen
    return str(plans[0].currency) if plans else None


def write_metrics_json(out: Path, doc: dict[str, Any]) -> Path:
    path = out / "metrics.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _read_events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def export_csv(doc: dict[str, Any], table: str = "monthly", currency: str | None = None) -> str:
    """One table of a metrics.json document as CSV (money in minor units, rates as fractions)."""
    if table not in CSV_TABLES:
        raise ValueError(f"unknown table {table!r}; one of: {', '.join(CSV_TABLES)}")
    part = doc
    if currency and currency != doc.get("currency"):
        others = doc.get("other_currencies", {})
        if currency not in others:
            raise ValueError(f"no figures in {currency}")
        part = others[currency]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if table == "exit_reasons":
        writer.writerow(["reason", "customers"])
        writer.writerows(sorted(part.get("exit_reasons", {}).items()))
    elif table == "cohorts":
        cohorts = part.get("cohorts", [])
        width = max((len(c["customers"]) for c in cohorts), default=0)
        writer.writerow(
            [
                "cohort",
                *(f"customers_m{n}" for n in range(width)),
                *(f"mrr_m{n}" for n in range(width)),
            ]
        )
        for c in cohorts:
            pad = [""] * (width - len(c["customers"]))
            writer.writerow([c["cohort"], *c["customers"], *pad, *c["mrr"], *pad])
    else:
        rows = part.get(table, [])
        if rows:
            writer.writerow(list(rows[0]))
            for row in rows:
                writer.writerow(["" if v is None else v for v in row.values()])
    return buffer.getvalue()


# -- formatting -------------------------------------------------------------------------------
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


def _month_name(key: str) -> str:
    return date.fromisoformat(f"{key}-01").strftime("%b %Y")


def _day_name(key: str) -> str:
    d = date.fromisoformat(key)
    return f"{d.strftime('%b')} {d.day}, {d.year}"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# -- the plain-language summary ---------------------------------------------------------------
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
    period = f"between {_day_name(daily[0]['date'])} and {_day_name(daily[-1]['date'])}"
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
            f"In {_month_name(last['month'])}, net revenue retention was {pct(last['nrr'])} "
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


# -- customers at risk ------------------------------------------------------------------------
def customers_at_risk(
    state: dict[str, Any] | None, events: Iterable[dict[str, Any]]
) -> list[dict[str, str]]:
    """Late payers (past due or unpaid) and customers with an open dispute, from DIR's files."""
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


# -- SVG charts -------------------------------------------------------------------------------
W, H = 880, 260
PAD_L, PAD_R, PAD_T, PAD_B = 78, 16, 16, 34
COLORS = {
    "mrr": "#3949ab",
    "new_mrr": "#2e7d32",
    "expansion_mrr": "#7cb342",
    "reactivation_mrr": "#00897b",
    "contraction_mrr": "#fb8c00",
    "churned_mrr": "#e53935",
}
LABELS = {
    "new_mrr": "New",
    "expansion_mrr": "Expansion",
    "reactivation_mrr": "Reactivation",
    "contraction_mrr": "Contraction",
    "churned_mrr": "Churn",
}


def _nice_step(span: float, steps: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) covering `span` in `steps`."""
    if span <= 0:
        return 1.0
    raw = span / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _nice_max(value: float) -> float:
    return _nice_step(value) * 4 if value > 0 else 1.0


def _svg(body: str, label: str, height: int = H) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{_esc(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _y_axis(lo: float, hi: float, fmt: Any, height: int = H) -> tuple[str, Any]:
    """Grid lines at round values from `lo` (0 or below) to `hi`, both widened to a step."""
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step) * step, max(math.ceil(hi / step), 1) * step
    inner = height - PAD_T - PAD_B

    def y(v: float) -> float:
        return PAD_T + inner * (1 - (v - lo) / (hi - lo or 1))

    parts = []
    for n in range(round((hi - lo) / step) + 1):
        v = lo + step * n
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{PAD_L - 6}" y="{y(v) + 4:.1f}" class="tick" text-anchor="end">'
            f"{_esc(fmt(v))}</text>"
        )
    return "".join(parts), y


def _x_positions(count: int) -> list[float]:
    inner = W - PAD_L - PAD_R
    if count <= 1:
        return [PAD_L + inner / 2] * count
    return [PAD_L + inner * n / (count - 1) for n in range(count)]


def mrr_line_chart(daily: list[dict[str, Any]], currency: str) -> str:
    if not daily:
        return ""
    values = [d["mrr"] for d in daily]
    axis, y = _y_axis(0, max(values) or 1, lambda v: money(int(v), currency, whole=True))
    xs = _x_positions(len(values))
    points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, values, strict=True))
    area = f"{xs[0]:.1f},{y(0):.1f} {points} {xs[-1]:.1f},{y(0):.1f}"
    ticks = []
    # Month starts are marked; the first day too, unless a month starts right after it.
    marked = {n for n, d in enumerate(daily) if d["date"].endswith("-01")}
    if not marked & set(range(1, 6)):
        marked.add(0)
    for n, (x, d) in enumerate(zip(xs, daily, strict=True)):
        if n in marked:
            ticks.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(0):.1f}" y2="{y(0) + 4:.1f}" '
                'class="axis"/>'
                f'<text x="{x:.1f}" y="{H - 12}" class="tick" text-anchor="middle">'
                f"{_esc(_day_name(d['date'])[:-6])}</text>"
            )
    last = f'<circle cx="{xs[-1]:.1f}" cy="{y(values[-1]):.1f}" r="4" fill="{COLORS["mrr"]}"/>'
    body = (
        axis
        + f'<polygon points="{area}" fill="{COLORS["mrr"]}" opacity="0.12"/>'
        + f'<polyline points="{points}" fill="none" stroke="{COLORS["mrr"]}" stroke-width="2.5"/>'
        + last
        + "".join(ticks)
    )
    return _svg(body, "MRR by day")


def movements_chart(monthly: list[dict[str, Any]], currency: str) -> str:
    if not monthly:
        return ""
    ups = ("new_mrr", "expansion_mrr", "reactivation_mrr")
    downs = ("contraction_mrr", "churned_mrr")
    top = max(sum(m[k] for k in ups) for m in monthly) or 1
    bottom = max(sum(m[k] for k in downs) for m in monthly)
    axis, y = _y_axis(-bottom, top, lambda v: money(int(v), currency, whole=True))
    inner = W - PAD_L - PAD_R
    slot = inner / len(monthly)
    bar = min(64.0, slot * 0.56)
    parts = [
        axis,
        f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="axis"/>',
    ]
    for n, m in enumerate(monthly):
        x = PAD_L + slot * n + (slot - bar) / 2
        level = 0.0
        for key in ups:
            if m[key]:
                y1, y2 = y(level + m[key]), y(level)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bar:.1f}" height="{y2 - y1:.1f}" '
                    f'fill="{COLORS[key]}"><title>{LABELS[key]} {_esc(money(m[key], currency))}'
                    "</title></rect>"
                )
                level += m[key]
        level = 0.0
        for key in downs:
            if m[key]:
                y1, y2 = y(level), y(level - m[key])
                parts.append(
                    f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bar:.1f}" height="{y2 - y1:.1f}" '
                    f'fill="{COLORS[key]}"><title>{LABELS[key]} −{_esc(money(m[key], currency))}'
                    "</title></rect>"
                )
                level -= m[key]
        net = m["net_new_mrr"]
        parts.append(
            f'<circle cx="{x + bar / 2:.1f}" cy="{y(net):.1f}" r="4" class="net">'
            f"<title>Net new MRR {_esc(money(net, currency))}</title></circle>"
            f'<text x="{x + bar / 2:.1f}" y="{H - 12}" class="tick" text-anchor="middle">'
            f"{_esc(_month_name(m['month']))}</text>"
        )
    return _svg("".join(parts), "MRR movements by month")


def rates_chart(monthly: list[dict[str, Any]], series: list[tuple[str, str, str]]) -> str:
    """Monthly rates as lines; months without a value (zero denominator) leave a gap."""
    if not monthly:
        return ""
    values = [m[key] for m in monthly for key, _, _ in series if m[key] is not None]
    hi = max([1.0, *values])
    axis, y = _y_axis(min([0.0, *values]), hi, lambda v: f"{v * 100:.0f}%")
    inner = W - PAD_L - PAD_R
    slot = inner / len(monthly)
    xs = [PAD_L + slot * n + slot / 2 for n in range(len(monthly))]
    parts = [axis]
    for x, m in zip(xs, monthly, strict=True):
        parts.append(
            f'<text x="{x:.1f}" y="{H - 12}" class="tick" text-anchor="middle">'
            f"{_esc(_month_name(m['month']))}</text>"
        )
    for key, label, color in series:
        run: list[str] = []
        runs: list[list[str]] = [run]
        for x, m in zip(xs, monthly, strict=True):
            value = m[key]
            if value is None:
                run = []
                runs.append(run)
                continue
            run.append(f"{x:.1f},{y(value):.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="4" fill="{color}">'
                f"<title>{_esc(label)} {_esc(_month_name(m['month']))}: {pct(value, 1)}</title>"
                "</circle>"
            )
        for points in runs:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                    'stroke-width="2.5"/>'
                )
    return _svg("".join(parts), "Rates by month")


def hbar_chart(items: list[tuple[str, float, str]], fmt: Any) -> str:
    """Horizontal bars (label, value, color) drawn with HTML, crisp at any width."""
    if not items:
        return ""
    top = max(v for _, v, _ in items) or 1
    rows = "".join(
        f"<div class='hbar'><span>{_esc(label)}</span>"
        f"<div><i style='width:{max(value / top * 100, 0.5):.1f}%;background:{color}'></i>"
        f"<b>{_esc(fmt(value))}</b></div></div>"
        for label, value, color in items
    )
    return f"<div class='hbars'>{rows}</div>"


def legend(keys: Iterable[tuple[str, str]]) -> str:
    return (
        '<div class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{_esc(label)}</span>' for label, c in keys)
        + "</div>"
    )


def cohort_table(cohorts: list[dict[str, Any]], field: str, currency: str) -> str:
    if not cohorts:
        return "<p class='muted'>No signups in this period yet.</p>"
    width = max(len(c[field]) for c in cohorts)
    head = "".join(f"<th>M{n}</th>" for n in range(width))
    rows = []
    for c in cohorts:
        base = c[field][0]
        cells = []
        for n in range(width):
            if n >= len(c[field]):
                cells.append("<td class='empty'></td>")
                continue
            value = c[field][n]
            share = value / base if base else 0
            shade = f"rgba(57,73,171,{0.08 + 0.82 * min(share, 1.2) / 1.2:.2f})"
            ink = "#fff" if share > 0.55 else "#1d2433"
            shown = money(value, currency, whole=True) if field == "mrr" else str(value)
            cells.append(
                f"<td style='background:{shade};color:{ink}' title='{_esc(shown)}'>"
                f"{pct(share) if n else _esc(shown)}</td>"
            )
        rows.append(f"<tr><th>{_esc(_month_name(c['cohort']))}</th>{''.join(cells)}</tr>")
    return (
        f"<div class='scroll'><table class='heat'><thead><tr><th>signup month</th>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _table(headers: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    """A table that scrolls sideways on its own when wider than the page."""
    head = "".join(
        f"<th{' class=num' if n >= numeric_from else ''}>{_esc(h)}</th>"
        for n, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if n >= numeric_from else ''}>{_esc(v)}</td>"
            for n, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _monthly_table(monthly: list[dict[str, Any]], cur: str) -> str:
    return _table(
        [
            "month",
            "MRR start",
            "new",
            "expansion",
            "reactivation",
            "contraction",
            "churn",
            "MRR end",
            "customers",
            "churn rate",
            "retention",
            "NRR",
            "GRR",
            "ARPA",
            "LTV (ARPA ÷ churn)",
            "LTV (purchases)",
        ],
        [
            [
                _month_name(m["month"]),
                money(m["mrr_start"], cur),
                money(m["new_mrr"], cur),
                money(m["expansion_mrr"], cur),
                money(m["reactivation_mrr"], cur),
                money(m["contraction_mrr"], cur),
                money(m["churned_mrr"], cur),
                money(m["mrr_end"], cur),
                f"{m['customers_start']} → {m['customers_end']}",
                pct(m["customer_churn_rate"], 1),
                pct(m["retention_rate"], 1),
                pct(m["nrr"], 1),
                pct(m["grr"], 1),
                money(m["arpa"], cur),
                money(m["ltv"], cur),
                money(m["ltv_purchases"], cur),
            ]
            for m in monthly
        ],
    )


def _cards(doc: dict[str, Any]) -> str:
    cur = doc["currency"]
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    whole = complete_months(doc)
    last = whole[-1] if whole else {}
    rated = [m for m in whole if m.get("nrr") is not None]
    ref = rated[-1] if rated else last
    failed = sum(m["invoices_failed"] for m in monthly)
    recovered = sum(m["invoices_recovered"] for m in monthly)
    first_attempt = [m for m in whole if m["on_time_payment_rate"] is not None]
    cards = [
        ("MRR", money(daily[-1]["mrr"] if daily else 0, cur, whole=True), "today"),
        ("Paying customers", str(daily[-1]["customers"] if daily else 0), ""),
        ("ARPA", money(monthly[-1]["arpa"] if monthly else None, cur), "per paying customer"),
        ("Net revenue retention", pct(ref.get("nrr")), _month_name(ref["month"]) if ref else ""),
        (
            "Customer churn",
            pct(ref.get("customer_churn_rate"), 1),
            _month_name(ref["month"]) if ref else "",
        ),
        ("LTV", money(ref.get("ltv"), cur, whole=True), "ARPA ÷ churn (6 months)"),
        (
            "Paid on first attempt",
            pct(first_attempt[-1]["on_time_payment_rate"]) if first_attempt else "–",
            _month_name(first_attempt[-1]["month"]) if first_attempt else "",
        ),
        ("Failed invoices recovered", f"{recovered} of {failed}" if failed else "–", "dunning"),
    ]
    return (
        "<section class='cards'>"
        + "".join(
            f"<div class='card'><span>{_esc(k)}</span><b>{_esc(v)}</b>"
            f"<small>{_esc(s)}</small></div>"
            for k, v, s in cards
        )
        + "</section>"
    )


def metrics_sections(doc: dict[str, Any], at_risk: list[dict[str, str]]) -> list[str]:
    cur = doc["currency"]
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    reasons = doc.get("exit_reasons") or {}
    voluntary = sum(m["voluntary_churned"] for m in monthly)
    involuntary = sum(m["involuntary_churned"] for m in monthly)
    sections = [
        "<section class='summary'>"
        + "".join(f"<p>{_esc(s)}</p>" for s in summary_sentences(doc, len(at_risk)))
        + "</section>",
        _cards(doc),
        "<h2>MRR</h2><p class='muted'>Monthly recurring revenue at the end of each UTC day: "
        "active and past-due subscriptions, normalised to a month, net of discounts, "
        "without tax or trials.</p>",
        mrr_line_chart(daily, cur),
        "<h2>Where MRR came from and went</h2>",
        legend([(LABELS[k], COLORS[k]) for k in LABELS] + [("Net new MRR", "#1d2433")]),
        movements_chart(monthly, cur),
        "<h2>Churn and retention</h2>",
        legend(
            [
                ("Customer churn rate", "#e53935"),
                ("Customer retention rate", "#3949ab"),
                ("Net revenue retention", "#00897b"),
                ("Gross revenue retention", "#fb8c00"),
            ]
        ),
        rates_chart(
            monthly,
            [
                ("customer_churn_rate", "Customer churn rate", "#e53935"),
                ("retention_rate", "Customer retention rate", "#3949ab"),
                ("nrr", "Net revenue retention", "#00897b"),
                ("grr", "Gross revenue retention", "#fb8c00"),
            ],
        ),
        _monthly_table(monthly, cur),
        "<h2>Signup cohorts</h2><p class='muted'>Customers grouped by the month they first "
        "paid; each later column is the share still paying at that month's end.</p>",
        "<div class='pair'><div><h3>Customers</h3>"
        + cohort_table(doc.get("cohorts", []), "customers", cur)
        + "</div><div><h3>MRR</h3>"
        + cohort_table(doc.get("cohorts", []), "mrr", cur)
        + "</div></div>",
        "<h2>Payment health</h2>",
        legend([("Paid on first attempt", "#3949ab"), ("Failed invoices recovered", "#00897b")]),
        rates_chart(
            monthly,
            [
                ("on_time_payment_rate", "Paid on first attempt", "#3949ab"),
                ("recovery_rate", "Failed invoices recovered", "#00897b"),
            ],
        ),
        _table(
            [
                "month",
                "payments",
                "paid on first attempt",
                "failed at first attempt",
                "recovered",
                "recovery rate",
                "voluntary churn",
                "involuntary churn",
            ],
            [
                [
                    _month_name(m["month"]),
                    m["payments"],
                    pct(m["on_time_payment_rate"], 1),
                    m["invoices_failed"],
                    m["invoices_recovered"],
                    pct(m["recovery_rate"], 1),
                    m["voluntary_churned"],
                    m["involuntary_churned"],
                ]
                for m in monthly
            ],
        ),
        "<div class='pair'><div><h3>Why customers churned</h3>"
        + (
            hbar_chart(
                [
                    ("Their choice (voluntary)", voluntary, "#fb8c00"),
                    ("Failed payments (involuntary)", involuntary, "#e53935"),
                ],
                lambda v: str(int(v)),
            )
            if voluntary or involuntary
            else "<p class='muted'>No churn in this period.</p>"
        )
        + "</div><div><h3>Customers at risk now</h3>"
        + (
            _table(["customer", "why"], [[r["customer"], r["why"]] for r in at_risk], 2)
            if at_risk
            else "<p class='muted'>Nobody is late on a payment or disputing one.</p>"
        )
        + "</div></div>",
        "<h2>Exit reasons</h2>",
        hbar_chart(
            [(r.replace("_", " "), n, "#8e24aa") for r, n in reasons.items()], lambda v: str(int(v))
        )
        if reasons
        else "<p class='muted'>No churn in this period.</p>",
    ]
    for other, part in (doc.get("other_currencies") or {}).items():
        sub = {"currency": other, **part}
        sections += [
            f"<h2>{_esc(other)} (not converted)</h2>",
            "<section class='summary small'>"
            + "".join(f"<p>{_esc(s)}</p>" for s in summary_sentences(sub))
            + "</section>",
            mrr_line_chart(part.get("daily", []), other),
            _monthly_table(part.get("monthly", []), other),
        ]
    return sections


def state_sections(state: dict[str, Any], rejected: Sequence[dict[str, Any]]) -> list[str]:
    """The customers, subscriptions and invoices the run left, for looking things up."""
    subs, invoices = state.get("subscriptions", []), state.get("invoices", [])
    sections = [
        "<details><summary>Customers, subscriptions and invoices</summary>",
        "<h3>Customers</h3>",
        _table(
            ["id", "name", "email", "locale", "time zone"],
            [
                [c["id"], c["name"], c["email"], c["locale"], c["timezone"]]
                for c in state.get("customers", [])
            ],
            9,
        ),
        "<h3>Subscriptions</h3>",
        _table(
            ["id", "customer", "plan", "status", "period", "cancel", "paused until", "MRR"],
            [
                [
                    s["id"],
                    s["customer"],
                    s["plan"],
                    s["status"],
                    f"{s['current_period_start']} → {s['current_period_end']}",
                    s.get("cancel_reason")
                    or ("at period end" if s["cancel_at_period_end"] else ""),
                    s.get("paused_until"),
                    money(s.get("mrr", 0), s.get("currency", "USD")),
                ]
                for s in subs
            ],
            7,
        ),
        "<h3>Invoices</h3>",
        _table(
            ["id", "kind", "period start", "status", "total", "lines"],
            [
                [
                    i["id"],
                    i.get("kind"),
                    i["period_start"],
                    i["status"],
                    money(i["total"], i["currency"]),
                    "; ".join(
                        f"{line['description']}: {money(line['amount'], i['currency'])}"
                        for line in i["lines"]
                    ),
                ]
                for i in invoices
            ],
            9,
        ),
        "</details>",
    ]
    if rejected:
        sections += [
            "<h2>Actions the API refused</h2>",
            _table(
                ["at", "action", "status", "response"],
                [[r["at"], r["where"], r["status"], json.dumps(r["response"])] for r in rejected],
                9,
            ),
        ]
    return sections


STYLE = """
*{box-sizing:border-box} body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;
margin:0;color:#1d2433;background:#f6f7fb} main{max-width:1040px;margin:0 auto;padding:2rem 1.5rem}
h1{font-size:1.7rem;margin:0 0 .2rem} h2{font-size:1.2rem;margin:2.4rem 0 .6rem}
h3{font-size:1rem;margin:1rem 0 .5rem} .muted{color:#5b6478;font-size:.9rem;margin:.2rem 0 .6rem}
.summary{background:#fff;border-left:5px solid #3949ab;border-radius:8px;padding:.9rem 1.2rem;
font-size:1.08rem;line-height:1.5;box-shadow:0 1px 3px rgba(0,0,0,.06)} .summary p{margin:.3rem 0}
.summary.small{font-size:.95rem}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:.8rem;margin:1.2rem 0}
.card{background:#fff;border-radius:8px;padding:.75rem 1rem;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.card span{display:block;color:#5b6478;font-size:.8rem} .card b{display:block;font-size:1.45rem;
margin:.15rem 0} .card small{color:#8a93a6;font-size:.75rem}
.chart{width:100%;height:auto;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.06)}
.chart .grid{stroke:#e6e9f2} .chart .axis{stroke:#9aa3b5} .chart .tick{font-size:11px;fill:#5b6478}
.chart .label{font-size:13px;fill:#1d2433} .chart .net{fill:#1d2433;stroke:#fff;stroke-width:1.5}
.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.85rem;margin:.3rem 0 .5rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.35rem;
vertical-align:-1px}
table{border-collapse:collapse;width:100%;margin:.8rem 0 1rem;font-size:.82rem;background:#fff}
th,td{border-bottom:1px solid #e6e9f2;padding:.35rem .45rem;text-align:left;vertical-align:top}
th{background:#eef0f7;font-weight:600} .num{text-align:right;white-space:nowrap}
table.heat td{text-align:center;min-width:3rem} table.heat td.empty{background:#fafbfd}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1.2rem} details{margin-top:2.4rem}
.scroll{overflow-x:auto} td,th{white-space:nowrap} td.wrap{white-space:normal}
.hbars{background:#fff;border-radius:8px;padding:.6rem .9rem;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.hbar{display:grid;grid-template-columns:minmax(8rem,35%) 1fr;gap:.6rem;align-items:center;
margin:.3rem 0;font-size:.88rem} .hbar span{text-align:right;color:#1d2433}
.hbar div{display:flex;align-items:center;gap:.4rem} .hbar i{display:block;height:1.1rem;
border-radius:3px} .hbar b{font-weight:600}
summary{cursor:pointer;font-weight:600} footer{color:#8a93a6;font-size:.8rem;margin-top:2rem}
"""


def render_report(
    title: str,
    metrics: dict[str, Any] | None,
    state: dict[str, Any] | None,
    events: Sequence[dict[str, Any]] = (),
    rejected: Sequence[dict[str, Any]] = (),
) -> str:
    at_risk = customers_at_risk(state, events)
    sections = [f"<h1>{_esc(title)}</h1>"]
    if metrics:
        sections.append(
            f"<p class='muted'>{_esc(_day_name(metrics['start']))} – "
            f"{_esc(_day_name(metrics['until']))} · figures in {_esc(metrics['currency'])} "
            "· days and months in UTC</p>"
        )
        sections += metrics_sections(metrics, at_risk)
    else:
        sections.append("<p class='muted'>No metrics.json in this folder.</p>")
    if state:
        sections += state_sections(state, rejected)
    sections.append(
        "<footer>Definitions: docs/metrics.md. Money in the reporting currency; other "
        "currencies are shown apart, never converted.</footer>"
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body><main>"
        + "\n".join(s for s in sections if s)
        + "</main></body></html>\n"
    )


def write_report(
    out: Path,
    state: dict[str, Any] | None = None,
    rejected: Sequence[dict[str, Any]] = (),
    title: str = "Tenure report",
    metrics: dict[str, Any] | None = None,
    events: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """Write DIR/report.html from what is given, reading the rest from DIR's files."""
    state = state if state is not None else _read_json(out / "state.json")
    metrics = metrics if metrics is not None else _read_json(out / "metrics.json")
    events = events if events is not None else _read_events(out / "events.jsonl")
    path = out / "report.html"
    path.write_text(render_report(title, metrics, state, events, rejected))
    return path


# -- headless Chromium ------------------------------------------------------------------------
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """TENURE_CHROMIUM, else the distribution's chromium on PATH."""
    chosen = os.environ.get("TENURE_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(report: Path, png: Path | None = None) -> Path:
    """Render the report in headless Chromium (network blocked) and save a full-page PNG."""
    from playwright.sync_api import sync_playwright

    png = png or report.with_suffix(".png")
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no chromium found (apt-get install chromium, or set TENURE_CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.route("**/*", _local_only)
            page.goto(report.resolve().as_uri())
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()
    return png


def _local_only(route: Any) -> None:
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()
