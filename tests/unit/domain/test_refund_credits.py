"""Refunds the provider reports on its own are credited at the day's close, from what
settled by then (tenure.domain.credit_notes.credit_settled_refunds)."""

from datetime import UTC, datetime, timedelta

from tenure.domain.credit_notes import (
    CreditReason,
    credit_invoice,
    credit_refund,
    credit_settled_refunds,
)
from tenure.domain.due import DueKind
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RefundStatus,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CLOSE = datetime(2026, 3, 3, tzinfo=UTC)


def paid_invoice(total: int = 1000) -> Invoice:
    return Invoice(
        id="in_1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.FIRST,
        currency="USD",
        period_start=T0,
        period_end=T0 + timedelta(days=30),
        lines=[InvoiceLine(LineKind.PLAN, "Basic", total)],
        status=InvoiceStatus.PAID,
        created_at=T0,
    )


def test_a_reported_refund_schedules_the_next_close_and_keeps_a_sooner_one() -> None:
    invoice = paid_invoice()
    invoice.schedule_refund_credit(T0)
    assert invoice.next_due() == (CLOSE, DueKind.CREDIT)
    invoice.schedule_refund_credit(T0 + timedelta(days=2))
    assert invoice.credit_due_at == CLOSE


def test_the_close_credits_what_succeeded_in_one_note_and_not_what_is_pending() -> None:
    invoice = paid_invoice()
    invoice.record_refund("re_1", 200, RefundStatus.SUCCEEDED, T0)
    invoice.record_refund("re_2", 300, RefundStatus.SUCCEEDED, T0)
    invoice.record_refund("re_3", 100, RefundStatus.PENDING, T0)
    invoice.schedule_refund_credit(T0)
    note = credit_settled_refunds(invoice, CLOSE)
    assert note is not None
    assert (note.amount, note.reason, note.created_at) == (500, CreditReason.REFUND, CLOSE)
    assert (invoice.credited, invoice.refunds_credited, invoice.credit_due_at) == (500, 500, None)
    # The pending one succeeds later: the next close credits it alone
    invoice.record_refund("re_3", 100, RefundStatus.SUCCEEDED, T0 + timedelta(days=1))
    later = credit_settled_refunds(invoice, CLOSE + timedelta(days=1))
    assert later is not None and later.amount == 100


def test_a_refund_that_fails_after_its_note_takes_nothing_back_and_adds_nothing() -> None:
    invoice = paid_invoice()
    invoice.record_refund("re_1", 200, RefundStatus.SUCCEEDED, T0)
    assert credit_settled_refunds(invoice, CLOSE) is not None
    invoice.record_refund("re_1", 200, RefundStatus.FAILED, T0 + timedelta(days=1))
    assert credit_settled_refunds(invoice, CLOSE + timedelta(days=1)) is None
    assert (invoice.credit_notes, invoice.credited) == (1, 200)


def test_tenures_own_refund_credited_when_made_is_not_credited_again() -> None:
    invoice = paid_invoice()
    invoice.record_refund("re_own", 400, RefundStatus.PENDING, T0)
    assert credit_refund(invoice, 400, T0) is not None
    invoice.record_refund("re_own", 400, RefundStatus.SUCCEEDED, T0 + timedelta(hours=1))
    assert credit_settled_refunds(invoice, CLOSE) is None
    assert invoice.credited == 400


def test_an_adjustment_does_not_count_as_a_credited_refund_but_caps_the_note() -> None:
    invoice = paid_invoice(1000)
    credit_invoice(invoice, 900, CreditReason.ADJUSTMENT, T0)
    invoice.record_refund("re_1", 300, RefundStatus.SUCCEEDED, T0)
    note = credit_settled_refunds(invoice, CLOSE)
    assert note is not None and note.amount == 100  # all that is left to credit
    assert invoice.credited == 1000
