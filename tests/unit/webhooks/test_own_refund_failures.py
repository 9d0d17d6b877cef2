"""Refunds Tenure made itself (an amount asked of the API, a cancellation's refund) that the
provider later reports failed: what each took back (credit for unused time, points) comes
back once, whichever report says so, redelivered or racing itself, and the refund shows
failed in state.json."""

from datetime import timedelta
from typing import Any

import pytest
from test_provider_events import delivered_racing_itself
from test_refund_reversals import CREDIT, LOYALTY, credit, downgraded, failed
from webhooks_harness import Shop, StripeEvent

from tenure.domain.events import EventType
from tenure.domain.programs import Programs
from tenure.services import cancellation, programs, refunds
from tenure.services.provider_events import Applied


def refunded_by_tenure(shop: Shop, invoice_id: str, amount: int | None) -> StripeEvent:
    """Tenure refunds `amount` (None: what the policy gives) and hears the provider's
    reports of it; returns its refund.created."""
    refunds.refund_invoice(shop.svc, invoice_id, amount=amount)
    created = shop.last("refund.created")
    for report in (created, shop.last("charge.refunded")):
        assert shop.deliver(report) is not Applied.UNMATCHED
    return created


def updated_to(created: StripeEvent, status: str) -> StripeEvent:
    """Stripe's refund.updated of the refund `created` made, now at `status`."""
    updated = failed(created, 1)
    updated.update(type="refund.updated")
    updated["data"]["object"]["status"] = status
    return updated


@pytest.mark.parametrize("kind", ["refund.failed", "charge.refund.updated", "refund.updated"])
def test_a_tenure_refund_reported_failed_gives_back_its_credit_once(shop: Shop, kind: str) -> None:
    invoice_id = downgraded(shop)
    created = refunded_by_tenure(shop, invoice_id, 300)
    assert credit(shop) == CREDIT - 300
    report = failed(created, 1)
    report["type"] = kind

    assert shop.deliver(report) is Applied.APPLIED
    assert shop.deliver(report) is Applied.DUPLICATE

    assert credit(shop) == CREDIT
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 0
    [refund] = shop.state()["refunds"]
    assert refund["status"] == "failed"
    [note] = shop.state()["credit_notes"]
    assert (note["amount"], note["refund_status"]) == (300, "failed")


def test_a_tenure_refund_reported_failed_racing_itself_gives_back_once(shop: Shop) -> None:
    programs.put_programs(shop.svc, Programs.model_validate(LOYALTY), 0)
    invoice_id = downgraded(shop)
    points = shop.repo.get_points("alice").balance
    created = refunded_by_tenure(shop, invoice_id, None)
    assert credit(shop) < CREDIT and shop.repo.get_points("alice").balance < points

    results = delivered_racing_itself(shop, failed(created, 1))

    assert sorted(results) == sorted([Applied.APPLIED, Applied.DUPLICATE])
    assert credit(shop) == CREDIT
    assert shop.repo.get_points("alice").balance == points


def test_a_cancellations_refund_reported_failed_shows_failed(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    shop.clock.advance(timedelta(days=2))
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    created = shop.last("refund.created")
    for report in (created, shop.last("charge.refunded")):
        shop.deliver(report)
    assert [r["status"] for r in shop.state()["refunds"]] == ["succeeded"]

    shop.deliver(failed(created, 1))

    state: dict[str, Any] = shop.state()
    assert [r["status"] for r in state["refunds"]] == ["failed"]
    [invoice] = [i for i in state["invoices"] if i["id"] == invoice_id]
    assert invoice["amount_refunded"] == 0


def test_a_tenure_refund_reported_succeeded_shows_succeeded(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    created = refunded_by_tenure(shop, invoice_id, 300)

    shop.deliver(updated_to(created, "succeeded"))

    assert [r["status"] for r in shop.state()["refunds"]] == ["succeeded"]
    assert "refund_status" not in shop.state()["credit_notes"][0]


def test_a_tenure_refund_reported_failed_tells_the_business_once(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    created = refunded_by_tenure(shop, invoice_id, 300)
    [made] = shop.repo.list_refunds(invoice_id)
    updated = failed(created, 2)
    updated["type"] = "charge.refund.updated"

    for report in (failed(created, 1), updated, failed(created, 1)):  # two reports, one again
        shop.deliver(report)

    told = [e for e in shop.repo.events if e["type"] == EventType.INVOICE_REFUND_FAILED]
    assert len(told) == 1
    data = told[0]["data"]
    assert (data["refund"], data["amount"], data["failure"]) == (made.id, 300, "provider_failed")
    assert data["provider_refund_id"] == made.provider_refund_id


def test_a_dashboard_refund_reported_failed_is_not_told_as_tenures(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    shop.refund(invoice_id, 300, "dashboard-1")
    created = shop.last("refund.created")
    shop.deliver(created)

    shop.deliver(failed(created, 1))

    assert not [e for e in shop.repo.events if e["type"] == EventType.INVOICE_REFUND_FAILED]


def test_a_tenure_refund_reported_canceled_says_canceled_on_its_note(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    created = refunded_by_tenure(shop, invoice_id, 300)

    shop.deliver(updated_to(created, "canceled"))

    state = shop.state()
    assert [r["status"] for r in state["refunds"]] == ["canceled"]
    assert state["credit_notes"][0]["refund_status"] == "canceled"
