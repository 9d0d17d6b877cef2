"""The report's SVG charts, drawn inline so the page needs nothing from the network."""

import html
import math
from itertools import pairwise
from typing import Any

from markupsafe import Markup

from tenure.report.numbers import day_name, money, month_name, pct

W, H = 880, 260
PAD_R, PAD_T, PAD_B = 16, 22, 44
# Tick labels are 11 units high on a wide page and 20 on a phone (report.css), where the
# 880-unit chart is drawn about 365 px wide: 20 units is about 8 px there, 11 would be 5.
TICK = 11
PHONE_TICK = 20
# A label's width per character, as a share of its height (system-ui digits and letters).
CHAR_EM = 0.62
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


def _svg(body: str, label: str, height: int = H) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{_esc(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_EM


def _y_axis(lo: float, hi: float, fmt: Any, height: int = H) -> tuple[str, Any, float]:
    """Grid lines at round values from `lo` (0 or below) to `hi`, both widened to a step; and
    the left edge of the plot, just past the widest label at a phone's size."""
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step) * step, max(math.ceil(hi / step), 1) * step
    inner = height - PAD_T - PAD_B

    def y(v: float) -> float:
        return PAD_T + inner * (1 - (v - lo) / (hi - lo or 1))

    ticks = [(lo + step * n, fmt(lo + step * n)) for n in range(round((hi - lo) / step) + 1)]
    left = math.ceil(max(_text_width(label, PHONE_TICK) for _, label in ticks)) + 24
    parts = [
        f'<line x1="{left}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
        f'<text x="{left - 8}" y="{y(v) + 4:.1f}" class="tick" text-anchor="end">'
        f"{_esc(label)}</text>"
        for v, label in ticks
    ]
    return "".join(parts), y, left


def _x_positions(count: int, left: float, right: float) -> list[float]:
    inner = right - left
    if count <= 1:
        return [left + inner / 2] * count
    return [left + inner * n / (count - 1) for n in range(count)]


def _x_labels(xs: list[float], labels: list[str], height: int = H) -> str:
    """Labels under the x axis, as many as fit without touching: every k-th where they would,
    counted from the first. Those a phone's larger type would crowd carry `thin`, which the
    phone stylesheet hides."""
    if not xs:
        return ""
    gap = min((b - a for a, b in pairwise(xs)), default=float(W))
    widest = max(len(label) for label in labels)

    def every(size: float) -> int:
        # A label and half a character of air on either side.
        return max(1, math.ceil((widest + 1) * size * CHAR_EM / max(gap, 1.0)))

    page = every(TICK)
    phone = math.ceil(max(every(PHONE_TICK), page) / page) * page
    parts = []
    for n, (x, label) in enumerate(zip(xs, labels, strict=True)):
        if n % page:
            continue
        kind = "tick" if n % phone == 0 else "tick thin"
        parts.append(
            f'<text x="{x:.1f}" y="{height - 12}" class="{kind}" text-anchor="middle">'
            f"{_esc(label)}</text>"
        )
    return "".join(parts)


def _right_edge(labels: list[str]) -> float:
    """Where the plot ends: far enough from the chart's edge for a label centred on the last
    position to end inside it, at a phone's size."""
    widest = max((len(label) for label in labels), default=0)
    return W - max(PAD_R, math.ceil(_text_width("x" * widest, PHONE_TICK) / 2) + 2)


def mrr_line_chart(daily: list[dict[str, Any]], currency: str) -> Markup:
    if not daily:
        return Markup()
    values = [d["mrr"] for d in daily]
    axis, y, left = _y_axis(0, max(values) or 1, lambda v: money(int(v), currency, whole=True))
    # Month starts are marked; the first day too, unless a month starts right after it.
    marked = [n for n, d in enumerate(daily) if d["date"].endswith("-01")]
    if not set(marked) & set(range(6)):
        marked.insert(0, 0)
    labels = [day_name(daily[n]["date"])[:-6] for n in marked]
    xs = _x_positions(len(values), left, _right_edge(labels))
    points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, values, strict=True))
    area = f"{xs[0]:.1f},{y(0):.1f} {points} {xs[-1]:.1f},{y(0):.1f}"
    ticks = [
        f'<line x1="{xs[n]:.1f}" x2="{xs[n]:.1f}" y1="{y(0):.1f}" y2="{y(0) + 4:.1f}" '
        'class="axis"/>'
        for n in marked
    ]
    last = f'<circle cx="{xs[-1]:.1f}" cy="{y(values[-1]):.1f}" r="4" fill="{COLORS["mrr"]}"/>'
    body = (
        axis
        + f'<polygon points="{area}" fill="{COLORS["mrr"]}" opacity="0.12"/>'
        + f'<polyline points="{points}" fill="none" stroke="{COLORS["mrr"]}" stroke-width="2.5"/>'
        + last
        + "".join(ticks)
        + _x_labels([xs[n] for n in marked], labels)
    )
    return _svg(body, "MRR by day")


def movements_chart(monthly: list[dict[str, Any]], currency: str) -> Markup:
    if not monthly:
        return Markup()
    ups = ("new_mrr", "expansion_mrr", "reactivation_mrr")
    downs = ("contraction_mrr", "churned_mrr")
    top = max(sum(m[k] for k in ups) for m in monthly) or 1
    bottom = max(sum(m[k] for k in downs) for m in monthly)
    axis, y, left = _y_axis(-bottom, top, lambda v: money(int(v), currency, whole=True))
    labels = [month_name(m["month"]) for m in monthly]
    slot = (_right_edge(labels) - left) / len(monthly)
    bar = min(64.0, slot * 0.56)
    parts = [
        axis,
        f'<line x1="{left}" x2="{W - PAD_R}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="axis"/>',
    ]
    for n, m in enumerate(monthly):
        x = left + slot * n + (slot - bar) / 2
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
        )
    centres = [left + slot * n + slot / 2 for n in range(len(monthly))]
    parts.append(_x_labels(centres, labels))
    return _svg("".join(parts), "MRR movements by month")


def rates_chart(monthly: list[dict[str, Any]], series: list[tuple[str, str, str]]) -> Markup:
    """Monthly rates as lines; months without a value (zero denominator) leave a gap."""
    if not monthly:
        return Markup()
    values = [m[key] for m in monthly for key, _, _ in series if m[key] is not None]
    hi = max([1.0, *values])
    axis, y, left = _y_axis(min([0.0, *values]), hi, lambda v: f"{v * 100:.0f}%")
    labels = [month_name(m["month"]) for m in monthly]
    slot = (_right_edge(labels) - left) / len(monthly)
    xs = [left + slot * n + slot / 2 for n in range(len(monthly))]
    parts = [axis, _x_labels(xs, labels)]
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
                f"<title>{_esc(label)} {_esc(month_name(m['month']))}: {pct(value, 1)}</title>"
                "</circle>"
            )
        for points in runs:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                    'stroke-width="2.5"/>'
                )
    return _svg("".join(parts), "Rates by month")


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))
