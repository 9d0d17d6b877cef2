"""The report written piece by piece is the page render_report gives whole."""

from collections.abc import Iterator
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


class CountedInvoices:
    """A state's invoices that count how many the pass under way has read."""

    def __init__(self, n: int) -> None:
        self.n, self.read = n, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.read = 0
        for k in range(self.n):
            self.read += 1
            yield {
                "id": f"in_{k:04d}",
                "customer": "c1",
                "kind": "renewal",
                "period_start": "2026-01-01T00:00:00Z",
                "status": "paid",
                "total": 1200,
                "currency": "EUR",
                "lines": [{"description": "Pro", "amount": 1200}],
            }


def test_the_state_tables_are_written_row_by_row_not_built_whole_first() -> None:
    invoices = CountedInvoices(500)
    state = STATE | {"invoices": invoices}
    pieces = report_pieces("Tenure report", None, state)
    first = next(piece for piece in pieces if "in_0000" in piece)
    assert "in_0499" not in first
    assert invoices.read < invoices.n  # the page holds a few rows at a time, not the table
    rest = "".join(pieces)
    assert invoices.read == invoices.n and "in_0499" in rest


def test_the_state_tables_read_the_same_rows_on_every_rendering() -> None:
    state = STATE | {"invoices": CountedInvoices(3)}
    page = render_report("Tenure report", None, state)
    assert page == render_report("Tenure report", None, state)
    assert [page.count(f">in_000{k}</td>") for k in range(4)] == [1, 1, 1, 0]
