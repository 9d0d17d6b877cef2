"""Legal numbers and credit notes in the domain: what numbers look like, what a note may take."""

from datetime import UTC, datetime

import pytest

from tenure.domain.credit_notes import CreditReason, credit_invoice, credit_refund
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from tenure.domain.numbering import NumberedKind, Numbering, numbering_year

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def paid_invoice(total: int = 1000, status: InvoiceStatus = InvoiceStatus.PAID) -> Invoice:
    return Invoice(
        id="inv-1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0,
        currency="EUR",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", total)],
        status=status,
        created_at=T0,
        number="INV-2026-000007",
    )


def test_one_series_numbers_read_prefix_year_and_six_digits() -> None:
    numbering = Numbering()
    assert numbering.format(NumberedKind.INVOICE, 0, 2026, 1) == "INV-2026-000001"
    assert numbering.format(NumberedKind.CREDIT_NOTE, 0, 2026, 42) == "CN-2026-000042"


def test_several_series_each_carry_their_own_letter() -> None:
    numbering = Numbering("ACME", "ACN", series=3, home=2)
    assert numbering.format(NumberedKind.INVOICE, 0, 2027, 5) == "ACME-A-2027-000005"
    assert numbering.format(NumberedKind.INVOICE, 2, 2027, 5) == "ACME-C-2027-000005"


def test_a_sequence_past_six_digits_grows_instead_of_wrapping() -> None:
    assert Numbering().format(NumberedKind.INVOICE, 0, 2026, 1234567) == "INV-2026-1234567"


@pytest.mark.parametrize(("series", "home"), [(0, 0), (27, 0), (4, 4), (4, -1)])
def test_a_numbering_without_a_real_home_series_is_refused(series: int, home: int) -> None:
    with pytest.raises(ValueError, match="series"):
        Numbering(series=series, home=home)


def test_a_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        Numbering().format(NumberedKind.INVOICE, 0, 2026, 0)


def test_the_series_year_is_the_year_the_document_was_finalized() -> None:
    assert numbering_year(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == 2026
    assert numbering_year(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == 2027


def test_a_credit_note_references_its_invoice_and_is_counted_on_it() -> None:
    invoice = paid_invoice()
    note = credit_invoice(invoice, 300, CreditReason.ADJUSTMENT, T0)
    assert (note.id, note.invoice_id, note.invoice_number) == (
        "cn_inv-1_1",
        "inv-1",
        "INV-2026-000007",
    )
    assert (note.amount, note.currency, note.number) == (300, "EUR", None)
    assert (invoice.credit_notes, invoice.credited) == (1, 300)


def test_credit_notes_never_sum_past_the_invoice_total() -> None:
    invoice = paid_invoice()
    credit_invoice(invoice, 600, CreditReason.ADJUSTMENT, T0)
    with pytest.raises(ValidationFailedError, match="400 left to credit"):
        credit_invoice(invoice, 401, CreditReason.ADJUSTMENT, T0)
    last = credit_invoice(invoice, 400, CreditReason.ADJUSTMENT, T0)
    assert (last.id, invoice.credited) == ("cn_inv-1_2", 1000)


@pytest.mark.parametrize("amount", [0, -5])
def test_a_credit_note_for_nothing_is_refused_and_changes_nothing(amount: int) -> None:
    invoice = paid_invoice()
    with pytest.raises(ValidationFailedError, match="positive amount"):
        credit_invoice(invoice, amount, CreditReason.ADJUSTMENT, T0)
    assert (invoice.credit_notes, invoice.credited) == (0, 0)


def test_a_draft_cannot_be_credited() -> None:
    invoice = paid_invoice(status=InvoiceStatus.DRAFT)
    with pytest.raises(IllegalTransitionError, match="draft"):
        credit_invoice(invoice, 100, CreditReason.ADJUSTMENT, T0)


def test_a_refund_is_credited_by_its_own_amount() -> None:
    invoice = paid_invoice()
    first = credit_refund(invoice, 250, T0)
    second = credit_refund(invoice, 750, T0)
    assert first is not None and second is not None
    assert [(n.amount, n.reason) for n in (first, second)] == [
        (250, CreditReason.REFUND),
        (750, CreditReason.REFUND),
    ]
    assert invoice.credited == invoice.total
    assert credit_refund(invoice, 1, T0) is None  # nothing is left to credit


def test_a_refund_after_an_adjustment_credits_only_what_is_left() -> None:
    invoice = paid_invoice()
    credit_invoice(invoice, 900, CreditReason.ADJUSTMENT, T0)
    note = credit_refund(invoice, 500, T0)
    assert note is not None and note.amount == 100
    assert invoice.credited == 1000


def test_a_refund_of_a_draft_issues_no_note() -> None:
    invoice = paid_invoice(status=InvoiceStatus.DRAFT)
    assert credit_refund(invoice, 100, T0) is None
    assert invoice.credit_notes == 0
