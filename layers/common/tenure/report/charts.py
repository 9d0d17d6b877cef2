"""The report's SVG charts, drawn inline so the page needs nothing from the network."""

import html
import math
from typing import Any

from markupsafe import Markup

from tenure.report.numbers import day_name, money, month_name, pct

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


def _svg(body: str, label: str, height: int = H) -> Markup:
    return Markup(
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


def mrr_line_chart(daily: list[dict[str, Any]], currency: str) -> Markup:
    if not daily:
        return Markup()
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
                f"{_esc(day_name(d['date'])[:-6])}</text>"
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


def movements_chart(monthly: list[dict[str, Any]], currency: str) -> Markup:
    if not monthly:
        return Markup()
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
            f"{_esc(month_name(m['month']))}</text>"
        )
    return _svg("".join(parts), "MRR movements by month")


def rates_chart(monthly: list[dict[str, Any]], series: list[tuple[str, str, str]]) -> Markup:
    """Monthly rates as lines; months without a value (zero denominator) leave a gap."""
    if not monthly:
        return Markup()
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
            f"{_esc(month_name(m['month']))}</text>"
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
