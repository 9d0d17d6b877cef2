"""Legal numbers on both stores: the in-memory fake and DynamoDB Local number invoices and
credit notes the same way, in the commit that finalizes them, without gaps or doubles."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.credit_notes import CreditReason, credit_invoice
from tenure.domain.errors import AlreadyExistsError
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.ports import Commit, Marker, Repository

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def an_invoice(n: int, at: datetime = T0, status: InvoiceStatus = InvoiceStatus.OPEN) -> Invoice:
    return Invoice(
        id=f"inv-{n}",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=at,
        period_end=at + timedelta(days=30),
        currency="EUR",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)],
        status=status,
        created_at=at,
    )


def stored(repo: Repository, invoice_id: str) -> Invoice:
    invoice = repo.get_invoice(invoice_id)
    assert invoice is not None
    return invoice


def test_invoices_are_numbered_in_the_order_they_are_finalized(repo: Repository) -> None:
    repo.commit(Commit(invoices=[an_invoice(2)]))
    repo.commit(Commit(invoices=[an_invoice(1), an_invoice(3)]))
    numbers = [stored(repo, f"inv-{n}").number for n in (2, 1, 3)]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]


def test_the_committed_invoice_carries_its_number_and_a_draft_gets_none(repo: Repository) -> None:
    invoice, draft = an_invoice(1), an_invoice(2, status=InvoiceStatus.DRAFT)
    repo.commit(Commit(invoices=[invoice, draft]))
    assert invoice.number == "INV-2026-000001"
    assert stored(repo, "inv-2").number is None


def test_a_draft_takes_its_number_when_it_is_finalized(repo: Repository) -> None:
    repo.commit(Commit(invoices=[an_invoice(1, status=InvoiceStatus.DRAFT)]))
    repo.commit(Commit(invoices=[an_invoice(2)]))
    draft = stored(repo, "inv-1")
    draft.status = InvoiceStatus.OPEN
    repo.commit(Commit(invoices=[draft]))
    assert stored(repo, "inv-1").number == "INV-2026-000002"


def test_a_voided_invoice_keeps_its_number_and_it_is_never_given_again(repo: Repository) -> None:
    repo.commit(Commit(invoices=[an_invoice(1)]))
    voided = stored(repo, "inv-1")
    voided.void()
    repo.commit(Commit(invoices=[voided]))
    repo.commit(Commit(invoices=[an_invoice(2)]))
    assert stored(repo, "inv-1").number == "INV-2026-000001"
    assert stored(repo, "inv-2").number == "INV-2026-000002"


def test_a_failed_commit_consumes_no_number(repo: Repository) -> None:
    repo.commit(Commit(invoices=[an_invoice(1)], markers=[Marker("once", T0)]))
    lost = an_invoice(2)
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(invoices=[lost], markers=[Marker("once", T0)]))
    assert lost.number is None and repo.get_invoice("inv-2") is None
    repo.commit(Commit(invoices=[an_invoice(3)]))
    assert stored(repo, "inv-3").number == "INV-2026-000002"


def test_each_year_starts_its_series_again_at_one(repo: Repository) -> None:
    repo.commit(Commit(invoices=[an_invoice(1, datetime(2026, 12, 31, 23, tzinfo=UTC))]))
    repo.commit(Commit(invoices=[an_invoice(2, datetime(2027, 1, 1, 1, tzinfo=UTC))]))
    repo.commit(Commit(invoices=[an_invoice(3, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))]))
    assert [stored(repo, f"inv-{n}").number for n in (1, 2, 3)] == [
        "INV-2026-000001",
        "INV-2027-000001",
        "INV-2026-000002",
    ]


def test_credit_notes_have_their_own_series_and_reference_their_invoice(
    repo: Repository,
) -> None:
    repo.commit(Commit(invoices=[an_invoice(1), an_invoice(2)]))
    invoice = stored(repo, "inv-2")
    first = credit_invoice(invoice, 300, CreditReason.ADJUSTMENT, T0)
    repo.commit(Commit(invoices=[invoice], credit_notes=[first]))
    again = stored(repo, "inv-2")
    second = credit_invoice(again, 700, CreditReason.REFUND, T0 + timedelta(hours=1))
    repo.commit(Commit(invoices=[again], credit_notes=[second]))

    notes = repo.list_credit_notes("inv-2")
    assert [(n.number, n.invoice_id, n.invoice_number, n.amount) for n in notes] == [
        ("CN-2026-000001", "inv-2", "INV-2026-000002", 300),
        ("CN-2026-000002", "inv-2", "INV-2026-000002", 700),
    ]
    credited = stored(repo, "inv-2")
    assert (credited.credit_notes, credited.credited) == (2, credited.total)
    assert sum(n.amount for n in notes) == credited.total
    assert repo.list_credit_notes("inv-1") == []
    assert credited.number == "INV-2026-000002"  # an update never renumbers


def test_the_same_credit_note_is_written_once(repo: Repository) -> None:
    repo.commit(Commit(invoices=[an_invoice(1)]))
    invoice = stored(repo, "inv-1")
    note = credit_invoice(invoice, 100, CreditReason.ADJUSTMENT, T0)
    repo.commit(Commit(credit_notes=[note]))
    twin = credit_invoice(stored(repo, "inv-1"), 100, CreditReason.ADJUSTMENT, T0)
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(credit_notes=[twin]))
    assert [n.number for n in repo.list_credit_notes("inv-1")] == ["CN-2026-000001"]
