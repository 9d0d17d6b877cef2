"""Export and erasure of a customer's data (docs/privacy.md), on the in-memory store: the
same account taken through renewals, a cancellation in the customer's own words and an
operator's note, then exported and erased."""

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import Shop, card
from test_reminders import RecordingMailer, fake_link

from tenure.domain.customers import billing_details
from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.notices import NoticeStatus
from tenure.domain.privacy import pseudonym_email, scrub
from tenure.domain.webhooks_out import WebhookEndpoint
from tenure.notify.compose import Composer
from tenure.notify.mailers import forget_outbox_copies
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.ports import Commit
from tenure.services import cards, catalog, privacy, subscriptions, webhooks_out
from tenure.services import operator_actions as ops
from tenure.services.cancellation import request_cancel
from tenure.services.reminders import send_due

NAME, EMAIL = "Carol Liddell", "carol.liddell@example.com"
LEGAL_NAME, ADDRESS, TAX_ID = "Liddell Trading GmbH", "Hauptstr. 1\n10115 Berlin", "DE123456789"
WORDS = "Too dear for me since I moved to Leipzig"
OPERATOR_NOTE = "Carol phoned about her card"
PERSONAL = (NAME, EMAIL, LEGAL_NAME, "Hauptstr", TAX_ID, WORDS, OPERATOR_NOTE)


def carol(shop: Shop, *, cancel: bool = True) -> None:
    """Carol subscribes with billing details, is renewed twice, gets a credit with an
    operator's note, asks to leave in her own words and is canceled at period end."""
    billing = billing_details(LEGAL_NAME, ADDRESS, TAX_ID)
    catalog.create_customer(shop.svc, "carol", EMAIL, name=NAME, billing=billing)
    cards.update_payment_method(shop.svc, "carol", card("4242424242424242"), "sandbox", True)
    subscriptions.subscribe(shop.svc, "sub-carol", "carol", "basic")
    shop.repo.add_webhook_endpoint(
        WebhookEndpoint(
            id="we_1",
            url="https://app.example/hooks",
            events=("*",),
            secret="whsec_" + "a" * 32,
            created_at=shop.clock.now(),
        )
    )
    shop.run_due(shop.start + timedelta(days=40))
    ops.adjust_credit(shop.svc, "sub-carol", 100, actor="support-anna", note=OPERATOR_NOTE)
    if cancel:
        # A day later: a day on which no other record of hers points at the events' day.
        shop.clock.advance(timedelta(days=1))
        request_cancel(
            shop.svc, "sub-carol", at_period_end=True, reason="too_expensive", reason_text=WORDS
        )
        shop.run_due(shop.start + timedelta(days=70))
    for event in shop.repo.events:  # what the events stream hands to the webhooks dispatcher
        webhooks_out.fan_out(shop.svc, event, None)


def everything(shop: Shop) -> str:
    """The whole store as text: every record of every kind the repository keeps."""
    return repr(shop.repo.__dict__)


def erase(shop: Shop, customer: str = "carol") -> privacy.Erased:
    return privacy.erase_customer(shop.svc, customer, actor="dpo", note="GDPR request 42")


def test_an_export_holds_the_customers_records_of_every_kind(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    found = privacy.customer_records(shop.svc, "carol")
    assert found.customer.email == EMAIL
    assert [m.customer_id for m in found.payment_methods] == ["carol"]
    assert [s.id for s in found.subscriptions] == ["sub-carol"]
    assert len(found.invoices) == 2 and all(i.customer_id == "carol" for i in found.invoices)
    assert found.charges and found.notices and found.audit
    assert {e["customer_id"] for e in found.events} == {"carol"}
    assert {"CustomerCreated", "SubscriptionCanceled"} <= {e["type"] for e in found.events}
    assert found.deliveries and {d.endpoint_id for d in found.deliveries} == {"we_1"}


def test_an_export_of_an_unknown_customer_is_not_found(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    with pytest.raises(NotFoundError):
        privacy.customer_records(shop.svc, "nobody")


def test_an_erased_customers_personal_data_is_nowhere_in_the_store(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    assert all(text in everything(shop) for text in (NAME, EMAIL, WORDS, OPERATOR_NOTE))
    done = erase(shop)
    left = everything(shop)
    # The legal hold keeps what tax law requires; everything else has lost it.
    hold = shop.repo.get_legal_hold("carol")
    assert hold is not None
    without_hold = left.replace(repr(hold), "")
    assert [text for text in PERSONAL if text in without_hold] == []
    assert done.customer.email == pseudonym_email("carol")
    assert done.audit is not None and done.legal_hold


def test_an_erasure_keeps_the_buyers_details_of_numbered_invoices_in_the_legal_hold(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    numbers = [i.number for i in shop.repo.list_invoices("sub-carol") if i.number]
    erase(shop)
    hold = privacy.legal_hold(shop.svc, "carol")
    assert (hold.name, hold.address, hold.tax_id) == (LEGAL_NAME, ADDRESS, TAX_ID)
    assert list(hold.invoices) == numbers and numbers


def test_an_erasure_changes_no_invoice_amount_and_no_metric_input(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    invoices = {i.id: (i.total, i.number, i.status) for i in shop.repo.list_invoices("sub-carol")}
    ledger = copy.deepcopy(shop.repo.ledger)
    mrr = copy.deepcopy(shop.repo.customer_mrr)
    start, end = shop.start, shop.clock.now() + timedelta(days=1)
    kinds = [(e["type"], e["entity_id"]) for e in shop.repo.events_between(start, end)]
    erase(shop)
    after = {i.id: (i.total, i.number, i.status) for i in shop.repo.list_invoices("sub-carol")}
    assert after == invoices
    for invoice in shop.repo.list_invoices("sub-carol"):
        assert invoice.total == sum(line.amount for line in invoice.lines) > 0
    assert shop.repo.ledger == ledger and shop.repo.customer_mrr == mrr
    assert [(e["type"], e["entity_id"]) for e in shop.repo.events_between(start, end)] == kinds


def test_a_second_erasure_changes_nothing(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    carol(shop)
    erase(shop)
    before = everything(shop)
    again = erase(shop)
    assert again.audit is None and again.legal_hold
    assert everything(shop) == before


def test_the_erased_customer_handed_back_is_the_version_stored(
    make_shop: Callable[..., Shop],
) -> None:
    """The store moves a committed customer's version itself; the erasure moved it once more,
    so a caller writing the customer it was handed back would have been refused as stale."""
    shop = make_shop()
    carol(shop)
    done = erase(shop)
    stored = shop.repo.get_customer("carol")
    assert stored is not None and done.customer.version == stored.version


def test_an_unknown_customer_cannot_be_erased(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    with pytest.raises(NotFoundError):
        erase(shop, "nobody")


def test_an_erasure_needs_a_note_and_writes_nothing_without_one(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    before = everything(shop)
    with pytest.raises(ValidationFailedError):
        privacy.erase_customer(shop.svc, "carol", actor="dpo", note=None)
    assert everything(shop) == before


def test_a_customer_with_a_live_subscription_is_not_erased_and_nothing_changes(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop, cancel=False)
    before = everything(shop)
    with pytest.raises(IllegalTransitionError, match="cancel it first"):
        erase(shop)
    assert everything(shop) == before


def test_emails_still_owed_are_dropped_and_none_is_ever_sent_again(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop, cancel=False)
    subscriptions.cancel(shop.svc, "sub-carol", False, "too_expensive")
    owed = [n for n in shop.repo.list_notices("carol") if n.status is NoticeStatus.SCHEDULED]
    assert owed, "the cancellation leaves an email owed"
    erase(shop)
    statuses = {n.key: n.status for n in shop.repo.list_notices("carol")}
    assert all(statuses[n.key] is NoticeStatus.SKIPPED for n in owed)
    mailer = RecordingMailer()
    compose = Composer("billing@shop.example", "Shop")
    send_due(shop.svc, mailer, compose, fake_link, shop.clock.now() + timedelta(days=400))
    assert [s for s in mailer.sent if s.customer_id == "carol"] == []


def test_an_erased_customer_cannot_subscribe_or_take_a_card_and_nothing_changes(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    erase(shop)
    before = everything(shop)
    with pytest.raises(IllegalTransitionError, match="erased"):
        subscriptions.subscribe(shop.svc, "sub-carol-2", "carol", "basic")
    with pytest.raises(IllegalTransitionError, match="erased"):
        cards.update_payment_method(shop.svc, "carol", card("4242424242424242"), "sandbox", True)
    assert everything(shop) == before


@pytest.mark.parametrize("erased", [True, False])
def test_the_planner_plans_no_email_about_an_erased_customers_subscription(
    make_shop: Callable[..., Shop], erased: bool
) -> None:
    shop = make_shop()
    carol(shop)
    if erased:
        erase(shop)
    sub = shop.sub("sub-carol")
    ended = DomainEvent(
        EventType.SUBSCRIPTION_CANCELED, sub.id, "carol", shop.clock.now(), 9, {"reason": "x"}
    )
    planned = plan_notices(
        Commit(subscriptions=[sub], events=[ended]), ReminderPolicy(), ended.occurred_at
    )
    assert (planned == []) is erased


def test_a_reminder_written_from_copies_is_not_sent_to_an_erased_customer(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop, cancel=False)
    owed = [n for n in shop.repo.notices.values() if n.status is NoticeStatus.SCHEDULED]
    subscriptions.cancel(shop.svc, "sub-carol", False, "too_expensive")
    erase(shop)
    # A notice planned before the erasure, still carrying Carol's real contact (as one
    # written by a commit racing the erasure would): the customer's record stops it.
    for notice in owed:
        notice.status = NoticeStatus.SCHEDULED
        shop.repo.notices[notice.key] = notice
    mailer = RecordingMailer()
    compose = Composer("billing@shop.example", "Shop")
    send_due(shop.svc, mailer, compose, fake_link, shop.clock.now() + timedelta(days=400))
    assert [s for s in mailer.sent if s.customer_id == "carol"] == []
    # Stopped by the erasure itself, not only by the pseudonym being no address.
    due = [n for n in owed if n.due_at <= shop.clock.now() + timedelta(days=400)]
    assert due and {shop.repo.notices[n.key].reason for n in due} == {"customer_erased"}


def test_webhook_payloads_about_the_customer_lose_the_customers_words(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    carol(shop)
    found = privacy.customer_records(shop.svc, "carol")
    worded = [d for d in found.deliveries if WORDS in d.payload]
    assert worded, "the cancellation's event carries the customer's words"
    erase(shop)
    for delivery in worded:
        kept = shop.repo.get_webhook_delivery(delivery.id)
        assert kept is not None and WORDS not in kept.payload
        assert json.loads(kept.payload)["data"]["id"] == json.loads(delivery.payload)["data"]["id"]


def test_scrub_replaces_personal_text_at_any_depth_and_keeps_everything_else() -> None:
    data = {"reason_text": "mine", "amount": 5, "inner": [{"email": "a@b.co", "plan": "x"}]}
    assert scrub(data) == {
        "reason_text": "[erased]",
        "amount": 5,
        "inner": [{"email": "[erased]", "plan": "x"}],
    }


def test_forgetting_outbox_copies_takes_the_customers_files_only(tmp_path: Path) -> None:
    names = [
        "20260302T090000Z-carol-receipt.eml",
        "20260302T090000Z-carol-receipt-2.eml",
        "20260302T090000Z-carol-2-receipt.eml",  # customer "carol-2"
        "20260302T090000Z-carolyn-receipt.eml",
    ]
    for name in names:
        (tmp_path / name).write_text("x")
    assert forget_outbox_copies(tmp_path, "carol") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
    assert forget_outbox_copies(tmp_path / "missing", "carol") == 0
