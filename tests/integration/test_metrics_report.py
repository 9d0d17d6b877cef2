"""`tenure simulate` writes metrics.json matching a hand-computed oracle, and a report that
renders in headless Chromium with nothing fetched from the network."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tenure_local.browser import chromium_path, headless_chromium, local_only
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
SCENARIO: dict[str, Any] = {
    "start": "2026-03-01T00:00:00Z",
    "until": "2026-05-01T00:00:00Z",
    "plans": [
        {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"},
        {"id": "pro", "amount": 2000, "currency": "USD", "interval": "month"},
        {"id": "gold-year", "amount": 200000, "currency": "USD", "interval": "year"},
        {"id": "euro", "amount": 900, "currency": "EUR", "interval": "month"},
    ],
    "customers": [
        {"id": c, "email": f"{c}@example.com", "card": "4242424242424242"}
        for c in ("ann", "bob", "cat", "eve")
    ],
    "actions": [
        {"at": "2026-03-01T00:00:00Z", "do": "subscribe", "customer": "ann", "plan": "basic",
         "id": "sub-ann"},
        {"at": "2026-03-01T06:00:00Z", "do": "subscribe", "customer": "bob", "plan": "gold-year",
         "id": "sub-bob"},
        {"at": "2026-03-02T00:00:00Z", "do": "subscribe", "customer": "eve", "plan": "euro",
         "id": "sub-eve"},
        {"at": "2026-03-10T00:00:00Z", "do": "subscribe", "customer": "cat", "plan": "basic",
         "id": "sub-cat"},
        {"at": "2026-03-16T00:00:00Z", "do": "change_plan", "subscription": "sub-ann",
         "plan": "pro"},
        {"at": "2026-04-05T00:00:00Z", "do": "cancel", "subscription": "sub-cat",
         "reason": "too_expensive"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def report_dir(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("metrics") / "out"
    Simulator(parse(SCENARIO), out, measure_raw_speed=False, stack=local_stack).run()
    return out


def doc(report_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((report_dir / "metrics.json").read_text())
    return loaded


def test_metrics_json_has_a_row_for_every_utc_day_and_the_documented_shape(
    report_dir: Path,
) -> None:
    metrics = doc(report_dir)
    assert metrics["currency"] == "USD"  # the first plan's
    assert {"daily", "monthly", "cohorts", "exit_reasons", "other_currencies"} <= set(metrics)
    days = [d["date"] for d in metrics["daily"]]
    assert (days[0], days[-1], len(days)) == ("2026-03-01", "2026-05-01", 62)
    assert set(metrics["daily"][0]) == {
        "date", "mrr", "customers", "new_mrr", "expansion_mrr", "contraction_mrr",
        "churned_mrr", "reactivation_mrr",
    }  # fmt: skip


def test_the_daily_movements_match_the_hand_computed_oracle(report_dir: Path) -> None:
    daily = {d["date"]: d for d in doc(report_dir)["daily"]}
    assert (daily["2026-03-01"]["new_mrr"], daily["2026-03-01"]["mrr"]) == (1000 + 16667, 17667)
    assert daily["2026-03-10"]["new_mrr"] == 1000
    assert (daily["2026-03-16"]["expansion_mrr"], daily["2026-03-16"]["mrr"]) == (1000, 19667)
    assert (daily["2026-04-05"]["churned_mrr"], daily["2026-04-05"]["mrr"]) == (1000, 18667)
    assert daily["2026-04-01"]["mrr"] == 19667  # renewals change nothing
    assert daily["2026-05-01"]["customers"] == 2


def test_the_monthly_rows_match_the_hand_computed_oracle(report_dir: Path) -> None:
    march, april, may = doc(report_dir)["monthly"]
    assert (march["mrr_start"], march["mrr_end"], march["new_mrr"]) == (0, 19667, 18667)
    assert (march["customers_start"], march["customers_end"], march["customers_new"]) == (0, 3, 3)
    assert march["customer_churn_rate"] is None and march["nrr"] is None
    assert march["on_time_payment_rate"] == 1.0
    assert april["churned_mrr"] == 1000
    assert (april["customers_start"], april["customers_end"], april["customers_lost"]) == (3, 2, 1)
    assert april["customer_churn_rate"] == 1 / 3
    assert april["retention_rate"] == 2 / 3
    assert april["nrr"] == april["grr"] == (19667 - 1000) / 19667
    assert april["arpa"] == 9334  # 18667 / 2, half-up
    assert april["ltv"] == 9334 * 3  # churn over Mar-Apr: 1 lost of 0 + 3 at the starts
    assert (april["voluntary_churned"], april["involuntary_churned"]) == (1, 0)
    assert april["recovery_rate"] is None  # nothing failed
    assert may["month"] == "2026-05" and may["mrr_end"] == 18667


def test_cohorts_exit_reasons_and_other_currencies(report_dir: Path) -> None:
    metrics = doc(report_dir)
    assert metrics["cohorts"] == [
        {"cohort": "2026-03", "customers": [3, 2, 2], "mrr": [18667, 18667, 18667]}
    ]
    assert metrics["exit_reasons"] == {"too_expensive": 1}
    eur = metrics["other_currencies"]["EUR"]
    assert eur["daily"][1] == {
        "date": "2026-03-02", "mrr": 900, "customers": 1, "new_mrr": 900, "expansion_mrr": 0,
        "contraction_mrr": 0, "churned_mrr": 0, "reactivation_mrr": 0,
    }  # fmt: skip
    assert metrics["monthly"][0]["mrr_end"] == 19667  # euros are never added to dollars


def test_tenure_report_rebuilds_the_page_and_the_csv_export_reads_metrics_json(
    report_dir: Path,
) -> None:
    (report_dir / "report.html").unlink()
    tenure = [sys.executable, "-m", "tenure_local.cli"]
    done = subprocess.run([*tenure, "report", str(report_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "MRR is $187 on May 1, 2026" in (report_dir / "report.html").read_text()
    done = subprocess.run(
        [*tenure, "metrics", "export", str(report_dir), "--format", "csv"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("month,mrr_start,mrr_end,new_mrr")
    assert [line.split(",")[0] for line in lines[1:]] == ["2026-03", "2026-04", "2026-05"]


def test_the_report_renders_in_headless_chromium_without_the_network(report_dir: Path) -> None:
    assert chromium_path(), "install Debian's chromium: apt-get install -y chromium"
    requested: list[str] = []
    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("request", lambda r: requested.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((report_dir / "report.html").resolve().as_uri())
        summary = page.inner_text(".summary")
        charts = page.eval_on_selector_all(
            "svg.chart", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        page.screenshot(path=str(report_dir / "report.png"), full_page=True)
    assert summary.startswith(
        "MRR is $187 on May 1, 2026, with 2 paying customers: 5% below its peak of $197 "
        "(first reached Mar 16, 2026) and up from nothing on Mar 1, 2026."
    )
    assert "3 new customers joined; 1 churned, all by their own choice." in summary
    assert "every invoice was paid at its first attempt" in summary
    assert len(charts) >= 4 and all(h > 100 for h in charts)
    for section in ("MRR", "Churn and retention", "Signup cohorts", "Payment health",
                    "Exit reasons"):  # fmt: skip
        assert section in headings
    assert errors == []
    assert [u for u in requested if not u.startswith("file:")] == []
    assert (report_dir / "report.png").stat().st_size > 20_000


# What a table or the page may overflow by: none of it scrolls sideways, on a phone or on paper.
OVERFLOW = """() => ({
    page: document.scrollingElement.scrollWidth,
    tables: [...document.querySelectorAll('table')]
        .filter(t => t.getBoundingClientRect().width > t.parentElement.clientWidth + 1)
        .map(t => t.className),
})"""


def test_the_report_fits_a_390_pixel_phone_without_scrolling_sideways(report_dir: Path) -> None:
    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.route("**/*", local_only)
        page.goto((report_dir / "report.html").resolve().as_uri())
        fits = page.evaluate(OVERFLOW)
        rows = page.eval_on_selector_all(
            "table.rows td", "els => els.slice(0, 3).map(e => getComputedStyle(e).display)"
        )
    assert fits["page"] <= 390
    assert fits["tables"] == []
    assert rows == ["flex", "flex", "flex"]  # each row is a small card of label: value lines


def test_the_report_prints_on_a4_without_cutting_off_a_table(report_dir: Path) -> None:
    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
        page.route("**/*", local_only)
        page.emulate_media(media="print")
        page.goto((report_dir / "report.html").resolve().as_uri())
        fits = page.evaluate(OVERFLOW)
        shadows = page.eval_on_selector_all(
            ".card, .chart", "els => els.map(e => getComputedStyle(e).boxShadow)"
        )
        pdf = page.pdf(format="A4")
    assert fits["page"] <= 794
    assert fits["tables"] == []
    assert set(shadows) == {"none"}
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
