"""Refunds the provider reports and then reports failed, and two refunds of one amount on one
invoice: what a refund moved (the amount refunded, the unused-time credit it took back, the
points it reversed) goes back when it fails, exactly once and in any order, and two refunds
of the same amount always count as two."""

import copy
import itertools
from datetime import timedelta

import pytest
from webhooks_harness import T0, Shop, StripeEvent

from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.services import catalog, programs, subscriptions

UNUSED = round(1000 * 28 / 31)  # basic's 28 unused days of 31, three days in
CREDIT = UNUSED - round(100 * 28 / 31)  # what the downgrade to small leaves as credit
LOYALTY = {"loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1}}


def failed(created: StripeEvent, n: int, hours: float = 1) -> StripeEvent:
    """The provider's report that the refund `created` reported failed, `hours` later."""
    event = copy.deepcopy(created)
    event.update(id=f"evt_refund_failed_{n}", type="refund.failed")
    event["created"] = created["created"] + int(hours * 3600)
    event["data"]["object"]["status"] = "failed"
    return event


def downgraded(shop: Shop) -> str:
    """Alice paid basic (1000) and moved to small three days in: CREDIT held on sub-1,
    kept against the first invoice. Returns that invoice's id."""
    shop.add_card("4242424242424242")
    catalog.create_plan(
        shop.svc, Plan(id="small", name="Small", amount=100, currency="USD", interval="month")
    )
    invoice_id = shop.subscribe()
    shop.clock.set(T0 + timedelta(days=3))
    subscriptions.change_plan(shop.svc, "sub-1", "small")
    assert credit(shop) == CREDIT
    return invoice_id


def credit(shop: Shop) -> int:
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None
    return sub.credit


def refund_reports(shop: Shop, invoice_id: str, amount: int, key: str) -> list[StripeEvent]:
    """A dashboard refund of `amount`: its refund.created and charge.refunded, not delivered."""
    shop.refund(invoice_id, amount, key)
    return [shop.last("refund.created"), shop.last("charge.refunded")]


def test_a_refund_that_fails_gives_back_the_credit_it_took(shop: Shop) -> None:
    invoice_id = downgraded(shop)
    created, total = refund_reports(shop, invoice_id, 300, "dashboard-1")
    shop.deliver(created)
    shop.deliver(total)
    assert credit(shop) == CREDIT - 300

    shop.deliver(failed(created, 1))

    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 0
    assert credit(shop) == CREDIT
    assert (invoice.unused_credited, invoice.unused_to_balance) == (UNUSED, CREDIT)
    adjusted = [e["data"] for e in shop.repo.events if e["type"] == EventType.CREDIT_ADJUSTED]
    assert [a["amount"] for a in adjusted] == [-300, 300]
    assert adjusted[1]["refunded_invoice"] == invoice_id


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_failed_refund_leaves_the_credit_whole_in_any_order_and_redelivered(
    shop: Shop, order: tuple[int, ...]
) -> None:
    invoice_id = downgraded(shop)
    created, total = refund_reports(shop, invoice_id, 300, "dashboard-1")
    reports = [created, total, failed(created, 1)]

    for n in order + order:  # every report twice, the second round a redelivery
        shop.deliver(reports[n])

    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 0
    assert credit(shop) == CREDIT
    assert (invoice.unused_credited, invoice.unused_to_balance) == (UNUSED, CREDIT)


def test_a_refund_that_fails_gives_back_the_points_it_reversed(shop: Shop) -> None:
    programs.put_programs(shop.svc, Programs.model_validate(LOYALTY), 0)
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    created, total = refund_reports(shop, invoice_id, 500, "dashboard-1")
    shop.deliver(created)
    shop.deliver(total)
    assert shop.repo.get_points("alice").balance == 5

    shop.deliver(failed(created, 1))
    shop.deliver(failed(created, 1))  # a redelivery

    assert shop.repo.get_points("alice").balance == 10


def two_refunds_of_500(shop: Shop) -> tuple[str, list[StripeEvent]]:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    first = refund_reports(shop, invoice_id, 500, "dashboard-1")
    shop.clock.set(T0 + timedelta(hours=2))
    second = refund_reports(shop, invoice_id, 500, "dashboard-2")
    return invoice_id, first + second


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1), (1, 3, 0, 2)])
def test_two_refunds_of_the_same_amount_count_as_two_in_any_order(
    shop: Shop, order: tuple[int, ...]
) -> None:
    invoice_id, reports = two_refunds_of_500(shop)

    for n in order + order:
        shop.deliver(reports[n])

    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 1000
    assert sorted(r.amount for r in invoice.refunds.values()) == [500, 500]


def test_a_second_refund_of_the_amount_of_a_failed_one_gets_its_own_receipt(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    created, total = refund_reports(shop, invoice_id, 500, "dashboard-1")
    for report in (created, total, failed(created, 1)):
        shop.deliver(report)
    shop.clock.set(T0 + timedelta(hours=2))
    created, total = refund_reports(shop, invoice_id, 500, "dashboard-2")
    total["data"]["object"]["amount_refunded"] = 500  # the failed one no longer counts
    for report in (created, total):
        shop.deliver(report)

    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 500
    receipts = [n for n in shop.repo.notices.values() if n.kind == "refund_receipt"]
    assert len(receipts) == 2


def test_a_refund_a_pause_netted_gives_the_pause_its_credit_back_when_it_fails(
    shop: Shop,
) -> None:
    # Given a refund of 300 reported, then a pause three days in that netted it
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    created, total = refund_reports(shop, invoice_id, 300, "dashboard-1")
    shop.deliver(created)
    shop.deliver(total)
    shop.clock.set(T0 + timedelta(days=3))
    subscriptions.pause(shop.svc, "sub-1", until=None)
    assert credit(shop) == UNUSED - 300

    # When the provider reports the refund failed (twice)
    shop.deliver(failed(created, 1, hours=80))
    shop.deliver(failed(created, 1, hours=80))

    # Then the pause credits the whole unused time, kept against the invoice it came from
    assert credit(shop) == UNUSED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 0
    assert (invoice.unused_credited, invoice.unused_to_balance) == (UNUSED, UNUSED)
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.credit_kept == {invoice_id: UNUSED}


def test_a_refund_a_downgrade_netted_comes_back_as_credit_when_it_fails(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    catalog.create_plan(
        shop.svc, Plan(id="small", name="Small", amount=100, currency="USD", interval="month")
    )
    invoice_id = shop.subscribe()
    created, total = refund_reports(shop, invoice_id, 300, "dashboard-1")
    shop.deliver(created)
    shop.deliver(total)
    shop.clock.set(T0 + timedelta(days=3))
    subscriptions.change_plan(shop.svc, "sub-1", "small")
    assert credit(shop) == CREDIT - 300

    shop.deliver(failed(created, 1, hours=80))

    assert credit(shop) == CREDIT
