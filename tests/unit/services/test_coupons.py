"""Coupons through the use cases, on the fakes with the sandbox provider: the invoices each
covers, what is charged, and what MRR counts."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import T0, Shop

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.errors import ValidationFailedError
from tenure.domain.invoices import LineKind
from tenure.services import coupons, retention, subscriptions


def add_coupon(shop: Shop, coupon_id: str, duration: CouponDuration, **fields: Any) -> None:
    terms = fields.pop("terms", DiscountTerms(percent_off=Decimal(25)))
    coupons.create_coupon(
        shop.svc,
        Coupon(id=coupon_id, terms=terms, duration=duration, created_at=T0, **fields),
    )


def coupon_taken(shop: Shop) -> list[int]:
    """What the coupon line took off each invoice of sub-1, oldest first (0: no line)."""
    return [
        -sum(ln.amount for ln in inv.lines if ln.kind is LineKind.COUPON) for inv in shop.invoices()
    ]


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    shop = make_shop()
    shop.add_card("4242424242424242")
    return shop


def six_months(shop: Shop) -> None:
    shop.run_due(T0 + timedelta(days=160))


def test_a_repeating_coupon_covers_its_periods_and_then_stops(shop: Shop) -> None:
    add_coupon(shop, "three", CouponDuration.REPEATING, duration_in_periods=3)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="three")
    six_months(shop)
    assert coupon_taken(shop) == [250, 250, 250, 0, 0, 0]


def test_a_once_coupon_covers_one_invoice(shop: Shop) -> None:
    add_coupon(shop, "once", CouponDuration.ONCE)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="once")
    six_months(shop)
    assert coupon_taken(shop) == [250, 0, 0, 0, 0, 0]


def test_a_forever_coupon_covers_every_invoice(shop: Shop) -> None:
    add_coupon(shop, "always", CouponDuration.FOREVER)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="always")
    six_months(shop)
    assert coupon_taken(shop) == [250] * 6


def test_every_invoice_totals_its_lines_and_is_charged_that_total(shop: Shop) -> None:
    fixed = DiscountTerms(amount_off=300, currency="USD")
    add_coupon(shop, "three-off", CouponDuration.FOREVER, terms=fixed)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="three-off")
    six_months(shop)
    for invoice in shop.invoices():
        assert invoice.total == sum(ln.amount for ln in invoice.lines) == 700
        [charge] = shop.succeeded(invoice.id)
        assert charge.amount == invoice.total


def test_a_coupon_applied_mid_period_starts_with_the_next_invoice(shop: Shop) -> None:
    add_coupon(shop, "once", CouponDuration.ONCE)
    shop.subscribe()
    shop.clock.advance(timedelta(days=10))
    subscriptions.apply_coupon(shop.svc, "sub-1", "once")
    six_months(shop)
    assert coupon_taken(shop) == [0, 250, 0, 0, 0, 0]
    coupon = shop.repo.get_coupon("once")
    assert coupon is not None and coupon.times_redeemed == 1


def test_a_coupon_redeemed_in_a_trial_covers_the_first_paid_invoice(shop: Shop) -> None:
    add_coupon(shop, "once", CouponDuration.ONCE)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic-trial", coupon_id="once")
    six_months(shop)
    assert coupon_taken(shop)[:2] == [250, 0]


def test_mrr_counts_the_discounted_amount_and_the_coupons_end_as_expansion(shop: Shop) -> None:
    add_coupon(shop, "two", CouponDuration.REPEATING, duration_in_periods=2)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="two")
    assert shop.sub().mrr == 750
    six_months(shop)
    assert shop.sub().mrr == 1000
    ledger = shop.repo.ledger_between(T0, T0 + timedelta(days=400))
    assert [(e.before, e.after) for e in ledger] == [(0, 750), (750, 1000)]


def test_a_refused_coupon_leaves_no_subscription_and_no_redemption(shop: Shop) -> None:
    add_coupon(shop, "late", CouponDuration.ONCE, redeem_by=T0 + timedelta(seconds=1))
    shop.clock.advance(timedelta(seconds=2))  # past its redeem_by
    commits, provider_events = shop.repo.commits, len(shop.gateway.events)
    with pytest.raises(ValidationFailedError):
        subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="late")
    assert shop.repo.get_subscription("sub-1") is None
    assert shop.repo.commits == commits
    assert len(shop.gateway.events) == provider_events  # nothing asked of the provider


def test_a_coupon_no_one_could_redeem_is_refused_on_its_field(shop: Shop) -> None:
    commits = shop.repo.commits
    with pytest.raises(ValidationFailedError) as past:
        add_coupon(shop, "late", CouponDuration.ONCE, redeem_by=T0)
    with pytest.raises(ValidationFailedError) as unknown:
        add_coupon(shop, "gold-only", CouponDuration.ONCE, plans=("gold",))
    assert (past.value.field, unknown.value.field) == ("redeem_by", "plans")
    assert shop.repo.commits == commits and shop.repo.get_coupon("late") is None


def test_the_upcoming_renewal_email_previews_the_coupon(shop: Shop) -> None:
    from tenure.services.reminder_facts import preview_lines

    add_coupon(shop, "once", CouponDuration.ONCE)
    shop.subscribe()
    shop.clock.advance(timedelta(days=3))
    subscriptions.apply_coupon(shop.svc, "sub-1", "once")
    plan = shop.repo.get_plan("basic")
    assert plan is not None
    preview = preview_lines(shop.sub(), plan)
    assert [(ln.kind, ln.amount) for ln in preview] == [
        (LineKind.PLAN, 1000),
        (LineKind.COUPON, -250),
    ]


def test_the_monthly_metrics_count_what_coupons_took_off_paid_invoices(shop: Shop) -> None:
    add_coupon(shop, "two", CouponDuration.REPEATING, duration_in_periods=2)
    subscriptions.subscribe(shop.svc, "sub-1", "alice", "basic", coupon_id="two")
    shop.run_due(T0 + timedelta(days=70))
    first, last = T0.date(), (T0 + timedelta(days=70)).date()
    retention.backfill(shop.svc, first, last)
    doc = retention.metrics_document(shop.svc, first, last, "USD")
    by_month = {row["month"]: row["discounts"] for row in doc["monthly"]}
    # Paid on 2 March and 2 April; none in May, when the coupon had ended.
    assert by_month == {
        "2026-03": {"coupon": 250, "tenure": 0},
        "2026-04": {"coupon": 250, "tenure": 0},
        "2026-05": {"coupon": 0, "tenure": 0},
    }
    assert [row["mrr_end"] for row in doc["monthly"]] == [750, 750, 1000]
