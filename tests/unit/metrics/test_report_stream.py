"""The report written piece by piece is the page render_report gives whole."""

from pathlib import Path
from typing import Any

from test_report_page import a_document

from tenure.report.page import render_report, report_pieces
from tenure_local.report import metrics_report

STATE = {
    "customers": [
        {
            "id": "c1",
            "email": "zoe@example.com",
            "name": "Zoë",
            "locale": "en",
            "timezone": "Europe/Paris",
        }
    ],
    "subscriptions": [],
    "invoices": [],
}


def test_the_pieces_of_the_page_join_into_the_rendered_page() -> None:
    doc = a_document()
    pieces = list(report_pieces("Tenure report", doc, STATE))
    assert len(pieces) > 1  # pieces indeed, not the page in one
    assert "".join(pieces) == render_report("Tenure report", doc, STATE)


def test_the_report_file_is_the_rendered_page_across_many_writes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(metrics_report, "WRITE_EVERY", 3)
    doc = a_document()
    path = metrics_report.write_report(tmp_path, STATE, title="Tenure report", metrics=doc)
    assert path.read_text() == render_report("Tenure report", doc, STATE)
