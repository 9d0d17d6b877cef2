"""The report's charts keep their axis labels apart and on the chart, however many months
they span, at a page's type size and at a phone's (no browser here: tests/e2e measures the
drawn text)."""

import re
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest

from tenure.report.charts import (
    CHAR_EM,
    PHONE_TICK,
    TICK,
    H,
    W,
    movements_chart,
    mrr_line_chart,
    rates_chart,
)

X_LABEL = re.compile(
    rf'<text x="([\d.]+)" y="{H - 12}" class="(tick[^"]*)" text-anchor="(\w+)">([^<]*)</text>'
)
Y_LABEL = re.compile(r'<text x="([\d.]+)" y="[\d.]+" class="tick" text-anchor="end">([^<]*)</text>')


def monthly(count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        year, month = divmod(n, 12)
        rows.append(
            {
                "month": f"{2026 + year}-{month + 1:02d}",
                "new_mrr": 90_000 + n,
                "expansion_mrr": 100,
                "reactivation_mrr": 0,
                "contraction_mrr": 200,
                "churned_mrr": 25_000,
                "net_new_mrr": 64_900 + n,
                "churn_rate": 0.05,
                "retention_rate": 0.9,
            }
        )
    return rows


def daily(days: int) -> list[dict[str, Any]]:
    start = date(2026, 1, 31)
    return [
        {"date": (start + timedelta(days=n)).isoformat(), "mrr": 1_000_000 + 50 * n}
        for n in range(days)
    ]


def spans(svg: str, size: float, on_a_phone: bool) -> list[tuple[float, float, str]]:
    """Where each x label shown at this size runs, in chart units (the chart's own model of
    a label's width)."""
    shown = []
    for x, kind, anchor, text in X_LABEL.findall(svg):
        if on_a_phone and "thin" in kind.split():
            continue
        width, at = len(text) * size * CHAR_EM, float(x)
        start = at - width if anchor == "end" else at - width / 2
        shown.append((start, start + width, text))
    return shown


CHARTS = {
    "rates": lambda n: rates_chart(monthly(n), [("churn_rate", "Churn", "#e53935")]),
    "movements": lambda n: movements_chart(monthly(n), "USD"),
    "mrr by day": lambda n: mrr_line_chart(daily(n * 30), "USD"),
}


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("months", [2, 6, 12, 24, 60])
@pytest.mark.parametrize(("size", "on_a_phone"), [(TICK, False), (PHONE_TICK, True)])
def test_x_labels_never_touch_and_stay_on_the_chart(
    chart: str, months: int, size: float, on_a_phone: bool
) -> None:
    shown = spans(str(CHARTS[chart](months)), size, on_a_phone)

    assert shown, "at least one label"
    for (_, end, text), (start, _, following) in pairwise(shown):
        assert end <= start, f"{text} runs into {following}"
    assert shown[0][0] >= 0 and shown[-1][1] <= W


@pytest.mark.parametrize("chart", CHARTS)
def test_a_long_range_shows_fewer_labels_on_a_phone_but_still_several(chart: str) -> None:
    svg = str(CHARTS[chart](24))

    on_a_page, on_a_phone = spans(svg, TICK, False), spans(svg, PHONE_TICK, True)

    assert 4 <= len(on_a_phone) < len(on_a_page)
    assert on_a_phone[0][2] == on_a_page[0][2]  # counted from the first


def test_a_few_months_lose_no_label_anywhere() -> None:
    svg = str(movements_chart(monthly(6), "USD"))

    assert len(spans(svg, TICK, False)) == len(spans(svg, PHONE_TICK, True)) == 6


@pytest.mark.parametrize("chart", CHARTS)
def test_the_widest_amount_fits_left_of_the_plot_at_a_phones_size(chart: str) -> None:
    labels = Y_LABEL.findall(str(CHARTS[chart](24)))

    assert labels
    for x, text in labels:
        assert float(x) - len(text) * PHONE_TICK * CHAR_EM >= 0, text
