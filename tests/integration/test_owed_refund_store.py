"""An owed refund on both repositories: kept whole with its invoice, and due work of its own
at its next try, until it is made."""

from datetime import UTC, datetime, timedelta

from tenure.domain.due import DueKind
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OwedRefund,
    OwedRefundFailure,
    OwedRefundStatus,
)
from tenure.ports import Commit, Repository

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def paid_invoice() -> Invoice:
    return Invoice(
        "in_1", "sub-1", "alice", InvoiceKind.FIRST, T0, T0 + timedelta(days=31), "USD", [],
        InvoiceStatus.PAID, T0, paid_at=T0,
    )  # fmt: skip


def test_an_owed_refund_reads_back_whole_and_is_due_at_its_next_try(repo: Repository) -> None:
    invoice = paid_invoice()
    repo.commit(Commit(invoices=[invoice]))
    assert [d for d in repo.due(T0 + timedelta(days=400))] == []
    stored = repo.get_invoice("in_1")
    assert stored is not None
    owed = OwedRefund(1, 1000, "full", "too_expensive", T0, T0 + timedelta(minutes=10), 2)
    stored.refund_owed = owed
    repo.commit(Commit(invoices=[stored]))

    again = repo.get_invoice("in_1")
    assert again is not None and again.refund_owed == owed
    assert repo.due(T0 + timedelta(minutes=9)) == []
    [due] = repo.due(T0 + timedelta(minutes=10))
    assert (due.entity_id, due.kind, due.due_at) == ("in_1", DueKind.REFUND, owed.next_try_at)


def test_an_invoice_whose_refund_was_made_is_no_longer_due(repo: Repository) -> None:
    invoice = paid_invoice()
    invoice.refund_owed = OwedRefund(1, 1000, "full", None, T0, T0)
    repo.commit(Commit(invoices=[invoice]))
    stored = repo.get_invoice("in_1")
    assert stored is not None and len(repo.due(T0)) == 1
    stored.refund_owed = None
    repo.commit(Commit(invoices=[stored]))
    assert repo.due(T0 + timedelta(days=400)) == []
    reread = repo.get_invoice("in_1")
    assert reread is not None and reread.refund_owed is None


def test_an_owed_refund_whose_tries_stopped_reads_back_failed_and_is_not_due(
    repo: Repository,
) -> None:
    invoice = paid_invoice()
    owed = OwedRefund(1, 1000, "full", None, T0, T0 + timedelta(hours=2), 5, refunded_before=300)
    invoice.refund_owed = owed.given_up(T0 + timedelta(hours=23), OwedRefundFailure.REFUSED)
    repo.commit(Commit(invoices=[invoice]))

    again = repo.get_invoice("in_1")
    assert again is not None and again.refund_owed == invoice.refund_owed
    assert again.refund_owed.status is OwedRefundStatus.FAILED
    assert repo.due(T0 + timedelta(days=400)) == []
