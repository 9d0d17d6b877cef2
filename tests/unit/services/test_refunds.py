"""Refunds through the use case, on the fakes with the sandbox provider: once, through the
provider with a deterministic key, recorded with the invoice and a receipt, and refused
with nothing changed when there is nothing (or not that much) to refund."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import T0, Shop

from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.invoices import RefundStatus
from tenure.domain.notices import NoticeKind
from tenure.domain.programs import AfterWindow, RefundPolicy
from tenure.domain.refunds import RefundBasis
from tenure.payments.gateway import ProviderUnavailableError
from tenure.ports import Commit
from tenure.services import refunds


@pytest.fixture
def shop(paid_shop: Shop) -> Shop:
    return paid_shop


def first_invoice(shop: Shop) -> str:
    [invoice] = shop.invoices()
    return invoice.id


def nothing_changed(shop: Shop, before: int, invoice_id: str) -> None:
    assert shop.repo.commits == before
    assert shop.invoice(invoice_id).amount_refunded == 0
    assert shop.repo.list_refunds(invoice_id) == []
    assert shop.repo.list_credit_notes(invoice_id) == []
    assert shop.provider_refunds() == []


def test_a_refund_goes_through_the_provider_under_the_invoices_refund_key(shop: Shop) -> None:
    invoice_id = first_invoice(shop)
    made = refunds.refund_invoice(shop.svc, invoice_id, amount=400, reason="duplicate")
    [created] = shop.provider_refunds()
    assert created["request"]["idempotency_key"] == f"refund:{invoice_id}:1"
    assert created["data"]["object"]["amount"] == 400
    assert made.provider_refund_id == created["data"]["object"]["id"]
    assert (made.amount, made.basis, made.reason) == (400, RefundBasis.PARTIAL, "duplicate")
    [charge] = shop.succeeded(invoice_id)
    assert made.charge_id == charge.id and made.payment_id == charge.payment_id


def test_a_refund_is_recorded_on_the_invoice_with_an_event_and_a_receipt(shop: Shop) -> None:
    invoice_id = first_invoice(shop)
    refunds.refund_invoice(shop.svc, invoice_id, amount=400)
    invoice = shop.invoice(invoice_id)
    assert (invoice.amount_refunded, invoice.refund_status) == (400, "partial")
    [event] = [e for e in shop.repo.events if e["type"] == EventType.INVOICE_REFUNDED]
    assert event["data"]["amount"] == 400 and event["data"]["policy"] == "partial"
    receipts = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.REFUND_RECEIPT]
    assert [n.data["amount_refunded"] for n in receipts] == [400]
    assert receipts[0].data["refunded_at"] == "2026-03-02T09:00:00Z"  # the email's date
    assert [r.id for r in shop.repo.list_refunds(invoice_id)] == [f"rf_{invoice_id}_1"]


def test_a_second_refund_takes_the_next_key_and_what_was_left(shop: Shop) -> None:
    invoice_id = first_invoice(shop)
    refunds.refund_invoice(shop.svc, invoice_id, amount=400)
    second = refunds.refund_invoice(shop.svc, invoice_id)
    assert (second.amount, second.basis) == (600, RefundBasis.FULL)
    keys = [e["request"]["idempotency_key"] for e in shop.provider_refunds()]
    assert keys == [f"refund:{invoice_id}:1", f"refund:{invoice_id}:2"]
    assert shop.invoice(invoice_id).refund_status == "full"


def test_each_refund_is_credited_by_a_numbered_note_that_references_its_invoice(
    shop: Shop,
) -> None:
    invoice_id = first_invoice(shop)
    refunds.refund_invoice(shop.svc, invoice_id, amount=400)
    refunds.refund_invoice(shop.svc, invoice_id)
    invoice = shop.invoice(invoice_id)
    notes = shop.repo.list_credit_notes(invoice_id)
    assert [(n.number, n.amount, str(n.reason)) for n in notes] == [
        ("CN-2026-000001", 400, "refund"),
        ("CN-2026-000002", 600, "refund"),
    ]
    assert {(n.invoice_id, n.invoice_number) for n in notes} == {(invoice_id, invoice.number)}
    assert invoice.number == "INV-2026-000001"
    assert sum(n.amount for n in notes) == invoice.credited == invoice.total


def test_a_refund_over_what_was_paid_is_refused_and_changes_nothing(shop: Shop) -> None:
    invoice_id, before = first_invoice(shop), shop.repo.commits
    with pytest.raises(ValidationFailedError) as refused:
        refunds.refund_invoice(shop.svc, invoice_id, amount=1001)
    assert refused.value.field == "amount"
    nothing_changed(shop, before, invoice_id)


def test_a_fully_refunded_charge_is_not_refunded_again(shop: Shop) -> None:
    invoice_id = first_invoice(shop)
    refunds.refund_invoice(shop.svc, invoice_id)
    before = shop.repo.commits
    with pytest.raises(IllegalTransitionError, match="nothing is left"):
        refunds.refund_invoice(shop.svc, invoice_id)
    assert shop.repo.commits == before
    assert len(shop.provider_refunds()) == 1


def test_an_unpaid_invoice_is_not_refunded(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    shop.add_card("4000000000000002")  # declined
    shop.subscribe()
    invoice_id, before = first_invoice(shop), shop.repo.commits
    with pytest.raises(IllegalTransitionError, match="only a paid invoice"):
        refunds.refund_invoice(shop.svc, invoice_id)
    nothing_changed(shop, before, invoice_id)


def test_an_unknown_invoice_is_not_found(shop: Shop) -> None:
    with pytest.raises(NotFoundError):
        refunds.refund_invoice(shop.svc, "in_nothing")


def test_a_policy_that_gives_nothing_back_refuses_a_refund_without_an_amount(
    shop: Shop,
) -> None:
    invoice_id = first_invoice(shop)
    shop.clock.advance(timedelta(days=20))
    before = shop.repo.commits
    policy = RefundPolicy(window_days=14, after_window=AfterWindow.NONE)
    with pytest.raises(ValidationFailedError, match="gives nothing back"):
        refunds.refund_invoice(shop.svc, invoice_id, policy=policy)
    nothing_changed(shop, before, invoice_id)
    made = refunds.refund_invoice(shop.svc, invoice_id, amount=100, policy=policy)
    assert made.basis is RefundBasis.PARTIAL  # a named amount is the operator's decision


def test_the_policy_refunds_day_13_in_full_and_day_20_prorated(
    make_shop: Callable[..., Shop],
) -> None:
    policy = RefundPolicy(window_days=14, after_window=AfterWindow.PRORATED)
    amounts = []
    for days in (13, 20):
        shop = make_shop()
        shop.add_card("4242424242424242")
        shop.subscribe()
        shop.clock.advance(timedelta(days=days))
        made = refunds.refund_invoice(shop.svc, first_invoice(shop), policy=policy)
        amounts.append((made.amount, made.basis))
    # March 2 to April 2 is 31 days; 11 of them are left on day 20.
    assert amounts == [(1000, RefundBasis.FULL), (355, RefundBasis.PRORATED)]


def test_two_racing_refunds_of_the_same_charge_refund_it_once(shop: Shop) -> None:
    invoice_id = first_invoice(shop)
    # B has read the invoice and asked the provider when A's whole refund runs and commits.
    first: list = []
    b = shop.interleaved(lambda: first.append(refunds.refund_invoice(shop.svc, invoice_id)))
    second = refunds.refund_invoice(b, invoice_id)
    assert second == first[0]
    assert len(shop.provider_refunds()) == 1
    assert len(shop.repo.list_refunds(invoice_id)) == 1
    assert shop.invoice(invoice_id).amount_refunded == 1000


def test_a_racing_refund_of_another_amount_is_refused_by_the_providers_key(shop: Shop) -> None:
    invoice_id = first_invoice(shop)
    refunds.refund_invoice(shop.svc, invoice_id, amount=300)
    stale = shop.invoice(invoice_id)
    stale.refunds.clear()  # read before the first refund was recorded: the same n, the same key
    with pytest.raises(IllegalTransitionError, match="another refund"):
        refunds._refund(shop.svc, stale, 500, RefundBasis.PARTIAL, None, None)
    assert len(shop.provider_refunds()) == 1
    assert shop.invoice(invoice_id).amount_refunded == 300


def test_a_provider_that_does_not_answer_leaves_nothing_written(shop: Shop) -> None:
    invoice_id, before = first_invoice(shop), shop.repo.commits

    def unavailable(**kwargs: object) -> str:
        raise ProviderUnavailableError("timeout")

    shop.svc.gateway.refund = unavailable  # type: ignore[method-assign,union-attr]
    with pytest.raises(ProviderUnavailableError):
        refunds.refund_invoice(shop.svc, invoice_id)
    assert shop.repo.commits == before
    assert shop.invoice(invoice_id).amount_refunded == 0


def test_a_refund_recorded_first_by_the_providers_webhook_is_not_made_twice(shop: Shop) -> None:
    invoice_id = first_invoice(shop)

    def webhook_first() -> None:
        # The provider's refund.created for the refund B just made, applied before B commits.
        invoice = shop.invoice(invoice_id)
        [created] = shop.provider_refunds()
        invoice.record_refund(created["data"]["object"]["id"], 1000, RefundStatus.SUCCEEDED, T0)
        shop.repo.commit(Commit(invoices=[invoice]))

    made = refunds.refund_invoice(shop.interleaved(webhook_first), invoice_id)
    assert len(shop.provider_refunds()) == 1
    assert shop.repo.list_refunds(invoice_id) == [made]
    assert shop.invoice(invoice_id).amount_refunded == 1000
