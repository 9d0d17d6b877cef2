"""The invoice's refund and dispute facts: status precedence, whatever order they arrive in."""

from datetime import UTC, datetime, timedelta

from tenure.domain.invoices import (
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    OwedRefund,
    OwedRefundFailure,
    RefundStatus,
)
from tenure.store import codec

T = datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def invoice(status: InvoiceStatus = InvoiceStatus.PAID) -> Invoice:
    return Invoice(
        id="in_1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=T,
        period_end=T + timedelta(days=31),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)],
        status=status,
        created_at=T,
        paid_at=T if status is InvoiceStatus.PAID else None,
    )


def test_refunds_add_up_to_partial_then_full_and_never_beyond_the_total() -> None:
    paid = invoice()
    assert paid.refund_status == "none"
    paid.record_refund("re_1", 400, RefundStatus.SUCCEEDED, T)
    assert (paid.amount_refunded, paid.refund_status) == (400, "partial")
    paid.record_refund("re_2", 900, RefundStatus.PENDING, T + MINUTE)
    assert (paid.amount_refunded, paid.refund_status) == (1000, "full")
    assert paid.status is InvoiceStatus.PAID


def test_a_refund_status_only_moves_up_its_precedence() -> None:
    paid = invoice()
    assert paid.record_refund("re_1", 400, RefundStatus.FAILED, T + MINUTE)
    assert not paid.record_refund("re_1", 400, RefundStatus.SUCCEEDED, T + 2 * MINUTE)
    assert not paid.record_refund("re_1", 400, RefundStatus.PENDING, T)
    assert paid.amount_refunded == 0


def test_the_providers_total_counts_until_a_refund_fails_after_it() -> None:
    paid = invoice()
    paid.record_refunded_total(700, T + MINUTE)
    assert paid.amount_refunded == 700
    assert not paid.record_refunded_total(500, T)  # older: ignored
    paid.record_refund("re_1", 300, RefundStatus.FAILED, T + 2 * MINUTE)
    assert paid.amount_refunded == 400


def test_a_lost_dispute_writes_off_a_paid_invoice_and_outranks_a_later_win() -> None:
    paid = invoice()
    assert paid.record_dispute("dp_1", DisputeStatus.NEEDS_RESPONSE, T)
    assert paid.disputed and paid.dispute_open
    assert paid.record_dispute("dp_1", DisputeStatus.LOST, T + MINUTE)
    assert paid.status is InvoiceStatus.UNCOLLECTIBLE and not paid.dispute_open
    assert not paid.record_dispute("dp_1", DisputeStatus.WON, T + 2 * MINUTE)
    assert not paid.record_dispute("dp_1", DisputeStatus.UNDER_REVIEW, T + 3 * MINUTE)


def test_an_open_dispute_pauses_an_open_invoices_dunning_and_a_lost_one_waits_for_payment() -> None:
    owed = invoice(InvoiceStatus.OPEN)
    owed.next_attempt_at = T + timedelta(days=3)
    owed.record_dispute("dp_1", DisputeStatus.UNDER_REVIEW, T)
    assert owed.next_due() is None
    owed.record_dispute("dp_1", DisputeStatus.LOST, T + MINUTE)
    assert owed.status is InvoiceStatus.OPEN
    owed.mark_paid(T + 2 * MINUTE)
    assert (owed.status, owed.paid_at) == (InvoiceStatus.UNCOLLECTIBLE, T + 2 * MINUTE)


def test_refunds_and_disputes_survive_the_store() -> None:
    paid = invoice()
    paid.record_refund("re_1", 400, RefundStatus.SUCCEEDED, T)
    paid.record_refunded_total(400, T)
    paid.record_dispute("dp_1", DisputeStatus.WON, T + MINUTE)
    back = codec.invoice_from_attrs(codec.invoice_to_attrs(paid))
    assert back == paid
    old = codec.invoice_to_attrs(invoice())
    for key in ("amount_refunded", "refunds", "disputed", "dispute_status", "dispute_at"):
        # Written before refunds and disputes existed (and, at their defaults, left out of
        # items since store/compact.py).
        old.pop(key, None)
    assert codec.invoice_from_attrs(old) == invoice()


def test_a_failed_owed_refund_is_settled_only_by_its_whole_amount_on_top_of_earlier_ones() -> None:
    paid = invoice()
    paid.record_refund("re_early", 200, RefundStatus.SUCCEEDED, T)  # refunded before the ask
    owed = OwedRefund(2, 800, "prorated", None, T, T, refunded_before=200)
    paid.refund_owed = owed.given_up(T + MINUTE, OwedRefundFailure.REFUSED)
    assert paid.next_due() is None  # failed: not tried again
    paid.record_refund("re_a", 500, RefundStatus.SUCCEEDED, T + 2 * MINUTE)
    assert not paid.settle_failed_refund() and paid.refund_owed is not None
    paid.record_refund("re_b", 300, RefundStatus.SUCCEEDED, T + 3 * MINUTE)
    assert paid.settle_failed_refund() and paid.refund_owed is None


def test_a_pending_owed_refund_is_never_settled_by_the_providers_reports() -> None:
    paid = invoice()
    paid.refund_owed = OwedRefund(1, 1000, "full", None, T, T + MINUTE)
    paid.record_refund("re_1", 1000, RefundStatus.SUCCEEDED, T)
    assert not paid.settle_failed_refund() and paid.refund_owed is not None
