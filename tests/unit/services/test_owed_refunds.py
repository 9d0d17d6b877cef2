"""A refund a cancellation asks for is written as owed with the cancellation, so neither a
provider that does not answer nor a crash loses it: the schedule makes it later, under the
same key, and the provider refunds exactly once."""

import logging
from datetime import timedelta
from typing import Any

import pytest
from conftest import T0, Crash, Shop

from tenure.domain.due import DueKind
from tenure.domain.errors import IllegalTransitionError
from tenure.domain.events import EventType
from tenure.domain.invoices import OwedRefundFailure, OwedRefundStatus, RefundStatus
from tenure.domain.notices import NoticeKind
from tenure.domain.subscription import SubscriptionStatus
from tenure.payments.gateway import InvalidRequestError
from tenure.ports import Commit, DueMessage
from tenure.services import cancellation, refunds
from tenure.services.context import Services
from tenure.services.due import work_due


@pytest.fixture
def shop(paid_shop: Shop) -> Shop:
    return paid_shop


def invoice_id(shop: Shop) -> str:
    [invoice] = shop.invoices()
    return invoice.id


def receipts(shop: Shop) -> list[Any]:
    return [n for n in shop.repo.notices.values() if n.kind is NoticeKind.REFUND_RECEIPT]


def refunded_once(shop: Shop, paid: str) -> None:
    """One refund at the provider, under the invoice's first key, recorded once, one receipt."""
    [created] = shop.provider_refunds()
    assert created["request"]["idempotency_key"] == f"refund:{paid}:1"
    [made] = shop.repo.list_refunds(paid)
    assert made.provider_refund_id == created["data"]["object"]["id"]
    invoice = shop.invoice(paid)
    assert (invoice.amount_refunded, invoice.refund_owed) == (1000, None)
    assert len(receipts(shop)) == 1
    assert [
        d for d in shop.repo.due(shop.clock.now() + timedelta(days=400)) if d.entity_id == paid
    ] == []


class DiesAfterRefund:
    """The provider refunds, then the process dies before it hears the answer's commit."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    def refund(self, **kwargs: Any) -> str:
        self.gateway.refund(**kwargs)
        raise Crash("after refund returned")


def test_a_refund_the_provider_does_not_answer_is_made_by_the_schedule_once(shop: Shop) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("timeout", on="refund")  # refunded, but the answer is lost

    done = cancellation.request_cancel(shop.svc, "sub-1", refund="full")

    assert done.refunds == [] and shop.sub().status is SubscriptionStatus.CANCELED
    owed = shop.invoice(paid).refund_owed
    assert owed is not None and (owed.amount, owed.number, owed.basis) == (1000, 1, "full")
    assert [d.kind for d in shop.repo.due(owed.next_try_at) if d.entity_id == paid] == [
        DueKind.REFUND
    ]
    shop.run_due(shop.clock.now() + timedelta(hours=1))
    refunded_once(shop, paid)


def test_a_provider_refusing_twice_is_tried_later_and_later_then_refunds_once(
    shop: Shop,
) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("rate_limit", times=2, on="refund")  # refused before any effect
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    asked = shop.clock.now()

    shop.run_due(asked + timedelta(minutes=45))  # the tries at once and at +20 min fail
    owed = shop.invoice(paid).refund_owed
    assert owed is not None and owed.tries == 2
    assert owed.next_try_at == asked + timedelta(minutes=20 + 40)
    assert shop.provider_refunds() == []

    shop.run_due(asked + timedelta(hours=2))
    refunded_once(shop, paid)


def test_a_crash_right_after_the_provider_refunded_is_finished_by_the_schedule(
    shop: Shop,
) -> None:
    paid = invoice_id(shop)
    dying = Services(shop.repo, shop.clock, DiesAfterRefund(shop.gateway), shop.svc.policy)

    with pytest.raises(Crash):
        cancellation.request_cancel(dying, "sub-1", refund="full")

    assert shop.sub().status is SubscriptionStatus.CANCELED  # committed before the refund
    assert len(shop.provider_refunds()) == 1 and shop.repo.list_refunds(paid) == []
    shop.run_due(shop.clock.now() + timedelta(hours=1))
    refunded_once(shop, paid)


def test_a_crash_before_the_cancellation_commits_refunds_nothing(shop: Shop) -> None:
    paid = invoice_id(shop)
    with pytest.raises(Crash):
        cancellation.request_cancel(shop.dying(before_commit=1), "sub-1", refund="full")

    assert shop.sub().status is SubscriptionStatus.ACTIVE
    assert shop.invoice(paid).refund_owed is None and shop.provider_refunds() == []


def test_two_workers_making_the_same_owed_refund_refund_once(shop: Shop) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("timeout", on="refund")
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    shop.clock.advance(timedelta(minutes=10))

    first = refunds.make_owed_refund(
        shop.interleaved(lambda: refunds.make_owed_refund(shop.svc, paid)), paid
    )

    assert first is not None
    refunded_once(shop, paid)


def test_a_refund_made_in_the_request_is_owed_no_more(shop: Shop) -> None:
    paid = invoice_id(shop)
    done = cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    assert [r.amount for r in done.refunds] == [1000]
    refunded_once(shop, paid)


def test_another_refund_of_the_invoice_waits_while_one_is_owed(shop: Shop) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("rate_limit", on="refund")
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    commits = shop.repo.commits

    with pytest.raises(IllegalTransitionError, match="still being made"):
        refunds.refund_invoice(shop.svc, paid, amount=100)

    assert shop.repo.commits == commits and shop.provider_refunds() == []


def test_past_the_keys_23_hours_the_tries_stop_and_say_so(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("rate_limit", times=1000, on="refund")
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")

    asked = shop.clock.now()
    with caplog.at_level(logging.ERROR):
        shop.run_due(asked + timedelta(hours=24))

    assert shop.provider_refunds() == []
    assert "owed refund given up" in caplog.text
    # The refund stays on the invoice as failed, no longer due, and an event says so.
    owed = shop.invoice(paid).refund_owed
    assert owed is not None and owed.status is OwedRefundStatus.FAILED
    assert owed.failure is OwedRefundFailure.UNANSWERED
    assert owed.failed_at is not None and owed.failed_at > asked + timedelta(hours=22)
    assert [d for d in shop.repo.due(asked + timedelta(days=400)) if d.entity_id == paid] == []
    [failed] = [e for e in shop.repo.events if e["type"] == EventType.INVOICE_REFUND_FAILED]
    assert failed["entity_id"] == paid
    assert {k: failed["data"][k] for k in ("refund", "amount", "currency", "failure")} == {
        "refund": refunds.refund_id(paid, 1),
        "amount": 1000,
        "currency": "USD",
        "failure": "provider_unanswered",
    }


class RefusesRefunds:
    """A provider that refuses every refund for good (the payment is refunded there already,
    say): the same request would be refused again."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    def refund(self, **kwargs: Any) -> str:
        raise InvalidRequestError("charge_already_refunded", code="charge_already_refunded")


def test_a_refund_the_provider_refuses_at_the_cancel_is_kept_as_failed(shop: Shop) -> None:
    paid = invoice_id(shop)
    refusing = Services(shop.repo, shop.clock, RefusesRefunds(shop.gateway), shop.svc.policy)

    done = cancellation.request_cancel(refusing, "sub-1", refund="full")

    assert done.refunds == [] and shop.sub().status is SubscriptionStatus.CANCELED
    owed = shop.invoice(paid).refund_owed
    assert owed is not None and (owed.status, owed.failure, owed.amount) == (
        OwedRefundStatus.FAILED,
        OwedRefundFailure.REFUSED,
        1000,
    )
    assert [
        e["data"]["failure"] for e in shop.repo.events if e["type"] == "InvoiceRefundFailed"
    ] == ["provider_refused"]


def test_the_schedule_counts_a_refund_whose_tries_stopped_as_given_up(shop: Shop) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("rate_limit", times=1000, on="refund")
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    shop.clock.advance(timedelta(hours=23, minutes=30))

    outcome = work_due(shop.svc, DueMessage(DueKind.REFUND, paid))

    assert outcome == refunds.RefundGivenUp(paid, OwedRefundFailure.UNANSWERED)
    # Worked again (a duplicate message), it is no longer owed work: nothing more happens.
    events = len(shop.repo.events)
    assert work_due(shop.svc, DueMessage(DueKind.REFUND, paid)) is None
    assert len(shop.repo.events) == events


def test_a_person_refunding_an_invoice_whose_owed_refund_failed_clears_it(shop: Shop) -> None:
    paid = invoice_id(shop)
    refusing = Services(shop.repo, shop.clock, RefusesRefunds(shop.gateway), shop.svc.policy)
    cancellation.request_cancel(refusing, "sub-1", refund="full")

    made = refunds.refund_invoice(shop.svc, paid, amount=1000, note="refunded by hand")

    assert made.amount == 1000
    after = shop.invoice(paid)
    assert (after.amount_refunded, after.refund_owed) == (1000, None)


def test_an_owed_refund_the_providers_webhook_recorded_first_is_recorded_once(
    shop: Shop,
) -> None:
    paid = invoice_id(shop)
    shop.gateway.fail_next("timeout", on="refund")
    cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    # The provider's refund.created for the refund the timeout hid, applied meanwhile.
    invoice = shop.invoice(paid)
    [created] = shop.provider_refunds()
    invoice.record_refund(created["data"]["object"]["id"], 1000, RefundStatus.SUCCEEDED, T0)
    shop.repo.commit(Commit(invoices=[invoice]))

    shop.run_due(shop.clock.now() + timedelta(hours=1))

    [made] = shop.repo.list_refunds(paid)
    assert made.provider_refund_id == created["data"]["object"]["id"]
    assert len(shop.provider_refunds()) == 1
    after = shop.invoice(paid)
    assert (after.amount_refunded, after.refund_owed) == (1000, None)
    ours = [e for e in shop.repo.events if e["type"] == EventType.INVOICE_REFUNDED]
    assert ours == []  # the webhook's own event stands for it (not made here by a commit)
