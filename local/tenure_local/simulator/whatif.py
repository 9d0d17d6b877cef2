"""What-if replays: one scenario run twice, under two policies, and the business side by side.

`tenure simulate SCENARIO --compare OTHER` answers the founder's question before a change
of dunning policy, coupons or retention programs. OTHER is either a programs file, holding
only some of a scenario's `programs:`, `coupons:` and `dunning:` blocks (each replaces the
scenario's own), or a whole second scenario over the same time span. Both runs go on the
memory engine (it writes what DynamoDB Local would, byte for byte, in a fraction of the
time), into OUT/a and OUT/b.

Every figure is read back from what each run wrote (metrics.json and the outbox), the same
files the report and the end-of-run summary read, so the comparison can never disagree with
either run's own numbers.
"""

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tenure.report.numbers import money
from tenure_local.simulator.scenario import Scenario, load, parse
from tenure_local.simulator.scenario_problems import Problem, ScenarioError, read, with_lines

# The blocks a programs file may hold: the policies, not the business they act on.
POLICY_BLOCKS = ("programs", "coupons", "dunning")
# A file holding any of these describes a business: it is read as a whole scenario.
SCENARIO_BLOCKS = ("start", "until", "plans", "customers", "actions")


@dataclass(frozen=True)
class Pair:
    """The two scenarios to replay; `other` says how the second was made."""

    a: Scenario
    b: Scenario
    other: Literal["programs", "scenario"]


class PairError(ScenarioError):
    """The problems of a comparison, each with the file it is in (`files`, in step with
    `problems`): a programs file's problem may show in the scenario's actions."""

    def __init__(self, found: list[tuple[Path, Problem]]) -> None:
        super().__init__([problem for _, problem in found])
        self.files = [file for file, _ in found]


def _in(file: Path, problems: list[Problem]) -> list[tuple[Path, Problem]]:
    return [(file, problem) for problem in problems]


def load_pair(scenario: Path, other: Path) -> Pair:
    """SCENARIO and its what-if, or a PairError naming every problem (nothing is run)."""
    try:
        first = load(scenario)
    except ScenarioError as exc:
        raise PairError(_in(scenario, exc.problems)) from exc
    try:
        raw, node = read(other)
    except ScenarioError as exc:
        raise PairError(_in(other, exc.problems)) from exc
    if not isinstance(raw, dict) or not raw:
        got = "the file is empty" if not raw else "the file does not hold a mapping"
        what = f"{got}; expected a programs file (some of {', '.join(POLICY_BLOCKS)}) or a scenario"
        raise PairError([(other, Problem("", what))])
    if any(key in raw for key in SCENARIO_BLOCKS):
        try:
            second = load(other)
        except ScenarioError as exc:
            raise PairError(_in(other, exc.problems)) from exc
        if (second.start, second.until) != (first.start, first.until):
            what = (
                f"runs from {second.start.isoformat()} to {second.until.isoformat()}, "
                f"{scenario.name} from {first.start.isoformat()} to {first.until.isoformat()}; "
                "a comparison needs the same time span"
            )
            raise PairError([(other, Problem("", what))])
        return Pair(first, second, "scenario")
    unknown = [str(key) for key in raw if key not in POLICY_BLOCKS]
    if unknown:
        what = (
            f"not a block a programs file may hold; expected {', '.join(POLICY_BLOCKS)} "
            "(or a whole scenario with start, until, plans, customers, actions)"
        )
        raise PairError(_in(other, with_lines([Problem(key, what) for key in unknown], node)))
    base, base_node = read(scenario)
    try:
        second = parse({**base, **raw})
    except ScenarioError as exc:
        # Problems in the replaced blocks are the programs file's, and carry its lines; the
        # others (an action redeeming a coupon the file took away) are the scenario's.
        def own(problem: Problem) -> bool:
            return problem.path.split(".")[0].split("[")[0] in raw

        raise PairError(
            _in(other, with_lines([p for p in exc.problems if own(p)], node))
            + _in(scenario, with_lines([p for p in exc.problems if not own(p)], base_node))
        ) from exc
    return Pair(first, second, "programs")


# Each row of the comparison: its key in compare.json, its label, and whether it is money.
ROWS: tuple[tuple[str, str, bool], ...] = (
    ("mrr_end", "MRR at the end", True),
    ("customers_end", "customers paying at the end", False),
    ("customers_lost", "customers lost (churn)", False),
    ("voluntary_churned", "  who left", False),
    ("involuntary_churned", "  lost to failed payments", False),
    ("revenue", "revenue collected", True),
    ("invoices_failed", "invoices whose first payment failed", False),
    ("invoices_recovered", "  recovered by retries", False),
    ("recovered_revenue", "  what recovered invoices brought in", True),
    ("recovered_by_collections", "recovered through collections", True),
    ("emails", "emails sent", False),
    ("discounts_coupon", "discounts given: coupons", True),
    ("discounts_tenure", "discounts given: tenure", True),
    ("refunded", "refunds", True),
    ("saved_by_offer", "cancellations saved by an offer", False),
    ("points_earned", "loyalty points earned", False),
    ("points_redeemed", "loyalty points redeemed", False),
)


def figures(folder: Path) -> dict[str, Any]:
    """The run's figures, summed over the months of its metrics.json (the subscriptions'
    main currency, as the report's headline), and its outbox's emails."""
    doc = json.loads((folder / "metrics.json").read_text())
    monthly: list[dict[str, Any]] = doc["monthly"]

    def total(key: str) -> int:
        return int(sum(m.get(key) or 0 for m in monthly))

    found: dict[str, Any] = {"currency": doc["currency"]}
    found["mrr_end"] = monthly[-1]["mrr_end"] if monthly else 0
    found["customers_end"] = monthly[-1]["customers_end"] if monthly else 0
    for key in (
        "customers_lost",
        "voluntary_churned",
        "involuntary_churned",
        "revenue",
        "invoices_failed",
        "invoices_recovered",
        "recovered_by_collections",
        "recovered_revenue",
        "refunded",
        "saved_by_offer",
        "points_earned",
        "points_redeemed",
    ):
        found[key] = total(key)
    found["discounts_coupon"] = int(sum(m["discounts"]["coupon"] for m in monthly))
    found["discounts_tenure"] = int(sum(m["discounts"]["tenure"] for m in monthly))
    found["emails"] = len(list((folder / "outbox").glob("*.eml")))
    return found


def comparison(a: dict[str, Any], b: dict[str, Any], sources: tuple[str, str]) -> dict[str, Any]:
    """compare.json: each run's figures and B − A. Money in different currencies has no
    difference (None): it would add dollars to euros."""
    same_currency = a["currency"] == b["currency"]
    difference = {
        key: (b[key] - a[key]) if same_currency or not is_money else None
        for key, _, is_money in ROWS
    }
    return {
        "a": {"source": sources[0], "folder": "a", "figures": a},
        "b": {"source": sources[1], "folder": "b", "figures": b},
        "difference": difference,
    }


def _shown(value: int | None, currency: str | None, is_money: bool, signed: bool = False) -> str:
    """A figure as printed; a difference carries its sign (a true minus, as the report's)."""
    if value is None:
        return "–"
    magnitude = abs(value) if signed else value
    text = money(magnitude, currency) if is_money and currency else f"{magnitude:,}"
    if not signed or value == 0:
        return text
    return ("+" if value > 0 else "−") + text


def table_rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, A, B, B − A) as printed, one per row of ROWS."""
    a, b, diff = doc["a"]["figures"], doc["b"]["figures"], doc["difference"]
    rows = []
    for key, label, is_money in ROWS:
        rows.append(
            (
                label,
                _shown(a[key], a["currency"], is_money),
                _shown(b[key], b["currency"], is_money),
                _shown(diff[key], a["currency"], is_money, signed=True),
            )
        )
    return rows


def plain_table(doc: dict[str, Any]) -> str:
    """The comparison as aligned text for a terminal."""
    head = ("", "A", "B", "B − A")
    rows = [head, *table_rows(doc)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"A: {doc['a']['source']}",
        f"B: {doc['b']['source']}",
    ]
    for row in rows:
        lines.append(
            row[0].ljust(widths[0])
            + "".join(
                "  " + cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
            )
        )
    return "\n".join(lines)


def html_page(doc: dict[str, Any]) -> str:
    """The comparison as one self-contained page (no script, no fetched asset)."""
    body = "".join(
        # A part of the row above it ("  who left") is indented under it, as on the terminal.
        ("<tr><th scope='row' class='part'>" if label.startswith(" ") else "<tr><th scope='row'>")
        + html.escape(label.strip())
        + "</th>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        + "</tr>\n"
        for label, *cells in table_rows(doc)
    )
    a, b = (html.escape(doc[k]["source"]) for k in ("a", "b"))
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Tenure: what if</title><style>"
        "body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}"
        "table{border-collapse:collapse}th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd}"
        "td{text-align:right;font-variant-numeric:tabular-nums}th{text-align:left}"
        "th.part{padding-left:1.7rem;font-weight:normal}"
        "</style></head><body>\n<h1>What if</h1>\n"
        f"<p>A: {a} (<a href='a/report.html'>report</a>)<br>"
        f"B: {b} (<a href='b/report.html'>report</a>)</p>\n"
        "<table><thead><tr><th></th><th scope='col'>A</th><th scope='col'>B</th>"
        "<th scope='col'>B − A</th></tr></thead><tbody>\n"
        f"{body}</tbody></table>\n</body></html>\n"
    )


def write(out: Path, doc: dict[str, Any]) -> None:
    (out / "compare.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    (out / "compare.html").write_text(html_page(doc))
