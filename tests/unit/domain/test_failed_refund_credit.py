"""A refund that fails after it was set against unused time (tenure.domain.unused_credit):
what its take-back took, or a pause's netting withheld, comes back once."""

from datetime import UTC, datetime, timedelta

from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RefundStatus,
)
from tenure.domain.unused_credit import credit_unused, give_back, take_back, withheld

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def paid(invoice_id: str = "in_1") -> Invoice:
    return Invoice(
        invoice_id, "sub-1", "alice", InvoiceKind.FIRST, T0, T0 + timedelta(days=31), "USD",
        [InvoiceLine(LineKind.PLAN, "Basic", 1000)], InvoiceStatus.PAID, T0,
    )  # fmt: skip


def test_a_failed_refund_gives_back_the_credit_its_take_back_took_once() -> None:
    invoice = paid()
    credit_unused([invoice], 900, 900, {})
    invoice.record_refund("re_1", 300, RefundStatus.PENDING, T0)
    assert take_back(invoice, 900, 300, kept=900) == 300

    invoice.record_refund("re_1", 300, RefundStatus.FAILED, T0 + timedelta(hours=1))

    assert give_back(invoice) == 300
    assert give_back(invoice) == 0  # taken once: nothing more
    assert (invoice.unused_credited, invoice.unused_to_balance) == (900, 900)
    assert (invoice.refunds_netted, invoice.credit_taken_back) == (0, 0)


def test_a_failed_refund_a_pause_netted_gives_back_what_the_pause_withheld() -> None:
    invoice = paid()
    invoice.record_refund("re_1", 300, RefundStatus.SUCCEEDED, T0)
    kept: dict[str, int] = {}
    credit_unused([invoice], 600, 600, kept, withheld([invoice], 900))
    assert (invoice.refunds_netted, invoice.credit_taken_back, kept) == (300, 300, {"in_1": 600})

    invoice.record_refund("re_1", 300, RefundStatus.FAILED, T0 + timedelta(hours=1))

    assert give_back(invoice) == 300
    assert (invoice.unused_credited, invoice.unused_to_balance) == (900, 900)


def test_a_pause_withholds_no_more_than_the_unused_time() -> None:
    invoice = paid()
    invoice.record_refund("re_1", 800, RefundStatus.SUCCEEDED, T0)

    assert withheld([invoice], 500) == 500
    assert withheld([invoice], 900) == 800


def test_a_refund_that_still_counts_gives_nothing_back() -> None:
    invoice = paid()
    credit_unused([invoice], 900, 900, {})
    invoice.record_refund("re_1", 300, RefundStatus.SUCCEEDED, T0)
    take_back(invoice, 900, 300, kept=900)

    assert give_back(invoice) == 0
    assert invoice.credit_taken_back == 300
