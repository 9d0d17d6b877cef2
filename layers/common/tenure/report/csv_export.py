"""One table of a metrics document as CSV: money in minor units, rates as fractions."""

import csv
import io
from typing import Any

CSV_TABLES = ("monthly", "daily", "cohorts", "exit_reasons")


def figures_in(doc: dict[str, Any], table: str, currency: str | None = None) -> dict[str, Any]:
    """The part of a metrics.json document that holds `currency`'s figures (None or the
    reporting currency: the document itself); ValueError for an unknown table or currency."""
    if table not in CSV_TABLES:
        raise ValueError(f"unknown table {table!r}; one of: {', '.join(CSV_TABLES)}")
    if not currency or currency == doc.get("currency"):
        return doc
    others: dict[str, Any] = doc.get("other_currencies", {})
    if currency not in others:
        raise ValueError(f"no figures in {currency}")
    return others[currency]


def export_csv(doc: dict[str, Any], table: str = "monthly", currency: str | None = None) -> str:
    """One table of a metrics.json document as CSV (money in minor units, rates as fractions)."""
    part = figures_in(doc, table, currency)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if table == "exit_reasons":
        writer.writerow(["reason", "customers"])
        writer.writerows(
            (_text_cell(reason), count)
            for reason, count in sorted(part.get("exit_reasons", {}).items())
        )
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
        rows = [_flat(row) for row in part.get(table, [])]
        if rows:
            writer.writerow(list(rows[0]))
            for row in rows:
                writer.writerow(["" if v is None else v for v in row.values()])
    return buffer.getvalue()


# A cell starting with one of these is a formula to a spreadsheet (CSV injection): an exit
# reason is the customer's own text, so it is written as text, behind an apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose grouped figures ({"discounts": {"coupon": 250}}) become columns of their
    own (discounts_coupon): a spreadsheet cell holds one number."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update((f"{key}_{k}", v) for k, v in value.items())
        else:
            flat[key] = value
    return flat
