"""The report page and the CSV export, from a metrics.json document (no browser here)."""

import csv
import io
import re
from datetime import timedelta

from metrics_helpers import T0, day_of, make_business

from tenure.report.csv_export import export_csv
from tenure.report.numbers import summary_sentences
from tenure.report.page import render_report


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
    assert sentences[0].startswith("MRR grew from nothing to $300 between Feb 1, 2026")
    assert "4 new customers joined; 1 churned, all by their own choice." in sentences
    assert any("“too expensive” (1)" in s for s in sentences)
    assert sentences[-1] == "2 customers are at risk now (late payments or disputes)."


def test_the_page_is_self_contained_with_its_charts_inline() -> None:
    page = render_report("Tenure report", a_document(), state=None)
    assert page.count("<svg") >= 4  # MRR, movements, churn and retention, payment health
    assert "MRR grew from nothing" in page
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
    daily = list(csv.DictReader(io.StringIO(export_csv(doc, "daily"))))
    assert len(daily) == 71
    cohorts = list(csv.reader(io.StringIO(export_csv(doc, "cohorts"))))
    assert cohorts[0][:2] == ["cohort", "customers_m0"]
