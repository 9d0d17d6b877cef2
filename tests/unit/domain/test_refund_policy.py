"""The refund policy: full within the window, then prorated to the second or nothing."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RefundStatus,
)
from tenure.domain.programs import AfterWindow, RefundPolicy
from tenure.domain.refunds import (
    RefundBasis,
    policy_refund,
    requested_refund,
    unused_share,
)

PAID = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 31, tzinfo=UTC)  # a 30-day period
FOURTEEN_PRORATED = RefundPolicy(window_days=14, after_window=AfterWindow.PRORATED)


def paid_invoice(total: int = 3000, status: InvoiceStatus = InvoiceStatus.PAID) -> Invoice:
    return Invoice(
        id="in_1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=PAID,
        period_end=END,
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", total)],
        status=status,
        created_at=PAID,
        paid_at=PAID if status is InvoiceStatus.PAID else None,
    )


def test_a_refund_on_day_13_of_a_14_day_window_is_full() -> None:
    assert policy_refund(paid_invoice(), FOURTEEN_PRORATED, PAID + timedelta(days=13)) == (
        3000,
        RefundBasis.FULL,
    )


def test_a_refund_on_the_last_second_of_the_window_is_still_full() -> None:
    at = PAID + timedelta(days=14)
    assert policy_refund(paid_invoice(), FOURTEEN_PRORATED, at)[1] is RefundBasis.FULL


def test_a_refund_on_day_20_is_the_unused_share_of_the_period_to_the_second() -> None:
    at = PAID + timedelta(days=20, seconds=1)
    left = (END - at).total_seconds()
    whole = (END - PAID).total_seconds()
    expected = int(Fraction(3000) * Fraction(int(left), int(whole)) + Fraction(1, 2))
    amount, basis = policy_refund(paid_invoice(), FOURTEEN_PRORATED, at)
    assert basis is RefundBasis.PRORATED
    assert amount == expected == 1000  # 10 days less one second, rounded half up


def test_one_second_later_the_prorated_share_is_smaller() -> None:
    # 3,000,000 cents over the period makes a single second visible in the amount.
    big = paid_invoice(total=3_000_000)
    day20 = PAID + timedelta(days=20)
    first = policy_refund(big, FOURTEEN_PRORATED, day20)[0]
    later = policy_refund(big, FOURTEEN_PRORATED, day20 + timedelta(seconds=1))[0]
    assert first == 1_000_000
    assert later == 999_999  # 3,000,000 / 2,592,000 s is 1.157 per second


def test_after_the_window_a_none_policy_gives_nothing_back() -> None:
    policy = RefundPolicy(window_days=14, after_window=AfterWindow.NONE)
    assert policy_refund(paid_invoice(), policy, PAID + timedelta(days=15))[0] == 0


def test_without_a_policy_everything_left_is_refunded() -> None:
    assert policy_refund(paid_invoice(), None, PAID + timedelta(days=29))[0] == 3000


def test_a_prorated_refund_counts_what_was_refunded_already() -> None:
    invoice = paid_invoice()
    invoice.record_refund("re_1", 600, RefundStatus.SUCCEEDED, PAID)
    assert policy_refund(invoice, FOURTEEN_PRORATED, PAID + timedelta(days=20))[0] == 400


def test_a_named_amount_is_partial_unless_it_is_all_that_is_left() -> None:
    assert requested_refund(paid_invoice(), 1200) == (1200, RefundBasis.PARTIAL)
    assert requested_refund(paid_invoice(), 3000) == (3000, RefundBasis.FULL)


def test_a_refund_over_what_was_paid_is_refused_on_amount() -> None:
    with pytest.raises(ValidationFailedError) as refused:
        requested_refund(paid_invoice(), 3001)
    assert refused.value.field == "amount"


def test_an_unpaid_invoice_cannot_be_refunded() -> None:
    with pytest.raises(IllegalTransitionError, match="only a paid invoice"):
        policy_refund(paid_invoice(status=InvoiceStatus.OPEN), None, PAID)


def test_a_fully_refunded_invoice_cannot_be_refunded_again() -> None:
    invoice = paid_invoice()
    invoice.record_refund("re_1", 3000, RefundStatus.SUCCEEDED, PAID)
    with pytest.raises(IllegalTransitionError, match="nothing is left"):
        requested_refund(invoice, 1)


def test_the_unused_share_stays_between_nothing_and_all() -> None:
    invoice = paid_invoice()
    assert unused_share(invoice, PAID - timedelta(days=3)) == 1
    assert unused_share(invoice, END + timedelta(days=3)) == 0
