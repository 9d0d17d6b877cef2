"""The report page and the CSV export, from a metrics.json document (no browser here)."""

import csv
import io
import re
from datetime import timedelta

from metrics_helpers import T0, day_of, make_business

from tenure.report.csv_export import export_csv
from tenure.report.numbers import (
    complete_months,
    exit_reason_sentence,
    partial_months,
    summary_sentences,
)
from tenure.report.page import heat_rows, render_report


def a_document() -> dict:
    business = make_business()
    for n in range(4):
        business.at(T0 + timedelta(days=n)).customer(f"c{n}")
        business.subscribe(f"c{n}", "monthly-100", f"s{n}")
    business.at(T0 + timedelta(days=40)).cancel("s0", reason="too_expensive")
    business.aggregate(T0.date(), day_of(T0, 70))
    return business.document(T0.date(), day_of(T0, 70))


def test_the_summary_says_what_happened_in_plain_words() -> None:
    sentences = summary_sentences(a_document(), at_risk=2)
    assert "4 new customers joined; 1 churned, all by their own choice." in sentences
    assert any("“too expensive” (1)" in s for s in sentences)
    assert sentences[-1] == "2 customers are at risk now (late payments or disputes)."


def test_the_page_is_self_contained_with_its_charts_inline() -> None:
    page = render_report("Tenure report", a_document(), state=None)
    assert page.count("<svg") >= 4  # MRR, movements, churn and retention, payment health
    assert "MRR is $300 on Apr 12, 2026" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "@import" not in page and "url(" not in page


def test_a_page_without_metrics_still_shows_the_state_tables() -> None:
    state = {"customers": [], "subscriptions": [], "invoices": []}
    page = render_report("Tenure report", None, state)
    assert "No metrics.json in this folder." in page
    assert "Customers, subscriptions and invoices" in page


def test_the_csv_export_has_one_row_per_month_with_the_json_field_names() -> None:
    doc = a_document()
    rows = list(csv.DictReader(io.StringIO(export_csv(doc, "monthly"))))
    assert [r["month"] for r in rows] == ["2026-02", "2026-03", "2026-04"]
    assert rows[1]["churned_mrr"] == "10000"
    assert rows[0]["customer_churn_rate"] == ""  # null: no customers at the start
    assert rows[0]["discounts_coupon"] == "0"  # a grouped figure: one column per part
    assert "discounts" not in rows[0]
    daily = list(csv.DictReader(io.StringIO(export_csv(doc, "daily"))))
    assert len(daily) == 71
    cohorts = list(csv.reader(io.StringIO(export_csv(doc, "cohorts"))))
    assert cohorts[0][:2] == ["cohort", "customers_m0"]


def test_an_exit_reason_a_spreadsheet_would_run_as_a_formula_is_exported_as_text() -> None:
    # Exit reasons are the customer's own text: a cancel through the API may send anything.
    doc = {
        "exit_reasons": {'=HYPERLINK("http://x.example","hi")': 1, "-1+2": 2, "too_expensive": 3}
    }
    rows = list(csv.reader(io.StringIO(export_csv(doc, "exit_reasons"))))
    assert rows == [
        ["reason", "customers"],
        ["'-1+2", "2"],
        ['\'=HYPERLINK("http://x.example","hi")', "1"],
        ["too_expensive", "3"],
    ]


def test_the_first_line_says_where_mrr_stands_against_its_peak_and_its_start() -> None:
    first = summary_sentences(a_document())[0]
    assert first == (
        "MRR is $300 on Apr 12, 2026, with 3 paying customers: 25% below its peak of $400 "
        "(first reached Feb 4, 2026) and up from nothing on Feb 1, 2026."
    )


def test_mrr_at_its_peak_today_is_called_its_highest() -> None:
    business = make_business()
    business.at(T0).customer("c0")
    business.subscribe("c0", "monthly-100", "s0")
    business.aggregate(T0.date(), day_of(T0, 9))
    first = summary_sentences(business.document(T0.date(), day_of(T0, 9)))[0]
    assert first.endswith(": its highest in the period and up from nothing on Feb 1, 2026.")


def a_document_from_january_31() -> dict:
    business = make_business()
    start = T0 - timedelta(days=1)  # 31 January: a month of one day
    for n in range(3):
        business.at(start).customer(f"c{n}")
        business.subscribe(f"c{n}", "monthly-100", f"s{n}")
    business.aggregate(start.date(), day_of(T0, 40))
    return business.document(start.date(), day_of(T0, 40))


def test_months_the_period_covers_in_part_are_named_with_the_days_covered() -> None:
    doc = a_document_from_january_31()
    assert partial_months(doc) == {"2026-01": "Jan 31", "2026-03": "Mar 1–13"}
    assert [m["month"] for m in complete_months(doc)] == ["2026-02"]


def test_partial_months_are_marked_in_the_tables_and_left_out_of_the_monthly_charts() -> None:
    page = render_report("Tenure report", a_document_from_january_31(), state=None)
    assert "Jan 2026 (partial: Jan 31)" in page and "Mar 2026 (partial: Mar 1–13)" in page
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    monthly_charts = [c for c in charts if "MRR by day" not in c]
    assert monthly_charts and all("Feb 2026" in c for c in monthly_charts)
    assert not any("Jan 2026" in c or "Mar 2026" in c for c in monthly_charts)
    assert "Jan 2026 (Jan 31) and Mar 2026 (Mar 1–13) are partial months" in page


def test_cohort_cells_of_partial_months_are_marked_and_the_cohort_named_with_its_days() -> None:
    doc = a_document_from_january_31()
    assert [c["cohort"] for c in doc["cohorts"]] == ["2026-01"]  # all three paid on Jan 31
    rows = heat_rows(doc["cohorts"], "customers", "USD", partial_months(doc))
    ((label, cells),) = rows
    assert label == "Jan 2026 (partial: Jan 31)"
    # M0 is January (partial), M1 February (whole), M2 March (partial: the period's end).
    assert [cell.partial for cell in cells if cell] == [True, False, True]
    page = render_report("Tenure report", doc, state=None)
    assert "<sup>†</sup>" in page
    assert "the share still paying at the period's end, not at the month's" in page


def test_a_period_of_a_few_days_draws_no_monthly_chart_and_says_why() -> None:
    business = make_business()
    business.at(T0).customer("c0")
    business.subscribe("c0", "monthly-100", "s0")
    business.aggregate(T0.date(), day_of(T0, 5))
    page = render_report("Tenure report", business.document(T0.date(), day_of(T0, 5)), None)
    assert page.count("<svg") == 1  # the daily MRR line only
    assert "Feb 2026 (Feb 1–6) is a partial month of this period" in page


def test_exit_reasons_given_equally_often_are_reported_as_a_tie() -> None:
    assert exit_reason_sentence({"paused": 3, "payment_failed": 3, "too_expensive": 2}) == (
        "The most common exit reasons were “paused” and “payment failed”, tied at 3 each."
    )
    assert exit_reason_sentence({"too_expensive": 2, "paused": 1}) == (
        "The most common exit reason was “too expensive” (2)."
    )
    assert exit_reason_sentence({}) is None


def test_net_revenue_retention_says_it_counts_customers_who_came_back() -> None:
    doc = a_document()
    assert any(
        "net revenue retention (customers who came back included) was 75%" in s
        for s in summary_sentences(doc)
    )
    page = render_report("Tenure report", doc, state=None)
    assert "Net revenue retention (incl. reactivation)" in page
    assert "NRR (incl. reactivation)" in page


def test_the_retention_programs_section_shows_their_cost_and_the_customers_saved() -> None:
    doc = a_document()
    march = doc["monthly"][1]
    march.update(
        discounts={"coupon": 1500}, refunded=3355, cancellations_requested=4, saved_by_offer=2
    )
    page = render_report("Tenure report", doc, state=None)
    section = page[page.index("<h2>Retention programs</h2>") :]
    row = re.search(r"<tr><td data-label='month'>Mar 2026</td>(.*?)</tr>", section)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells == ["$15.00", "$33.55", "4", "2", "50.0%"]


def test_without_any_program_figure_the_section_is_left_out() -> None:
    assert "Retention programs" not in render_report("Tenure report", a_document(), state=None)
