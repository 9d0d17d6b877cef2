"""The items a renewal writes leave out what reads back the same without it (store/compact.py)
and still read back whole; items of the old shape, with every attribute, read as before.

Each old shape below is an item as the store wrote it before (attributes as `from_item`
gives them, keys left out), copied from a renewal bench's table."""

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.customers import Contact
from tenure.domain.invoices import (
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RefundStatus,
)
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, invoice_copy, subscription_copy
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.ports import Commit
from tenure.store import codec
from tenure.store.compact import compact, with_repeats, without_repeats

T = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
ISO = "2026-01-01T00:00:00+00:00"
FEB, MAR = "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"

OLD_SUBSCRIPTION: dict[str, Any] = {
    "id": "sub_r00000",
    "customer_id": "cus_r00000",
    "plan_id": "basic",
    "currency": "USD",
    "status": "active",
    "cancel_at_period_end": False,
    "cancel_reason": None,
    "timezone": "UTC",
    "payment_method": "pm_card_visa",
    "provider_customer_id": "cus_b0502cb9af4e27394f339f86",
    "created_at": ISO,
    "anchor": ISO,
    "current_period_start": FEB,
    "current_period_end": MAR,
    "trial_end": None,
    "canceled_at": None,
    "paused_at": None,
    "paused_until": None,
    "incomplete_expires_at": None,
    "periods_since_anchor": 1,
    "cycle": 1,
    "credit": 0,
    "mrr": 1000,
    "version": 3,
    "continuity_start": ISO,
    "contact": {"email": "cus_r00000@example.com", "name": "", "locale": "en", "timezone": "UTC"},
    "listed": True,
    "entity": "subscription",
}
OLD_INVOICE: dict[str, Any] = {
    "id": "in_sub_r00000_renewal_20260201T000000Z",
    "subscription_id": "sub_r00000",
    "customer_id": "cus_r00000",
    "kind": "renewal",
    "period_start": FEB,
    "period_end": MAR,
    "currency": "USD",
    "lines": [{"kind": "plan", "description": "basic (Feb)", "amount": 1000}],
    "total": 1000,
    "status": "paid",
    "created_at": FEB,
    "paid_at": FEB,
    "credit_applied": 0,
    "attempts": 1,
    "metadata": {},
    "failures": 0,
    "first_failed_at": None,
    "next_attempt_at": None,
    "dunning_ends_at": None,
    "amount_refunded": 0,
    "refunds": {},
    "refunded_total_seen": 0,
    "refunded_total_at": None,
    "disputed": False,
    "dispute_id": None,
    "dispute_status": None,
    "dispute_at": None,
    "number": "INV-2026-000003",
    "version": 2,
    "entity": "invoice",
}
OLD_CHARGE: dict[str, Any] = {
    "id": "ch_in_sub_r00000_renewal_20260201T000000Z_1",
    "invoice_id": "in_sub_r00000_renewal_20260201T000000Z",
    "subscription_id": "sub_r00000",
    "customer_id": "cus_r00000",
    "attempt": 1,
    "amount": 1000,
    "currency": "USD",
    "at": FEB,
    "status": "settled",
    "outcome": "succeeded",
    "decline_code": None,
    "payment_id": "pi_3e5037c3b3469f6873bcdcac",
    "idempotency_key": "charge:in_sub_r00000_renewal_20260201T000000Z:1",
    "lease_until": None,
    "calls": 1,
    "payment_method": "pm_card_visa",
    "provider_customer": "cus_b0502cb9af4e27394f339f86",
    "version": 2,
    "entity": "charge",
}
OLD_NOTICE: dict[str, Any] = {
    "id": "sub_r00000:upcoming_renewal:2026-03-01T00:00:00Z:3",
    "kind": "upcoming_renewal",
    "customer_id": "cus_r00000",
    "subscription_id": "sub_r00000",
    "due_at": "2026-02-26T09:00:00+00:00",
    "created_at": FEB,
    "status": "scheduled",
    "data": {"renews_at": "2026-03-01T00:00:00Z", "zone": "UTC", "lead_days": 3},
    "sent_at": None,
    "message_id": None,
    "reason": None,
    "contact": {"email": "cus_r00000@example.com", "name": "", "locale": "en", "timezone": "UTC"},
    "subscription": {
        "cancel_at_period_end": False,
        "timezone": "UTC",
        "created_at": ISO,
        "current_period_end": MAR,
        "mrr": 1000,
        "cycle": 1,
        "version": 3,
        "periods_since_anchor": 1,
        "continuity_start": ISO,
        "anchor": ISO,
        "currency": "USD",
        "id": "sub_r00000",
        "customer_id": "cus_r00000",
        "credit": 0,
        "plan_id": "basic",
        "current_period_start": FEB,
        "status": "active",
    },
    "version": 1,
    "entity": "notice",
}


def stored(attrs: dict[str, Any], version: int, entity: str) -> dict[str, Any]:
    """What a put adds to the attributes (DynamoRepository._versioned_put)."""
    return attrs | {"version": version, "entity": entity}


def no_nulls(attrs: dict[str, Any]) -> bool:
    return all(v is not None and (not isinstance(v, dict) or no_nulls(v)) for v in attrs.values())


# -- the helpers ------------------------------------------------------------------------------
def test_compact_leaves_out_nulls_and_defaults_of_the_same_type_only() -> None:
    attrs = {"a": None, "b": 0, "c": False, "d": 0, "e": "x", "f": {}}
    assert compact(attrs, {"b": 0, "c": False, "d": False, "f": {}}) == {"d": 0, "e": "x"}


def test_repeats_leave_a_copy_only_when_the_holder_says_the_same() -> None:
    holder = {"subscription_id": "sub_1", "customer_id": "cus_1"}
    names = {"id": "subscription_id", "customer_id": "customer_id"}
    copy = {"id": "sub_1", "customer_id": "cus_2", "plan_id": "basic"}
    slim = without_repeats(copy, holder, names)
    assert slim == {"customer_id": "cus_2", "plan_id": "basic"}  # cus_2 is not the holder's
    assert with_repeats(slim, holder, names) == copy
    assert with_repeats(copy, {}, names) == copy  # an old copy holds them all


# -- subscriptions ----------------------------------------------------------------------------
def test_an_old_subscription_item_and_its_new_shape_read_as_the_same_subscription() -> None:
    old = codec.subscription_from_attrs(OLD_SUBSCRIPTION)
    new_attrs = stored(codec.subscription_to_attrs(old), old.version, "subscription")
    assert codec.subscription_from_attrs(new_attrs) == old
    left_out = set(OLD_SUBSCRIPTION) - set(new_attrs)
    assert left_out == {
        "cancel_at_period_end",
        "cancel_reason",
        "trial_end",
        "canceled_at",
        "paused_at",
        "paused_until",
        "incomplete_expires_at",
        "credit",
        "timezone",
        "anchor",  # its created_at
    }
    assert new_attrs["contact"] == {"email": "cus_r00000@example.com"}
    assert (old.anchor, old.timezone, old.credit, old.contact) == (
        T,
        "UTC",
        0,
        Contact("cus_r00000@example.com"),
    )


def every_field_set_subscription() -> Subscription:
    """A subscription whose every field that may be left out differs from what an absent
    attribute reads as: one that did not come back would fail the round trip."""
    plan = Plan(id="basic", amount=1000, currency="USD", interval="month")
    sub = Subscription.subscribe("sub_1", "cus_1", plan, T - 40 * DAY)
    return replace(
        sub,
        status=SubscriptionStatus.PAST_DUE,
        anchor=T - 31 * DAY,
        periods_since_anchor=2,
        cycle=3,
        trial_end=T - 35 * DAY,
        cancel_at_period_end=True,
        canceled_at=T,
        cancel_reason="too_expensive",
        cancel_reason_text="words",
        words_on=("2026-01-01",),
        paused_at=T - DAY,
        paused_until=T + DAY,
        incomplete_expires_at=T + 2 * DAY,
        credit=250,
        mrr=1000,
        timezone="Asia/Tokyo",
        payment_method="pm_card_visa",
        provider_customer_id="cus_abc",
        provider="razorpay",
        contact=Contact("a@example.com", "Ana", "ru", "Europe/Moscow"),
        continuity_start=T - 30 * DAY,
        paused_seconds=60,
        points_pending=5,
        carried=7,
        plan_since=T - 3 * DAY,
        listed=True,
        version=4,
    )


def test_a_subscription_with_every_field_set_comes_back_whole() -> None:
    sub = every_field_set_subscription()
    plain = codec.subscription_from_attrs(
        stored(codec.subscription_to_attrs(replace(sub, version=0)), 0, "subscription")
    )
    attrs = stored(codec.subscription_to_attrs(sub), sub.version, "subscription")
    assert codec.subscription_from_attrs(attrs) == sub
    assert attrs["contact"] == {
        "email": "a@example.com",
        "name": "Ana",
        "locale": "ru",
        "timezone": "Europe/Moscow",
    }
    # The test's own guard: each field compact may leave out is set apart from its default.
    defaults = Subscription.subscribe(
        "sub_1", "cus_1", Plan(id="basic", amount=1000, currency="USD", interval="month"), T
    )
    for name in ("cycle", "periods_since_anchor", "credit", "timezone", "cancel_at_period_end"):
        assert getattr(sub, name) != getattr(defaults, name), name
    assert sub.anchor != sub.created_at and plain == replace(sub, version=0)


def test_a_new_subscription_item_holds_no_nulls_nor_defaults() -> None:
    plan = Plan(id="basic", amount=1000, currency="USD", interval="month")
    sub = Subscription.subscribe("sub_1", "cus_1", plan, T)
    attrs = codec.subscription_to_attrs(sub)
    assert no_nulls(attrs)
    assert not {"cycle", "periods_since_anchor", "credit", "timezone", "anchor"} & set(attrs)
    assert codec.subscription_from_attrs(attrs) == sub


# -- invoices ---------------------------------------------------------------------------------
def test_an_old_invoice_item_and_its_new_shape_read_as_the_same_invoice() -> None:
    old = codec.invoice_from_attrs(OLD_INVOICE)
    new_attrs = stored(codec.invoice_to_attrs(old), old.version, "invoice")
    assert codec.invoice_from_attrs(new_attrs) == old
    assert set(OLD_INVOICE) - set(new_attrs) == {
        "credit_applied",
        "metadata",
        "failures",
        "first_failed_at",
        "next_attempt_at",
        "dunning_ends_at",
        "amount_refunded",
        "refunds",
        "refunded_total_seen",
        "refunded_total_at",
        "disputed",
        "dispute_id",
        "dispute_status",
        "dispute_at",
    }
    assert new_attrs["total"] == 1000  # kept in the invoice's own item
    assert no_nulls(new_attrs)


def every_field_set_invoice() -> Invoice:
    invoice = Invoice(
        id="in_1",
        subscription_id="sub_1",
        customer_id="cus_1",
        kind=InvoiceKind.RENEWAL,
        period_start=T,
        period_end=T + 31 * DAY,
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000), InvoiceLine(LineKind.PLAN, "Tax", 80)],
        status=InvoiceStatus.OPEN,
        created_at=T,
        credit_applied=20,
        attempts=2,
        metadata={"provider_payment": "pi_1"},
        failures=1,
        first_failed_at=T + DAY,
        next_attempt_at=T + 2 * DAY,
        dunning_ends_at=T + 9 * DAY,
        version=3,
        unused_credited=300,
        unused_to_balance=200,
        refunds_netted=400,
        credit_kept_by_id=True,
    )
    invoice.record_refund("re_1", 400, RefundStatus.SUCCEEDED, T + DAY)
    invoice.record_refunded_total(400, T + DAY)
    invoice.record_dispute("dp_1", DisputeStatus.WON, T + 2 * DAY)
    return invoice


def test_an_invoice_with_every_field_set_comes_back_whole() -> None:
    invoice = every_field_set_invoice()
    attrs = stored(codec.invoice_to_attrs(invoice), invoice.version, "invoice")
    assert codec.invoice_from_attrs(attrs) == invoice
    for name in ("credit_applied", "attempts", "failures", "amount_refunded", "disputed"):
        assert name in attrs, name  # not at their defaults: written
    for name in ("unused_credited", "unused_to_balance", "refunds_netted", "credit_kept_by_id"):
        assert name in attrs, name


# -- charges ----------------------------------------------------------------------------------
def test_an_old_charge_item_and_its_new_shape_read_as_the_same_charge() -> None:
    old = codec.charge_from_attrs(OLD_CHARGE)
    new_attrs = stored(codec.charge_to_attrs(old), old.version, "charge")
    assert codec.charge_from_attrs(new_attrs) == old
    assert set(OLD_CHARGE) - set(new_attrs) == {"decline_code", "lease_until"}
    assert new_attrs["idempotency_key"] == OLD_CHARGE["idempotency_key"]


def test_a_charge_with_every_field_set_or_none_comes_back_whole() -> None:
    full = Charge(
        "ch_1", "in_1", "sub_1", "cus_1", 2, 1000, "USD", T, ChargeStatus.SETTLED,
        ChargeOutcome.DECLINED, "card_declined", "pi_1", T + DAY, 3, 2, "pm_1", "cus_p",
        "razorpay",
    )  # fmt: skip
    assert all(getattr(full, f.name) not in (None, 0) for f in fields(Charge))
    assert codec.charge_from_attrs(stored(codec.charge_to_attrs(full), 2, "charge")) == full
    bare = Charge("ch_1", "in_1", "sub_1", "cus_1", 1, 1000, "USD", T)
    attrs = codec.charge_to_attrs(bare)
    assert no_nulls(attrs) and "calls" not in attrs
    assert codec.charge_from_attrs(attrs) == bare


# -- notices ----------------------------------------------------------------------------------
def test_an_old_notice_and_its_new_shape_read_as_the_same_notice() -> None:
    old = codec.notice_from_attrs(OLD_NOTICE)
    assert old.subscription is not None and old.subscription.id == "sub_r00000"
    new_attrs = stored(codec.notice_to_attrs(old), 1, "notice")
    assert codec.notice_from_attrs(new_attrs) == old
    assert not {"sent_at", "message_id", "reason"} & set(new_attrs)
    copied = new_attrs["subscription"]
    # What the notice says itself, and what reads back the same, is not said again.
    assert not {"id", "customer_id", "cancel_at_period_end", "timezone", "credit"} & set(copied)
    assert not {"anchor"} & set(copied)  # its created_at
    assert new_attrs["contact"] == {"email": "cus_r00000@example.com"}


def test_a_notice_with_copies_of_every_field_comes_back_whole() -> None:
    sub = subscription_copy(every_field_set_subscription(), 4)
    invoice = invoice_copy(every_field_set_invoice(), 3)
    notice = Notice(
        key="sub_1:upcoming_renewal:x:3",
        kind=NoticeKind.UPCOMING_RENEWAL,
        customer_id="cus_1",
        subscription_id="sub_1",
        due_at=T,
        created_at=T - DAY,
        status=NoticeStatus.SENT,
        data={"lead_days": 3},
        sent_at=T,
        message_id="m-1",
        reason="why",
        version=2,
        contact=Contact("a@example.com", "Ana", "ru", "Europe/Moscow"),
        subscription=sub,
        invoice=invoice,
    )
    attrs = stored(codec.notice_to_attrs(notice), 2, "notice")
    assert codec.notice_from_attrs(attrs) == notice
    assert "id" not in attrs["subscription"] and "customer_id" not in attrs["invoice"]


@pytest.mark.parametrize("which", ["subscription", "invoice"])
def test_a_copy_of_another_subscriptions_or_customers_keeps_its_own_ids(which: str) -> None:
    # A copy is left without an id only when the notice holds the same one.
    sub = subscription_copy(every_field_set_subscription(), 4)
    invoice = invoice_copy(every_field_set_invoice(), 3)
    notice = Notice(
        key="k",
        kind=NoticeKind.RECEIPT,
        customer_id="cus_other",
        subscription_id=None,
        due_at=T,
        created_at=T,
        subscription=sub if which == "subscription" else None,
        invoice=invoice if which == "invoice" else None,
    )
    attrs = codec.notice_to_attrs(notice)
    assert attrs[which]["customer_id"] == "cus_1"
    assert "subscription_id" not in attrs  # None: left out, read back as None
    assert codec.notice_from_attrs(stored(attrs, 0, "notice")) == notice


# -- what it is for: a renewal's items of real-length ids within one write unit ---------------
def test_a_renewals_notice_and_invoice_with_real_length_ids_fit_one_write_unit() -> None:
    from tenure.store.dynamodb import DynamoRepository
    from tenure.store.sizes import WRITE_UNIT_BYTES, item_size
    from tenure_local.bench.load import StagedTable

    # Ids as long as the API's and Stripe's (sub_/cus_/pm_ and 24 characters), the contact
    # a real one; the items a renewal writes for them (the next upcoming-renewal notice,
    # with its copies, and an invoice with discount, tax and seat lines).
    sub_id, customer = "sub_" + "a" * 24, "cus_" + "b" * 24
    plan = Plan(id="basic", amount=1000, currency="USD", interval="month")
    sub = Subscription.subscribe(sub_id, customer, plan, T)
    sub = replace(sub, payment_method="pm_" + "c" * 24, provider_customer_id="cus_" + "d" * 24)
    contact = Contact("ana.lopez.martinez@example.com", "Ana López", "es", "Europe/Madrid")
    due = T + 28 * DAY
    notice = Notice(
        key=f"{sub_id}:upcoming_renewal:2026-02-01T00:00:00Z:3",
        kind=NoticeKind.UPCOMING_RENEWAL,
        customer_id=customer,
        subscription_id=sub_id,
        due_at=due,
        created_at=T,
        data={"renews_at": "2026-02-01T00:00:00Z", "zone": "Europe/Madrid", "lead_days": 3},
        contact=contact,
        subscription=subscription_copy(replace(sub, cycle=5, periods_since_anchor=5), 7),
    )
    invoice = replace(every_field_set_invoice(), id=f"in_{sub_id}_renewal_20260201T000000Z")
    invoice = replace(
        invoice,
        subscription_id=sub_id,
        customer_id=customer,
        status=InvoiceStatus.PAID,
        metadata={},
        refunds={},
        lines=[
            InvoiceLine(LineKind.PLAN, "basic (2026-02-01T00:00:00Z – 2026-03-01T00:00:00Z)", 1000),
            InvoiceLine(LineKind.PLAN, "3 × seat (2026-02-01 – 2026-03-01)", 1500),
            InvoiceLine(LineKind.PLAN, "WELCOME20 (20% off)", -500),
            InvoiceLine(LineKind.PLAN, "VAT 21%", 420),
        ],
        amount_refunded=0,
        refunded_total_seen=0,
        refunded_total_at=None,
        disputed=False,
        dispute_id=None,
        dispute_status=None,
        dispute_at=None,
        failures=0,
        first_failed_at=None,
        next_attempt_at=None,
        dunning_ends_at=None,
        credit_applied=0,
        paid_at=T + 31 * DAY,
    )
    staged = StagedTable()
    DynamoRepository(staged, "t").commit(Commit(notices=[notice], invoices=[invoice]))
    sizes = {
        item["PK"]["S"].split("#")[0]: item_size(item)
        for item in staged.items.values()
        if item is not None and item["SK"]["S"] in ("NOTICE", "INV")
    }
    assert set(sizes) == {"NOTICE", "INV"}
    assert all(size <= WRITE_UNIT_BYTES for size in sizes.values()), sizes
