"""Reminder emails written from the copies their notice carries (the contact, the subscription):
sent without reads, and the same as when planned without them; a copy gone stale is read afresh."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import Shop
from test_reminders import (
    REAL,
    Died,
    RecordingMailer,
    dies_sending,
    fake_link,
    pay_two_renewals_late,
    plain_compose,
    run,
    send_now,
)

from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.notify.mailers import MailRejected
from tenure.services import subscriptions
from tenure.services.reminders import send_due, suppress_address


# -- emails written from the notice's copies ------------------------------------------------
class Reads:
    """Counts the reads a reminders run makes of the store, by method (of `names`)."""

    def __init__(self, repo: Any, names: tuple[str, ...]) -> None:
        self.counts: dict[str, int] = dict.fromkeys(names, 0)
        for name in names:
            setattr(repo, name, self._counting(name, getattr(repo, name)))

    def _counting(self, name: str, read: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return read(*args, **kwargs)

        return counted


RENEWAL_READS = ("get_customer", "get_subscription", "is_suppressed", "list_subscriptions")


def check_sent_the_same_without_copies(
    make_shop: Callable[..., Shop],
    notice_due: Callable[[Callable[..., Shop]], tuple[Shop, Notice]],
    copies: tuple[str, ...],
) -> None:
    """A notice planned before it carried `copies` (those fields None, as stored then) is
    sent byte for byte as the same notice planned with them: two shops, each brought to the
    notice's time by `notice_due`, one of them stripped of the copies."""
    with_copies, due = notice_due(make_shop)
    old_shape, _ = notice_due(make_shop)
    assert all(getattr(due, name) is not None for name in copies)  # there were copies to strip
    stored = old_shape.repo.notices[due.key]
    for name in copies:
        setattr(stored, name, None)
    mailers = RecordingMailer(), RecordingMailer()
    for shop, mailer in zip((with_copies, old_shape), mailers, strict=True):
        send_now(shop, mailer, REAL)
    (new,), (old,) = (m.sent for m in mailers)
    assert new.message.as_bytes() == old.message.as_bytes()


def _renewal_reminder_due(make_shop: Callable[..., Shop]) -> tuple[Shop, Notice]:
    """alice subscribed with a card; the clock at her upcoming-renewal reminder's time."""
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.subscribe()
    (due,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.UPCOMING_RENEWAL]
    earlier = send_now(shop, RecordingMailer())
    assert earlier.counts == {"sent": 1}  # the first invoice's receipt
    shop.clock.set(due.due_at)
    return shop, due


def test_a_renewal_reminder_with_copies_is_sent_without_reading_customer_or_subscription(
    make_shop: Callable[..., Shop],
) -> None:
    shop, due = _renewal_reminder_due(make_shop)
    assert due.contact is not None and due.subscription is not None
    reads = Reads(shop.repo, RENEWAL_READS)
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert report.counts["sent"] == 1 and len(mailer.sent) == 1
    assert reads.counts["get_customer"] == reads.counts["get_subscription"] == 0
    assert reads.counts["is_suppressed"] == 0
    sent = shop.repo.get_notice(due.key)
    assert sent is not None and sent.status is NoticeStatus.SENT
    assert shop.repo.has_marker(f"email:{due.key}")


def test_a_renewal_reminder_planned_before_copies_were_carried_is_sent_the_same(
    make_shop: Callable[..., Shop],
) -> None:
    check_sent_the_same_without_copies(
        make_shop, _renewal_reminder_due, ("contact", "subscription")
    )


def test_a_reminder_whose_customer_changed_since_it_was_planned_uses_the_stored_one(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _due = _renewal_reminder_due(make_shop)
    shop.repo.customers["alice"].name = "Alicia"  # changed without re-planning the email
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    (sent,) = mailer.sent
    assert report.counts["sent"] == 1
    assert "customer_name=Alicia" in sent.message.get_content()


def test_a_reminder_whose_subscription_changed_since_it_was_planned_is_decided_afresh(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _due = _renewal_reminder_due(make_shop)
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=True, reason="too_expensive")
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert mailer.sent == [] and report.counts["ends_at_period_end"] == 1


def test_a_reminder_to_an_address_suppressed_since_it_was_planned_is_not_sent(
    make_shop: Callable[..., Shop],
) -> None:
    shop, due = _renewal_reminder_due(make_shop)
    suppress_address(shop.svc, "Alice@Example.com", "complaint")
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert mailer.sent == [] and report.counts["suppressed"] == 1
    assert not shop.repo.has_marker(f"email:{due.key}")


def test_a_reminder_with_copies_that_ses_refuses_is_not_recorded_as_sent(
    make_shop: Callable[..., Shop],
) -> None:
    shop, due = _renewal_reminder_due(make_shop)
    mailer = RecordingMailer(fail=lambda who, kind: MailRejected("MessageRejected"))
    report = send_now(shop, mailer)
    assert report.counts["rejected"] == 1
    stored = shop.repo.get_notice(due.key)
    assert stored is not None and stored.status is NoticeStatus.FAILED
    assert stored.sent_at is None


def test_a_late_payers_reminder_with_copies_reads_the_record_once_and_plans_one_more(
    paid_shop: Shop,
) -> None:
    shop = paid_shop
    mailer = RecordingMailer()
    pay_two_renewals_late(shop, mailer)
    run(shop, datetime(2026, 5, 3, tzinfo=UTC), mailer)  # May's renewal plans June's email
    (june,) = [n for n in shop.repo.notices.values() if n.key.endswith("2026-06-02T09:00:00Z:3")]
    assert june.subscription is not None and june.subscription.version == shop.sub().version
    record_reads = []
    late_invoices = shop.repo.late_invoices
    shop.repo.late_invoices = lambda cid: record_reads.append(cid) or late_invoices(cid)  # type: ignore[method-assign]
    reads = Reads(shop.repo, RENEWAL_READS)
    shop.clock.set(june.due_at)
    june_mailer = RecordingMailer()  # June's reminder, and the receipt of May's late payment
    report = send_due(shop.svc, june_mailer, plain_compose, fake_link, june.due_at)
    assert sorted(s.kind for s in june_mailer.sent) == ["receipt", "upcoming_renewal"]
    assert report.counts == {"sent": 2}
    assert record_reads == ["alice"] and reads.counts["list_subscriptions"] == 0
    (follow,) = [n for n in shop.repo.notices.values() if n.data.get("late_payer")]
    assert follow.due_at == datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert follow.contact is not None and follow.subscription is not None


def test_a_customer_never_late_is_no_late_payer_without_a_read(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _due = _renewal_reminder_due(make_shop)
    shop.repo.late_invoices = lambda cid: pytest.fail("read the late-invoice record")  # type: ignore[method-assign]
    reads = Reads(shop.repo, RENEWAL_READS)
    report = send_now(shop, RecordingMailer())
    assert report.counts == {"sent": 1} and reads.counts["list_subscriptions"] == 0
    assert not [n for n in shop.repo.notices.values() if n.data.get("late_payer")]


def test_a_reminder_with_copies_whose_run_died_mid_send_is_never_sent_again(
    make_shop: Callable[..., Shop],
) -> None:
    shop, due = _renewal_reminder_due(make_shop)

    with pytest.raises(Died):
        send_now(shop, RecordingMailer(fail=dies_sending()))
    mailer = RecordingMailer()
    shop.clock.advance(timedelta(hours=1))
    report = send_now(shop, mailer)
    assert mailer.sent == [] and report.read == 0
    stored = shop.repo.get_notice(due.key)
    assert stored is not None and stored.status is NoticeStatus.SENDING
