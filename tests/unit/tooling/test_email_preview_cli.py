"""`tenure emails preview KIND --from DIR`: the real invoices of a run. A declined instalment
is previewed as the instalment email the customer got (named by its plan), not refused for
lacking a subscription's plan; an --out that is a file is an error, not a traceback."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app

INVOICE = "in_ipl-ana_installment_01"


def flat(text: str) -> str:
    """Without whitespace: the terminal wraps long paths wherever its width falls."""
    return "".join(text.split())


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run whose only declined charge is the first of two instalments of a laptop."""
    at = "2026-02-01T09:00:00Z"
    state = {
        "customers": [{"id": "ana", "name": "Ana", "email": "ana@example.com"}],
        "invoices": [
            {
                "id": INVOICE, "subscription": "", "customer": "ana", "kind": "installment",
                "period_start": at, "period_end": at, "currency": "USD", "status": "open",
                "created_at": at, "paid_at": None,
                "lines": [{"kind": "installment", "description": "Instalment 1 of 2: Laptop",
                           "amount": 50000}],
            }
        ],
        "charges": [{"invoice": INVOICE, "outcome": "declined"}],
        "installment_plans": [
            {"id": "ipl-ana", "description": "Laptop", "count": 2,
             "instalments": [{"number": 1, "invoice": INVOICE}, {"number": 2, "invoice": None}]}
        ],
    }  # fmt: skip
    (tmp_path / "state.json").write_text(json.dumps(state))
    return tmp_path


def preview(run: Path, out: Path) -> tuple[int, str]:
    args = ["emails", "preview", "payment_failed", "--from", str(run), "--out", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, flat(done.output)


def test_a_declined_instalment_is_previewed_as_its_instalment_email(
    run: Path, tmp_path: Path
) -> None:
    code, said = preview(run, tmp_path / "previews")

    assert code == 0, said
    text = (tmp_path / "previews" / "payment_failed.en.txt").read_text()
    assert "instalment 1 of 2" in text and "Laptop" in text


def test_an_out_that_is_a_file_is_an_error_and_the_file_is_kept(run: Path, tmp_path: Path) -> None:
    target = tmp_path / "previews"
    target.write_text("not a folder")

    code, said = preview(run, target)

    assert code == 2 and flat(f"cannot write {target}") in said
    assert target.read_text() == "not a folder"
