"""The report page: a metrics document (and optionally a run's state) rendered to HTML.

Python picks and formats the figures; the Jinja templates beside this module own the markup."""

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tenure.report.charts import COLORS, LABELS, movements_chart, mrr_line_chart, rates_chart
from tenure.report.numbers import (
    complete_months,
    customers_at_risk,
    day_name,
    money,
    month_label,
    month_name,
    partial_months,
    pct,
    summary_sentences,
)
from tenure.report.program_retention import MIN_GROUP, program_retention

TEMPLATES_DIR = Path(__file__).parent / "templates"
NET_COLOR = "#1d2433"
CHURN_SERIES = [
    ("customer_churn_rate", "Customer churn rate", "#e53935"),
    ("retention_rate", "Customer retention rate", "#3949ab"),
    ("nrr", "Net revenue retention (incl. reactivation)", "#00897b"),
    ("grr", "Gross revenue retention", "#fb8c00"),
]
PAYMENT_SERIES = [
    ("on_time_payment_rate", "Paid on first attempt", "#3949ab"),
    ("recovery_rate", "Failed invoices recovered", "#00897b"),
]
MONTHLY_HEADERS = [
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
    "NRR (incl. reactivation)",
    "GRR",
    "ARPA",
    "LTV (ARPA ÷ churn)",
    "LTV (purchases)",
]
PAYMENT_HEADERS = [
    "month",
    "payments",
    "paid on first attempt",
    "failed at first attempt",
    "recovered",
    "recovery rate",
    "voluntary churn",
    "involuntary churn",
]


@dataclass(frozen=True)
class Table:
    """Rows of text; columns from `numeric_from` on are right-aligned figures."""

    headers: list[str]
    rows: "list[list[Any]] | RowsOf"
    numeric_from: int = 1


@dataclass(frozen=True)
class RowsOf:
    """A table's rows made from `source` one at a time as the page is written, on every
    pass: the state's tables have a row per customer, subscription and invoice of the run,
    which at 10,000 customers made the report the output's peak memory."""

    source: Iterable[dict[str, Any]]
    make: Callable[[dict[str, Any]], list[Any]]

    def __iter__(self) -> Iterator[list[Any]]:
        return (self.make(item) for item in self.source)


@dataclass(frozen=True)
class Bar:
    label: str
    width: str  # share of the longest bar, as a CSS percentage
    color: str
    shown: str


@dataclass(frozen=True)
class HeatCell:
    text: str
    title: str
    shade: str
    ink: str
    partial: bool = False  # the month is covered only in part: a share at the period's end


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        finalize=_blank_none,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def _blank_none(value: Any) -> Any:
    # A missing figure (a null in metrics.json) shows as an empty cell, never as "None".
    return "" if value is None else value


def render_report(
    title: str,
    metrics: dict[str, Any] | None,
    state: dict[str, Any] | None,
    events: Iterable[dict[str, Any]] = (),
    rejected: Sequence[dict[str, Any]] = (),
) -> str:
    return (
        environment()
        .get_template("report.html")
        .render(**_report_values(title, metrics, state, events, rejected))
    )


def report_pieces(
    title: str,
    metrics: dict[str, Any] | None,
    state: dict[str, Any] | None,
    events: Iterable[dict[str, Any]] = (),
    rejected: Sequence[dict[str, Any]] = (),
) -> Iterator[str]:
    """render_report's text in the pieces the template makes, in order: a local run writes
    them to a file as they come rather than holding a year's report whole."""
    template = environment().get_template("report.html")
    return template.generate(**_report_values(title, metrics, state, events, rejected))


def _report_values(
    title: str,
    metrics: dict[str, Any] | None,
    state: dict[str, Any] | None,
    events: Iterable[dict[str, Any]],
    rejected: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    at_risk = customers_at_risk(state, events)
    return {
        "title": title,
        "metrics": metrics_view(metrics, at_risk) if metrics else None,
        "state": state_view(state, rejected) if state else None,
        "program_retention": program_retention_table(state) if state else None,
    }


PROGRAM_RETENTION_HEADERS = [
    "program",
    "in it: customers",
    "in it: churned",
    "in it: retention",
    "not in it: customers",
    "not in it: churned",
    "not in it: retention",
    "difference",
]


def program_retention_table(state: dict[str, Any]) -> Table | None:
    """Retention of each program's customers against the other paying customers over the
    period; None while no paying customer was in any program."""
    rows = []
    for found in program_retention(state):
        inside, outside = found.inside, found.outside
        if found.comparable:
            difference = f"{(found.difference or 0) * 100:+.1f} pts"
        else:
            small, count = min(
                ("in it", inside.customers), ("not in it", outside.customers), key=lambda g: g[1]
            )
            difference = f"too few to compare: {count} {small}, under {MIN_GROUP}"
        rows.append(
            [
                found.program,
                inside.customers,
                inside.churned,
                pct(inside.retention, 1),
                outside.customers,
                outside.churned,
                pct(outside.retention, 1),
                difference,
            ]
        )
    return Table(PROGRAM_RETENTION_HEADERS, rows) if rows else None


def metrics_view(doc: dict[str, Any], at_risk: list[dict[str, str]]) -> dict[str, Any]:
    cur = doc["currency"]
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    reasons = doc.get("exit_reasons") or {}
    voluntary = sum(m["voluntary_churned"] for m in monthly)
    involuntary = sum(m["involuntary_churned"] for m in monthly)
    cohorts = doc.get("cohorts", [])
    partial = partial_months(doc)
    # A few days are not a month: charts of monthly figures draw whole months only, and the
    # tables show every month with the partial ones marked.
    whole = complete_months(doc)
    return {
        "start": day_name(doc["start"]),
        "until": day_name(doc["until"]),
        "currency": cur,
        "summary": summary_sentences(doc, len(at_risk)),
        "cards": cards(doc),
        "mrr_chart": mrr_line_chart(daily, cur),
        "movements_legend": [(LABELS[k], COLORS[k]) for k in LABELS] + [("Net new MRR", NET_COLOR)],
        "movements_chart": movements_chart(whole, cur),
        "partial_note": partial_note(partial),
        "churn_legend": [(label, color) for _, label, color in CHURN_SERIES],
        "churn_chart": rates_chart(whole, CHURN_SERIES),
        "monthly_table": monthly_table(monthly, cur, partial),
        "cohorts_customers": heat_rows(cohorts, "customers", cur, partial),
        "cohorts_mrr": heat_rows(cohorts, "mrr", cur, partial),
        "cohort_width": max((len(c["customers"]) for c in cohorts), default=0),
        "cohorts_partial": any(
            _months_after(c["cohort"], n) in partial
            for c in cohorts
            for n in range(len(c["customers"]))
        ),
        "payment_legend": [(label, color) for _, label, color in PAYMENT_SERIES],
        "payment_chart": rates_chart(whole, PAYMENT_SERIES),
        "payment_table": payment_table(monthly, partial),
        "programs_table": programs_table(monthly, cur, partial),
        "collections_table": collections_table(monthly, cur, partial),
        "churn_bars": bars(
            [
                ("Their choice (voluntary)", voluntary, "#fb8c00"),
                ("Failed payments (involuntary)", involuntary, "#e53935"),
            ]
        )
        if voluntary or involuntary
        else [],
        "at_risk": Table(["customer", "why"], [[r["customer"], r["why"]] for r in at_risk], 2),
        "reason_bars": bars([(r.replace("_", " "), n, "#8e24aa") for r, n in reasons.items()]),
        "others": [
            {
                "currency": other,
                "summary": summary_sentences({"currency": other, **part}),
                "mrr_chart": mrr_line_chart(part.get("daily", []), other),
                "monthly_table": monthly_table(
                    part.get("monthly", []), other, partial_months(part)
                ),
            }
            for other, part in (doc.get("other_currencies") or {}).items()
        ],
    }


def cards(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The headline figures, each with what it measures or the month it is from."""
    cur = doc["currency"]
    daily, monthly = doc.get("daily", []), doc.get("monthly", [])
    whole = complete_months(doc)
    last = whole[-1] if whole else {}
    rated = [m for m in whole if m.get("nrr") is not None]
    ref = rated[-1] if rated else last
    failed = sum(m["invoices_failed"] for m in monthly)
    recovered = sum(m["invoices_recovered"] for m in monthly)
    first_attempt = [m for m in whole if m["on_time_payment_rate"] is not None]
    ref_month = month_name(ref["month"]) if ref else ""
    return [
        ("MRR", money(daily[-1]["mrr"] if daily else 0, cur, whole=True), "today"),
        ("Paying customers", str(daily[-1]["customers"] if daily else 0), ""),
        ("ARPA", money(monthly[-1]["arpa"] if monthly else None, cur), "per paying customer"),
        (
            "Net revenue retention",
            pct(ref.get("nrr")),
            f"{ref_month}, incl. reactivation" if ref else "incl. reactivation",
        ),
        ("Customer churn", pct(ref.get("customer_churn_rate"), 1), ref_month),
        ("LTV", money(ref.get("ltv"), cur, whole=True), "ARPA ÷ churn (6 months)"),
        (
            "Paid on first attempt",
            pct(first_attempt[-1]["on_time_payment_rate"]) if first_attempt else "–",
            month_name(first_attempt[-1]["month"]) if first_attempt else "",
        ),
        ("Failed invoices recovered", f"{recovered} of {failed}" if failed else "–", "dunning"),
    ]


def partial_note(partial: dict[str, str]) -> str:
    if not partial:
        return ""
    months = [f"{month_name(key)} ({days})" for key, days in partial.items()]
    listed = months[0] if len(months) == 1 else " and ".join([", ".join(months[:-1]), months[-1]])
    which = "is a partial month" if len(months) == 1 else "are partial months"
    return f"{listed} {which} of this period: left out of the monthly charts, marked in the tables."


def monthly_table(monthly: list[dict[str, Any]], cur: str, partial: dict[str, str]) -> Table:
    return Table(
        MONTHLY_HEADERS,
        [
            [
                month_label(m["month"], partial),
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


def payment_table(monthly: list[dict[str, Any]], partial: dict[str, str]) -> Table:
    return Table(
        PAYMENT_HEADERS,
        [
            [
                month_label(m["month"], partial),
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
    )


PROGRAM_HEADERS = [
    "month",
    "coupon discounts",
    "refunded",
    "cancellations asked",
    "saved by an offer",
    "saved",
]


def programs_table(
    monthly: list[dict[str, Any]], cur: str, partial: dict[str, str]
) -> Table | None:
    """What the retention programs cost each month (discounts given, money refunded) and
    the customers save offers kept; None while no program has any figure to show."""
    rows = []
    for m in monthly:
        discounts = sum((m.get("discounts") or {}).values())
        asked, saved = m.get("cancellations_requested", 0), m.get("saved_by_offer", 0)
        rows.append(
            [
                month_label(m["month"], partial),
                money(discounts, cur),
                money(m.get("refunded", 0), cur),
                asked,
                saved,
                pct(saved / asked if asked else None, 1),
            ]
        )
    shown = any(
        sum((m.get("discounts") or {}).values()) or m.get("refunded") or m.get("saved_by_offer")
        for m in monthly
    )
    return Table(PROGRAM_HEADERS, rows) if shown else None


COLLECTIONS_HEADERS = ["month", "recovered through collections"]


def collections_table(
    monthly: list[dict[str, Any]], cur: str, partial: dict[str, str]
) -> Table | None:
    """The balance collections cases recovered each month (counted when a case closes);
    None while no case recovered anything."""
    if not any(m.get("recovered_by_collections") for m in monthly):
        return None
    rows = [
        [month_label(m["month"], partial), money(m.get("recovered_by_collections", 0), cur)]
        for m in monthly
    ]
    return Table(COLLECTIONS_HEADERS, rows)


def bars(items: Iterable[tuple[str, float, str]]) -> list[Bar]:
    """Horizontal bars (label, value, color), each as long as its share of the longest."""
    items = list(items)
    top = max((v for _, v, _ in items), default=0) or 1
    return [
        Bar(label, f"{max(value / top * 100, 0.5):.1f}%", color, str(int(value)))
        for label, value, color in items
    ]


def heat_rows(
    cohorts: list[dict[str, Any]],
    field: str,
    currency: str,
    partial: dict[str, str] | None = None,
) -> list[tuple[str, list[HeatCell | None]]]:
    """Each signup month's row: its size, then the share still paying (None past today).
    A cell of a month the period covers only in part is marked: its share is at the
    period's end, not the month's; a cohort of such a month is named with its days."""
    partial = partial or {}
    width = max((len(c[field]) for c in cohorts), default=0)
    rows = []
    for c in cohorts:
        base = c[field][0]
        cells: list[HeatCell | None] = []
        for n in range(width):
            if n >= len(c[field]):
                cells.append(None)
                continue
            value = c[field][n]
            share = value / base if base else 0
            shown = money(value, currency, whole=True) if field == "mrr" else str(value)
            month = _months_after(c["cohort"], n)
            cells.append(
                HeatCell(
                    text=pct(share) if n else shown,
                    title=f"{shown}, {month_label(month, partial)}",
                    shade=f"rgba(57,73,171,{0.08 + 0.82 * min(share, 1.2) / 1.2:.2f})",
                    ink="#fff" if share > 0.55 else "#1d2433",
                    partial=month in partial,
                )
            )
        rows.append((month_label(c["cohort"], partial), cells))
    return rows


def _months_after(key: str, n: int) -> str:
    """The YYYY-MM month `n` months after `key`."""
    year, month = (int(part) for part in key.split("-"))
    index = year * 12 + month - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def state_view(state: dict[str, Any], rejected: Sequence[dict[str, Any]]) -> dict[str, Table]:
    """The customers, subscriptions and invoices the run left, for looking things up."""
    view = {
        "customers": Table(
            ["id", "name", "email", "locale", "time zone"],
            RowsOf(state.get("customers", []), _customer_row),
            9,
        ),
        "subscriptions": Table(
            ["id", "customer", "plan", "status", "period", "cancel", "paused until", "MRR"],
            RowsOf(state.get("subscriptions", []), _subscription_row),
            7,
        ),
        "invoices": Table(
            ["id", "kind", "period start", "status", "total", "lines"],
            RowsOf(state.get("invoices", []), _invoice_row),
            9,
        ),
    }
    if rejected:
        view["rejected"] = Table(
            ["at", "action", "status", "response"],
            [[r["at"], r["where"], r["status"], json.dumps(r["response"])] for r in rejected],
            9,
        )
    return view


def _customer_row(c: dict[str, Any]) -> list[Any]:
    return [c["id"], c["name"], c["email"], c["locale"], c["timezone"]]


def _subscription_row(s: dict[str, Any]) -> list[Any]:
    return [
        s["id"],
        s["customer"],
        s["plan"],
        s["status"],
        f"{s['current_period_start']} → {s['current_period_end']}",
        s.get("cancel_reason") or ("at period end" if s["cancel_at_period_end"] else ""),
        s.get("paused_until"),
        money(s.get("mrr", 0), s.get("currency", "USD")),
    ]


def _invoice_row(i: dict[str, Any]) -> list[Any]:
    return [
        i["id"],
        i.get("kind"),
        i["period_start"],
        i["status"],
        money(i["total"], i["currency"]),
        "; ".join(
            f"{line['description']}: {money(line['amount'], i['currency'])}" for line in i["lines"]
        ),
    ]
