"""The report read on a 390-pixel phone in headless Chromium: chart labels large enough to
read and apart, and a wide table scrolling inside its box rather than the page sideways."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure.report.charts import movements_chart, mrr_line_chart, rates_chart
from tenure.report.page import TEMPLATES_DIR
from tenure_local.browser import headless_chromium, local_only

PHONE = {"width": 390, "height": 844}
CSS = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
# The chart's drawn label boxes: only those shown, in page pixels.
LABELS = """svg => [...svg.querySelectorAll('text.tick')]
  .filter(t => getComputedStyle(t).display !== 'none')
  .map(t => { const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            size: parseFloat(getComputedStyle(t).fontSize) * r.height / t.getBBox().height}; })"""


def months(count: int) -> list[dict[str, Any]]:
    return [
        {
            "month": f"{2026 + n // 12}-{n % 12 + 1:02d}",
            "new_mrr": 9_000_000,
            "expansion_mrr": 0,
            "reactivation_mrr": 0,
            "contraction_mrr": 0,
            "churned_mrr": 250_000,
            "net_new_mrr": 8_750_000,
            "churn_rate": 0.05,
        }
        for n in range(count)
    ]


def days(count: int) -> list[dict[str, Any]]:
    from datetime import date, timedelta

    return [
        {"date": (date(2026, 1, 1) + timedelta(days=n)).isoformat(), "mrr": 100_000 * n}
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def phone() -> Iterator[Any]:
    with headless_chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.route("**/*", local_only)
        yield page


def show(page: Any, tmp_path: Path, body: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        f"<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
        f"<style>{CSS}</style></head><body><main>{body}</main></body></html>",
        encoding="utf-8",
    )
    page.goto(path.resolve().as_uri())


@pytest.mark.parametrize(
    "chart",
    [
        pytest.param(lambda: mrr_line_chart(days(730), "USD"), id="two years of MRR by day"),
        pytest.param(lambda: movements_chart(months(24), "USD"), id="24 months of movements"),
        pytest.param(
            lambda: rates_chart(months(24), [("churn_rate", "Churn", "#e53935")]),
            id="24 months of rates",
        ),
        pytest.param(lambda: movements_chart(months(5), "USD"), id="5 months of movements"),
    ],
)
def test_chart_labels_on_a_phone_are_readable_apart_and_inside_the_chart(
    phone: Any, tmp_path: Path, chart: Any
) -> None:
    show(phone, tmp_path, str(chart()))
    box = phone.eval_on_selector("svg", "s => s.getBoundingClientRect().toJSON()")
    labels = phone.eval_on_selector("svg", LABELS)

    assert labels
    assert all(label["size"] >= 7.5 for label in labels), labels  # about 5 px before
    assert all(box["left"] <= label["left"] and label["right"] <= box["right"] for label in labels)
    for n, one in enumerate(labels):
        for other in labels[n + 1 :]:
            assert not overlap(one, other), (one["text"], other["text"])


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    apart = a["right"] <= b["left"] or b["right"] <= a["left"]
    return not apart and not (a["bottom"] <= b["top"] or b["bottom"] <= a["top"])


def test_a_wide_cohort_table_scrolls_inside_its_box_not_the_page(
    phone: Any, tmp_path: Path
) -> None:
    cells = "".join(f"<td>{n}%</td>" for n in range(24))
    heads = "".join(f"<th>M{n}</th>" for n in range(24))
    table = (
        f"<div class='scroll'><table class='heat'><tr><th>signup month</th>{heads}</tr>"
        f"<tr><td>Jan 2026</td>{cells}</tr></table></div>"
    )
    show(phone, tmp_path, f"<div class='pair'><div>{table}</div><div>{table}</div></div>")

    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.eval_on_selector(".scroll", "e => e.scrollWidth > e.clientWidth")
