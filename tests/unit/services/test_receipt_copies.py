"""Receipts written from the notice's copies: the invoice as the paying change stored it and
the customer's contact, checked by the claim; a copy gone stale is written from fresh reads."""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from conftest import Shop
from test_reminder_copies import Reads, check_sent_the_same_without_copies
from test_reminders import REAL, RecordingMailer, receipt_of, send_now

from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import InvoiceLine, LineKind
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.ports import Commit
from tenure.services.reminders import suppress_address

RECEIPT_READS = ("get_customer", "get_invoice", "get_subscription", "get_plan", "is_suppressed")


def _receipt_due(make_shop: Callable[..., Shop]) -> tuple[Shop, Notice]:
    """alice paid her first invoice; the clock at her receipt's time."""
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.subscribe()
    receipt = receipt_of(shop, "alice")
    shop.clock.set(receipt.due_at)
    return shop, receipt


def test_a_receipt_carries_its_invoice_as_stored_and_the_contact(
    make_shop: Callable[..., Shop],
) -> None:
    shop, receipt = _receipt_due(make_shop)
    invoice = shop.repo.get_invoice(str(receipt.data["invoice_id"]))
    assert invoice is not None and receipt.invoice is not None
    assert receipt.contact == shop.repo.customers["alice"].contact
    assert receipt.invoice.version == invoice.version  # the version its change stored
    assert receipt.invoice.number == invoice.number is not None
    assert receipt.invoice.lines == invoice.lines


def test_a_receipt_with_copies_is_sent_without_reading_anything(
    make_shop: Callable[..., Shop],
) -> None:
    shop, receipt = _receipt_due(make_shop)
    reads = Reads(shop.repo, RECEIPT_READS)
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert report.counts["sent"] == 1 and len(mailer.sent) == 1
    assert reads.counts == dict.fromkeys(RECEIPT_READS, 0)
    sent = shop.repo.get_notice(receipt.key)
    assert sent is not None and sent.status is NoticeStatus.SENT
    assert (sent.contact, sent.invoice) == (None, None)  # not kept once claimed
    assert shop.repo.has_marker(f"email:{receipt.key}")


def test_a_receipt_planned_before_copies_were_carried_is_sent_the_same(
    make_shop: Callable[..., Shop],
) -> None:
    check_sent_the_same_without_copies(make_shop, _receipt_due, ("contact", "invoice"))


def test_a_receipt_whose_invoice_changed_since_it_was_planned_is_written_from_the_stored_one(
    make_shop: Callable[..., Shop],
) -> None:
    shop, receipt = _receipt_due(make_shop)
    invoice = shop.repo.get_invoice(str(receipt.data["invoice_id"]))
    assert invoice is not None and receipt.invoice is not None
    invoice.lines = [
        InvoiceLine(LineKind.CREDIT, "Goodwill", line.amount) for line in invoice.lines
    ]
    shop.repo.commit(Commit(invoices=[invoice]))  # the copy's version is no longer stored
    mailer = RecordingMailer()
    report = send_now(shop, mailer, REAL)
    (sent,) = mailer.sent
    assert report.counts["sent"] == 1
    assert "Goodwill" in str(sent.message.get_body(("plain",)))
    assert all(line.description != "Goodwill" for line in receipt.invoice.lines)


def test_a_receipt_whose_customer_changed_since_it_was_planned_goes_to_the_stored_address(
    make_shop: Callable[..., Shop],
) -> None:
    shop, receipt = _receipt_due(make_shop)
    assert receipt.contact is not None and receipt.contact.email == "alice@example.com"
    shop.repo.customers["alice"].email = "alice@new.example"  # changed without re-planning
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    (sent,) = mailer.sent
    assert report.counts["sent"] == 1 and sent.message["To"] == "alice@new.example"


def test_a_receipt_with_copies_to_an_address_suppressed_since_is_not_sent(
    make_shop: Callable[..., Shop],
) -> None:
    shop, receipt = _receipt_due(make_shop)
    assert receipt.contact is not None and receipt.invoice is not None
    suppress_address(shop.svc, "Alice@Example.com", "complaint")
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert mailer.sent == [] and report.counts["suppressed"] == 1
    closed = shop.repo.get_notice(receipt.key)
    assert closed is not None
    assert (closed.status, closed.reason) == (NoticeStatus.SUPPRESSED, "suppressed")
    assert not shop.repo.has_marker(f"email:{receipt.key}")


def test_a_renewals_receipt_carries_the_contact_its_settle_step_held(
    make_shop: Callable[..., Shop],
) -> None:
    shop, first = _receipt_due(make_shop)
    send_now(shop, RecordingMailer())
    sub = shop.repo.subscriptions["sub-1"]
    shop.run_due(sub.current_period_end + timedelta(hours=1))  # renewed, no email sent yet
    (renewal,) = [
        n
        for n in shop.repo.list_notices("alice")
        if n.kind is NoticeKind.RECEIPT and n.key != first.key
    ]
    assert renewal.invoice is not None and renewal.invoice.number is not None
    assert renewal.contact == shop.repo.customers["alice"].contact


def test_a_receipt_for_an_invoice_its_own_change_numbers_carries_no_copy(
    make_shop: Callable[..., Shop],
) -> None:
    shop, receipt = _receipt_due(make_shop)
    stored = shop.repo.get_invoice(str(receipt.data["invoice_id"]))
    assert stored is not None
    unnumbered = replace(stored, id="inv-new", number=None)  # paid in the change that numbers it
    alice = shop.repo.customers["alice"]
    paid = DomainEvent(
        EventType.INVOICE_PAID, "inv-new", "alice", shop.clock.now(), 0, {"total": 1000}
    )
    change = Commit(customers=[alice], invoices=[unnumbered], events=[paid])
    (planned,) = plan_notices(change, ReminderPolicy(), shop.clock.now())
    assert planned.kind is NoticeKind.RECEIPT
    assert (planned.contact, planned.invoice) == (None, None)
    change.invoices[0].number = "INV-2026-000099"  # numbered: now a copy would be whole
    (planned,) = plan_notices(change, ReminderPolicy(), shop.clock.now())
    assert planned.invoice is not None and planned.contact == alice.contact
