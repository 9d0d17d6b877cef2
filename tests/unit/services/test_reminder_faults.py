"""Reminder emails when things go wrong: unusable addresses, refusals, throttling, template
problems, errors and deaths around the claim; and planning that a retried commit does not
repeat."""

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import Shop
from test_reminders import (
    Died,
    RecordingMailer,
    customer,
    dies_sending,
    fake_link,
    plain_compose,
    receipt_of,
    send_now,
)

from tenure.domain.customers import Customer
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.notify.mailers import MailDeferred, MailRejected
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.ports import Commit
from tenure.services import subscriptions
from tenure.services.reminders import ComposeError, send_due, suppress_address


# -- bad input and faults -------------------------------------------------------------------------
def _due_receipts(make_shop: Callable[..., Shop]) -> Shop:
    """Three customers whose first payment succeeded: three receipts due at the next run."""
    shop = make_shop()
    for who in ("ann", "ben", "cat"):
        customer(shop, who)
        subscriptions.subscribe(shop.svc, f"sub-{who}", who, "basic")
    shop.clock.set(shop.start + timedelta(hours=1))
    return shop


def _set_email(shop: Shop, customer_id: str, email: str) -> None:
    stored = shop.repo.customers[customer_id]
    stored.email = email


@pytest.mark.parametrize(
    ("email", "reason"), [("", "no_email"), ("not an address", "malformed_email")]
)
def test_a_customer_without_a_usable_address_is_counted_and_blocks_no_one(
    make_shop: Callable[..., Shop], email: str, reason: str
) -> None:
    shop = _due_receipts(make_shop)
    _set_email(shop, "ben", email)
    mailer = RecordingMailer()
    report = send_due(
        shop.svc,
        mailer,
        plain_compose,
        fake_link,
        shop.clock.now(),
        valid_address=lambda a: "@" in a and " " not in a,
    )
    assert sorted(s.customer_id for s in mailer.sent) == ["ann", "cat"]
    assert report.counts["failed"] == 1 and report.counts["sent"] == 2
    notice = receipt_of(shop, "ben")
    assert (notice.status, notice.reason) == (NoticeStatus.FAILED, reason)
    assert not shop.repo.has_marker(f"email:{notice.key}")


def test_an_email_refused_by_ses_is_never_marked_sent(make_shop: Callable[..., Shop]) -> None:
    shop = _due_receipts(make_shop)
    refuse = lambda who, kind: MailRejected("MessageRejected") if who == "ben" else None  # noqa: E731
    mailer = RecordingMailer(fail=refuse)
    report = send_now(shop, mailer)
    assert sorted(s.customer_id for s in mailer.sent) == ["ann", "cat"]
    assert report.counts["rejected"] == 1
    receipt = receipt_of(shop, "ben")
    assert receipt.status is NoticeStatus.FAILED and receipt.sent_at is None


def test_throttling_defers_the_email_to_a_later_run_which_sends_it_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)
    throttled = {"on": True}
    mailer = RecordingMailer(
        fail=lambda who, kind: (
            MailDeferred("throttled") if throttled["on"] and who == "ben" else None
        )
    )
    first = send_now(shop, mailer)
    assert first.counts["throttled"] == 1
    receipt = receipt_of(shop, "ben")
    assert receipt.status is NoticeStatus.SCHEDULED and receipt.due_at > shop.clock.now()
    throttled["on"] = False
    shop.clock.set(receipt.due_at)
    send_now(shop, mailer)
    send_now(shop, mailer)
    assert [s.customer_id for s in mailer.sent].count("ben") == 1


def test_a_template_problem_fails_that_email_only(make_shop: Callable[..., Shop]) -> None:
    shop = _due_receipts(make_shop)

    def broken_for_ben(notice: Notice, customer: Customer, *rest: Any) -> Any:
        if customer.id == "ben":
            raise ComposeError("missing translation key 'receipt.title'")
        return plain_compose(notice, customer, *rest)

    mailer = RecordingMailer()
    report = send_now(shop, mailer, broken_for_ben)
    assert sorted(s.customer_id for s in mailer.sent) == ["ann", "cat"]
    assert report.counts["failed"] == 1


def test_a_suppressed_address_is_skipped_and_counted(make_shop: Callable[..., Shop]) -> None:
    shop = _due_receipts(make_shop)
    suppress_address(shop.svc, "BEN@example.com", "bounce")
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert "ben" not in {s.customer_id for s in mailer.sent}
    assert report.counts["suppressed"] == 1


def _failing_reads_for(shop: Shop, customer_id: str, times: int) -> list[int]:
    """Reading `customer_id`'s customer record fails `times` times (a throttled read that
    outlasted the SDK's retries); returns the count of failures so far. The customer's
    notices lose their copies (as if planned before copies were carried), so that sending
    them reads the customer."""
    for stored in shop.repo.notices.values():
        if stored.customer_id == customer_id:
            stored.contact = stored.subscription = stored.invoice = None
    real, failed = shop.repo.get_customer, [0]

    def get_customer(wanted: str) -> Customer | None:
        if wanted == customer_id and failed[0] < times:
            failed[0] += 1
            raise RuntimeError("ProvisionedThroughputExceededException")
        return real(wanted)

    shop.repo.get_customer = get_customer  # type: ignore[method-assign]
    return failed


def test_an_error_before_the_claim_leaves_the_email_due_and_the_next_pass_sends_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)
    _failing_reads_for(shop, "ben", times=1)
    mailer = RecordingMailer()

    first = send_now(shop, mailer)
    second = send_now(shop, mailer)

    assert (first.counts["retry"], first.counts["sent"]) == (1, 2)
    assert (second.read, second.counts["sent"]) == (1, 1)
    assert sorted(s.customer_id for s in mailer.sent) == ["ann", "ben", "cat"]
    assert all(s.at == shop.clock.now() for s in mailer.sent)  # in the same run's hour


def test_an_email_that_keeps_failing_before_its_claim_is_failed_after_a_day(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)
    _failing_reads_for(shop, "ben", times=10_000)
    mailer = RecordingMailer()
    receipt = receipt_of(shop, "ben")

    shop.clock.set(receipt.due_at + timedelta(hours=23))
    assert send_now(shop, mailer).counts["retry"] == 1
    shop.clock.set(receipt.due_at + timedelta(days=1))
    late = send_now(shop, mailer)

    assert late.counts["error"] == 1
    receipt = receipt_of(shop, "ben")
    assert (receipt.status, receipt.reason) == (NoticeStatus.FAILED, "internal_error")
    assert "ben" not in {s.customer_id for s in mailer.sent}


def test_an_error_after_the_claim_fails_the_email_and_never_sends_it_again(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)
    mailer = RecordingMailer(
        fail=lambda who, kind: RuntimeError("connection reset") if who == "ben" else None
    )

    report = send_now(shop, mailer)
    again = send_now(shop, RecordingMailer())

    assert report.counts["error"] == 1
    assert again.read == 0  # the email may have gone out: at most once
    receipt = receipt_of(shop, "ben")
    assert (receipt.status, receipt.reason) == (NoticeStatus.FAILED, "internal_error")


def test_a_run_that_dies_after_the_claim_never_sends_that_email_again(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)

    with pytest.raises(Died):
        for notice in shop.repo.due_notices(shop.clock.now()):
            if notice.customer_id == "ben":
                send_now(shop, RecordingMailer(fail=dies_sending("ben")))
                break
        else:
            raise AssertionError("ben's receipt was not due")
    mailer = RecordingMailer()
    shop.clock.advance(timedelta(hours=1))
    send_now(shop, mailer)
    assert "ben" not in {s.customer_id for s in mailer.sent}
    receipt = receipt_of(shop, "ben")
    assert receipt.status is NoticeStatus.SENDING


def test_due_emails_are_claimed_together_sent_in_order_and_recorded_together(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)
    packed: list[list[str]] = []
    real = shop.repo.commit_each

    def commit_each(changes: list[Commit]) -> list[Exception | None]:
        packed.append([c.notices[0].status for c in changes])
        return real(changes)

    shop.repo.commit_each = commit_each  # type: ignore[method-assign]
    mailer = RecordingMailer()
    report = send_now(shop, mailer)
    assert report.counts == {"sent": 3}
    assert packed == [[NoticeStatus.SENDING] * 3, [NoticeStatus.SENT] * 3]
    assert [s.customer_id for s in mailer.sent] == ["ann", "ben", "cat"]


def test_a_run_that_dies_mid_send_sends_none_of_that_batch_again(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)

    first = RecordingMailer(fail=dies_sending("ben"))
    with pytest.raises(Died):
        send_now(shop, first)
    mailer = RecordingMailer()
    shop.clock.advance(timedelta(hours=1))
    report = send_now(shop, mailer)
    assert mailer.sent == [] and report.read == 0  # at most once: ann's went, cat's is lost
    assert [s.customer_id for s in first.sent] == ["ann"]
    for who in ("ann", "ben", "cat"):
        receipt = receipt_of(shop, who)
        assert receipt.status is NoticeStatus.SENDING, who


def test_a_notice_planned_again_after_it_was_sent_is_not_sent_twice(
    make_shop: Callable[..., Shop],
) -> None:
    shop = _due_receipts(make_shop)
    mailer = RecordingMailer()
    send_now(shop, mailer)
    sent = next(n for n in shop.repo.list_notices("ann") if n.kind is NoticeKind.RECEIPT)
    replanned = Notice(
        sent.key,
        sent.kind,
        "ann",
        sent.subscription_id,
        shop.clock.now(),
        shop.clock.now(),
        data=sent.data,
    )
    shop.repo.commit(Commit(notices=[replanned]))
    again = send_now(shop, mailer)
    assert again.counts["duplicate"] == 1
    assert [s.customer_id for s in mailer.sent].count("ann") == 1
    assert shop.repo.get_notice(sent.key).status is NoticeStatus.SENT  # type: ignore[union-attr]


def test_planning_reads_nothing_and_a_commit_retried_is_planned_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    shop.add_card("4242424242424242")
    outcome = shop.subscribe()
    sub = outcome.subscription
    sub.events.append(
        DomainEvent(EventType.SUBSCRIPTION_RENEWED, sub.id, sub.customer_id, shop.clock.now(), 99)
    )
    change = Commit(subscriptions=[sub], events=list(sub.events))
    first = plan_notices(change, ReminderPolicy(), shop.clock.now())
    assert [n.kind for n in first] == [NoticeKind.UPCOMING_RENEWAL]
    change.notices.extend(first)
    shop.svc.reminders = ReminderPolicy()
    known = len(change.notices)
    with contextlib.suppress(Exception):
        shop.svc.commit_with_notices(change)
    assert len(change.notices) == known


def renewed_change(shop: Shop) -> Commit:
    """A subscriber's renewal as a change: it makes an upcoming-renewal email owed."""
    shop.add_card("4242424242424242")
    sub = shop.subscribe().subscription
    event = DomainEvent(
        EventType.SUBSCRIPTION_RENEWED, sub.id, sub.customer_id, shop.clock.now(), 99
    )
    shop.svc.reminders = ReminderPolicy()
    return Commit(subscriptions=[sub], events=[event])


def test_a_plain_commit_writes_the_change_as_it_stands_and_plans_no_email(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    change = renewed_change(shop)
    owed = {n.key for n in shop.repo.list_notices("alice")}

    shop.svc.commit(change)

    assert change.notices == []
    assert {n.key for n in shop.repo.list_notices("alice")} == owed


def test_the_unit_of_work_plans_the_emails_a_change_makes_owed_and_commits_them_with_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    change = renewed_change(shop)
    owed = {n.key for n in shop.repo.list_notices("alice")}

    shop.svc.commit_with_notices(change)

    assert [n.kind for n in change.notices] == [NoticeKind.UPCOMING_RENEWAL]
    assert {n.key for n in shop.repo.list_notices("alice")} == owed | {change.notices[0].key}
