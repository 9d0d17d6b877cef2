"""Reminder emails end to end on the fakes: planned with each change, sent once, by day."""

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import SCHEDULER_TICK, Shop, card, work_one

from tenure.domain.customers import Customer
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.notices import EmailFacts, Notice, NoticeKind, NoticeStatus
from tenure.domain.plans import Plan
from tenure.domain.pricing import PLAIN, Items
from tenure.notify.compose import Composer
from tenure.notify.link_tokens import LinkPurpose
from tenure.notify.mailers import MailDeferred, MailRejected
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.ports import Commit
from tenure.services import catalog, charging, subscriptions
from tenure.services.reminders import ComposeError, RunReport, send_due, suppress_address

ANNUAL = Plan(id="annual", name="Annual", amount=12000, currency="USD", interval="year")


@dataclass
class Sent:
    customer_id: str
    kind: str
    at: datetime
    message: EmailMessage


@dataclass
class RecordingMailer:
    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[str, str], Exception | None] = lambda customer, kind: None

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        problem = self.fail(customer_id, kind)
        if problem is not None:
            raise problem
        self.sent.append(Sent(customer_id, kind, sent_at, message))
        return f"<{len(self.sent)}@test>"

    def of(self, kind: NoticeKind, customer: str = "alice") -> list[Sent]:
        return [s for s in self.sent if s.kind == kind and s.customer_id == customer]


REAL = Composer("billing@shop.example", "Shop")


def plain_compose(
    notice: Notice,
    customer: Customer,
    facts: EmailFacts,
    links: Mapping[str, str],
    sent_at: datetime,
) -> tuple[EmailMessage, tuple[str, ...]]:
    """A readable body of the facts and links, after the real templates rendered them (so
    a fact or link a template needs and the reminders run did not give fails the test)."""
    REAL(notice, customer, facts, links, sent_at)
    message = EmailMessage()
    message["To"] = customer.email
    message["Subject"] = str(notice.kind)
    lines = [f"{name}={value}" for name, value in sorted(vars_of(facts).items())]
    lines += [f"link {name}={url}" for name, url in sorted(links.items())]
    message.set_content("\n".join(lines))
    return message, ()


def vars_of(facts: EmailFacts) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in facts.__dataclass_fields__}


def fake_link(customer: str, purpose: LinkPurpose, subject: str, action: str | None) -> str:
    return f"https://pages.test/{purpose}/{customer}/{subject}/{action or ''}"


def on_the_hour(moment: datetime) -> bool:
    return moment.minute == moment.second == moment.microsecond == 0


def run(
    shop: Shop,
    until: datetime,
    mailer: RecordingMailer,
    compose: Any = plain_compose,
    runs_per_hour: int = 1,
) -> list[RunReport]:
    """The renewals pipeline and the hourly reminders run (`runs_per_hour` times each hour,
    to show a repeated run sends nothing twice), on one simulated clock."""
    svc, clock, repo = shop.svc, shop.clock, shop.repo
    reports = []
    while clock.now() <= until:
        now = clock.now()
        for item in repo.due(now):
            work_one(svc, item)
        if on_the_hour(now):
            for _ in range(runs_per_hour):
                report = send_due(svc, mailer, compose, fake_link, now)
                assert not report.counts.get("failed") and not report.counts.get("error"), report
                reports.append(report)
        moments = [m for m in (repo.next_due_at(), repo.next_notice_at()) if m is not None]
        if not moments:
            break
        upcoming = min(moments)
        if upcoming <= now:
            upcoming = now + SCHEDULER_TICK
        if upcoming > until:
            break
        clock.set(upcoming)
    clock.set(until)
    return reports


def text_of(message: EmailMessage) -> str:
    """The plain-text part of an email."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def send_now(shop: Shop, mailer: RecordingMailer, compose: Any = plain_compose) -> RunReport:
    """One reminders run at the shop's present moment."""
    return send_due(shop.svc, mailer, compose, fake_link, shop.clock.now())


def receipt_of(shop: Shop, customer_id: str) -> Notice:
    return next(n for n in shop.repo.list_notices(customer_id) if n.kind is NoticeKind.RECEIPT)


class Died(BaseException):
    """The Lambda was killed or timed out mid-send: no exception handler runs."""


def dies_sending(to: str | None = None) -> Callable[[str, str], Exception | None]:
    """A mailer fault that kills the run while sending to `to` (None: to anyone). The
    mailer may or may not have sent that email."""

    def die(who: str, kind: str) -> Exception | None:
        if to is None or who == to:
            raise Died
        return None

    return die


def pay_two_renewals_late(shop: Shop, mailer: RecordingMailer) -> None:
    """April's and May's renewals fail on the card, then a new card pays each of them."""
    for month in (3, 4):
        run(shop, datetime(2026, month + 1, 1, tzinfo=UTC), mailer)
        shop.add_card("4000000000009995")
        run(shop, datetime(2026, month + 1, 3, tzinfo=UTC), mailer)
        shop.add_card("4242424242424242")


def customer(shop: Shop, customer_id: str, zone: str = "UTC", number: str = "4242424242424242"):
    catalog.create_customer(shop.svc, customer_id, f"{customer_id}@example.com", timezone=zone)
    charging.update_payment_method(shop.svc, customer_id, card(number), "sandbox", True)


def subscriber(
    shop: Shop, customer_id: str, plan: str = "basic", zone: str = "UTC", items: Items = PLAIN
) -> None:
    """A customer with a card that pays, subscribed to `plan` as sub-<customer_id>."""
    customer(shop, customer_id, zone)
    subscriptions.subscribe(shop.svc, f"sub-{customer_id}", customer_id, plan, items=items)


@pytest.fixture
def card_trial(make_shop: Callable[..., Shop]) -> Shop:
    """alice with a card that pays, on a 14-day trial of basic as sub-1."""
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.subscribe("basic-trial")
    return shop


@pytest.fixture
def cardless_trial(make_shop: Callable[..., Shop]) -> Shop:
    """alice, with no card on file, on a 14-day trial of basic as sub-1."""
    shop = make_shop()
    shop.subscribe("basic-trial")
    return shop


def test_a_monthly_subscription_gets_one_reminder_three_days_before_each_renewal(
    paid_shop: Shop,
) -> None:
    shop = paid_shop
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=125), mailer)  # renewals on 2 Apr, May, Jun, Jul

    reminders = mailer.of(NoticeKind.UPCOMING_RENEWAL)
    renewals = [datetime(2026, m, 2, 9, tzinfo=UTC) for m in (4, 5, 6, 7)]
    assert [r.at for r in reminders] == [d - timedelta(days=3) for d in renewals]
    assert len(mailer.of(NoticeKind.RECEIPT)) == 5  # the first invoice and four renewals
    body = reminders[0].message.get_content()
    assert "amount=1000" in body and "link cancel=" in body and "link update_card=" in body


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Europe/Moscow", "America/Los_Angeles"])
def test_no_email_goes_out_at_night_where_the_customer_lives(
    make_shop: Callable[..., Shop], zone: str
) -> None:
    # 09:00 UTC is 18:00 in Tokyo, 12:00 in Moscow and 01:00/02:00 in Los Angeles.
    shop = make_shop()
    subscriber(shop, "bob", zone=zone)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=100), mailer)

    sent = [s for s in mailer.sent if s.customer_id == "bob"]
    assert {s.kind for s in sent} >= {"upcoming_renewal", "receipt"}
    for email in sent:
        local = email.at.astimezone(ZoneInfo(zone))
        assert 9 <= local.hour < 20, (email.kind, local)
    renewal_days = [
        datetime(2026, m, 2, 9, tzinfo=UTC).astimezone(ZoneInfo(zone)).date() for m in (4, 5, 6)
    ]
    reminder_days = [
        s.at.astimezone(ZoneInfo(zone)).date()
        for s in mailer.of(NoticeKind.UPCOMING_RENEWAL, "bob")
    ]
    assert reminder_days == [d - timedelta(days=3) for d in renewal_days]


def test_an_annual_plan_is_reminded_thirty_and_seven_days_before(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    catalog.create_plan(shop.svc, ANNUAL)
    shop.add_card("4242424242424242")
    shop.subscribe("annual")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=370), mailer)

    renews = datetime(2027, 3, 2, 9, tzinfo=UTC)
    assert [r.at for r in mailer.of(NoticeKind.UPCOMING_RENEWAL)] == [
        renews - timedelta(days=30),
        renews - timedelta(days=7),
    ]


def test_the_final_period_of_a_subscription_ending_at_period_end_is_not_reminded(
    paid_shop: Shop,
) -> None:
    shop = paid_shop
    mailer = RecordingMailer()
    run(shop, datetime(2026, 4, 10, tzinfo=UTC), mailer)  # renewed once, on 2 April
    assert len(mailer.of(NoticeKind.UPCOMING_RENEWAL)) == 1
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=True, reason="too_expensive")
    run(shop, datetime(2026, 6, 1, tzinfo=UTC), mailer)

    assert len(mailer.of(NoticeKind.UPCOMING_RENEWAL)) == 1  # none before 2 May, when it ends
    ended = mailer.of(NoticeKind.SUBSCRIPTION_ENDED)
    assert len(ended) == 1
    assert "ended_reason=voluntary" in ended[0].message.get_content()
    skipped = [n for n in shop.repo.list_notices("alice") if n.status is NoticeStatus.SKIPPED]
    assert [n.reason for n in skipped if n.kind is NoticeKind.UPCOMING_RENEWAL] == [
        "ends_at_period_end"
    ]


def test_running_the_same_hour_twice_sends_nothing_new(paid_shop: Shop) -> None:
    shop = paid_shop
    mailer = RecordingMailer()
    run(shop, datetime(2026, 3, 30, 9, tzinfo=UTC), mailer)
    before = len(mailer.sent)
    assert mailer.of(NoticeKind.UPCOMING_RENEWAL)[-1].at == shop.clock.now()

    again = send_now(shop, mailer)
    assert len(mailer.sent) == before
    assert again.read == 0


def test_each_dunning_step_sends_one_email_ending_with_the_last_attempt(paid_shop: Shop) -> None:
    shop = paid_shop
    run(shop, datetime(2026, 3, 20, tzinfo=UTC), RecordingMailer())
    shop.add_card("4000000000009995")  # insufficient funds from now on
    mailer = RecordingMailer()
    run(shop, datetime(2026, 4, 25, tzinfo=UTC), mailer)

    failed = mailer.of(NoticeKind.PAYMENT_FAILED)
    assert len(failed) == 4  # the renewal and its three retries
    bodies = [f.message.get_content() for f in failed]
    assert all("decline_class=soft" in b for b in bodies)
    assert all("final_attempt=False" in b for b in bodies[:3])
    assert "final_attempt=True" in bodies[3]
    assert "next_attempt_at=None" in bodies[3]
    for email in failed:
        assert 9 <= email.at.hour < 20


def test_a_hard_decline_asks_for_a_new_card_and_authentication_asks_to_confirm(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    customer(shop, "hard", number="4000000000009987")  # lost card
    customer(shop, "sca", number="4000002760003184")  # always needs authentication
    for who in ("hard", "sca"):
        subscriptions.subscribe(shop.svc, f"sub-{who}", who, "basic")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=2), mailer)

    (hard,) = mailer.of(NoticeKind.PAYMENT_FAILED, "hard")
    assert "decline_class=hard" in hard.message.get_content()
    (sca,) = mailer.of(NoticeKind.PAYMENT_ACTION_REQUIRED, "sca")
    assert "link confirm_payment=https://pages.test/confirm_payment/sca/" in (
        sca.message.get_content()
    )


def test_a_trial_is_reminded_three_days_before_it_converts(card_trial: Shop) -> None:
    shop = card_trial
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=20), mailer)

    (trial,) = mailer.of(NoticeKind.TRIAL_ENDING)
    assert trial.at == shop.start + timedelta(days=11)
    assert "amount=1000" in trial.message.get_content()


def test_a_pause_is_reminded_seven_days_before_it_ends(paid_shop: Shop) -> None:
    shop = paid_shop
    until = datetime(2026, 5, 20, 9, tzinfo=UTC)
    shop.clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))
    subscriptions.pause(shop.svc, "sub-1", until)
    mailer = RecordingMailer()
    run(shop, datetime(2026, 5, 21, tzinfo=UTC), mailer)

    (pause,) = mailer.of(NoticeKind.PAUSE_ENDING)
    assert pause.at == until - timedelta(days=7)
    assert not [s for s in mailer.of(NoticeKind.UPCOMING_RENEWAL) if s.at < until]


def test_late_payers_get_one_more_reminder_the_day_before(paid_shop: Shop) -> None:
    shop = paid_shop
    mailer = RecordingMailer()
    pay_two_renewals_late(shop, mailer)
    run(shop, datetime(2026, 6, 3, tzinfo=UTC), mailer)

    june = [s.at for s in mailer.of(NoticeKind.UPCOMING_RENEWAL) if s.at.month in (5, 6)]
    renews = datetime(2026, 6, 2, 9, tzinfo=UTC)
    assert june == [renews - timedelta(days=3), renews - timedelta(days=1)]
    early = [s for s in mailer.of(NoticeKind.UPCOMING_RENEWAL) if s.at.month == 3]
    assert len(early) == 1  # before the first late invoice: not a late payer yet


def the_card_expiring_email(shop: Shop, until: datetime) -> Any:
    """The one card-expiring email sent by `until`."""
    mailer = RecordingMailer()
    run(shop, until, mailer)
    (expiring,) = mailer.of(NoticeKind.CARD_EXPIRING)
    return expiring


def test_a_card_about_to_expire_is_announced_the_month_before(paid_shop: Shop) -> None:
    shop = paid_shop
    method = shop.repo.get_customer("alice").default_payment_method  # type: ignore[union-attr]
    event = DomainEvent(
        EventType.PAYMENT_METHOD_UPDATED,
        "alice",
        "alice",
        shop.clock.now(),
        7,
        {"payment_method": method, "exp_month": 5, "exp_year": 2026, "last4": "4242"},
    )
    shop.svc.commit_with_notices(Commit(events=[event]))
    expiring = the_card_expiring_email(shop, datetime(2026, 4, 3, tzinfo=UTC))

    assert expiring.at == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert "card_exp_month=5" in expiring.message.get_content()


def test_a_card_entered_with_its_expiry_is_announced_before_it_expires(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    method = card("4000000000009995")
    shop.gateway.next_card_expires(method, 6, 2026)
    shop.add_card("4000000000009995")
    stored = shop.repo.list_payment_methods("alice")
    assert [(m.exp_month, m.exp_year) for m in stored] == [(6, 2026)]
    shop.add_card("4242424242424242")  # replaced before the notice: no email for the old one
    shop.gateway.next_card_expires(card("5555555555554444"), 7, 2026)
    shop.add_card("5555555555554444")
    shop.subscribe()
    expiring = the_card_expiring_email(shop, datetime(2026, 6, 5, tzinfo=UTC))

    assert expiring.at == datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert "card_exp_month=7" in expiring.message.get_content()


def test_a_card_replaced_before_its_notice_is_not_announced(paid_shop: Shop) -> None:
    shop = paid_shop
    old = shop.repo.get_customer("alice").default_payment_method  # type: ignore[union-attr]
    shop.svc.commit_with_notices(
        Commit(
            events=[
                DomainEvent(
                    EventType.PAYMENT_METHOD_UPDATED,
                    "alice",
                    "alice",
                    shop.clock.now(),
                    7,
                    {"payment_method": old, "exp_month": 5, "exp_year": 2026},
                )
            ]
        )
    )
    shop.add_card("5555555555554444")
    mailer = RecordingMailer()
    run(shop, datetime(2026, 4, 3, tzinfo=UTC), mailer)
    assert mailer.of(NoticeKind.CARD_EXPIRING) == []
    (notice,) = [
        n
        for n in shop.repo.list_notices("alice")
        if n.kind is NoticeKind.CARD_EXPIRING and n.data["exp_year"] == 2026
    ]
    assert (notice.status, notice.reason) == (NoticeStatus.SKIPPED, "card_replaced")


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


# -- trials without a card ----------------------------------------------------------------------
def trial_ending_text(shop: Shop) -> str:
    """The text of the one trial-ending email sent by day 12 of a 14-day trial."""
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=12), mailer, REAL)
    (trial,) = mailer.of(NoticeKind.TRIAL_ENDING)
    return text_of(trial.message)


def test_a_trial_with_a_card_is_told_which_card_will_be_charged(card_trial: Shop) -> None:
    shop = card_trial
    text = trial_ending_text(shop)

    assert "to your Visa card ending 4242." in text
    assert "add a card by" not in text


def test_a_trial_without_a_card_is_asked_to_add_one_by_the_trials_end(cardless_trial: Shop) -> None:
    shop = cardless_trial
    text = trial_ending_text(shop)

    assert "add a card by" in text and "to your card" not in text
    assert "Add a card: https://pages.test/update_card/alice/alice/" in text


def test_a_card_added_during_a_card_less_trial_is_the_card_its_ending_email_names(
    cardless_trial: Shop,
) -> None:
    shop = cardless_trial
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.TRIAL_ENDING]
    assert notice.data["card_on_file"] is False and notice.subscription is not None
    shop.clock.set(shop.start + timedelta(days=5))
    shop.add_card("5555555555554444")
    text = trial_ending_text(shop)

    assert "to your Mastercard card ending 4444." in text
    assert "add a card by" not in text


def test_a_trial_that_converts_without_a_card_sends_one_card_required_email_with_the_link(
    cardless_trial: Shop,
) -> None:
    shop = cardless_trial
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=16), mailer, REAL)

    (first,) = shop.invoices()
    assert first.attempts == 0 and first.dunning_ends_at is not None
    (required,) = mailer.of(NoticeKind.CARD_REQUIRED)
    text = text_of(required.message)
    assert "no card on file to pay $10.00" in text
    assert "Add a card: https://pages.test/update_card/alice/alice/" in text
    key = f"{first.id}:card_required:now:0"
    assert required.message["X-Tenure-Notice"] == key
    # Planned again (the same commit replayed): still owed once, and sent once.
    run(shop, shop.start + timedelta(days=30), mailer, REAL)
    assert len(mailer.of(NoticeKind.CARD_REQUIRED)) == 1


def test_a_card_added_before_the_card_required_email_goes_out_skips_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    mailer = RecordingMailer()
    _converted_without_a_card(shop)  # no reminders run has sent anything yet
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.CARD_REQUIRED]
    shop.add_card("4242424242424242")
    run(shop, notice.due_at + timedelta(hours=1), mailer, REAL)

    (first,) = shop.invoices()
    assert first.status.value == "paid"
    assert mailer.of(NoticeKind.CARD_REQUIRED) == []
    stored = shop.repo.get_notice(notice.key)
    assert stored is not None and stored.status is NoticeStatus.SKIPPED


def test_a_card_required_email_still_unsent_at_the_deadline_is_skipped(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    dunning_ended = _unpaid_with_a_case(shop)  # dunning ends: the subscription is unpaid
    mailer = RecordingMailer()
    run(shop, dunning_ended + timedelta(hours=1), mailer, REAL)

    assert mailer.of(NoticeKind.CARD_REQUIRED) == []
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.CARD_REQUIRED]
    assert notice.status is NoticeStatus.SKIPPED and notice.reason == "deadline_passed"


def test_a_trial_that_converts_with_a_card_sends_no_card_required_email(card_trial: Shop) -> None:
    shop = card_trial
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=16), mailer, REAL)

    assert mailer.of(NoticeKind.CARD_REQUIRED) == []
    assert [s.kind for s in mailer.sent] == ["trial_ending", "receipt"]


def test_a_trial_ending_notice_planned_before_cards_were_recorded_keeps_its_old_words(
    card_trial: Shop,
) -> None:
    shop = card_trial
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.TRIAL_ENDING]
    notice.data = {"trial_end": notice.data["trial_end"], "zone": notice.data["zone"]}
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=12), mailer, REAL)

    (trial,) = mailer.of(NoticeKind.TRIAL_ENDING)
    assert "we will charge $10.00 to your card." in text_of(trial.message)


# -- collections ------------------------------------------------------------------------------
def _converted_without_a_card(shop: Shop) -> None:
    """A card-less trial, worked up to the moment it converts."""
    shop.subscribe("basic-trial")
    trial_end = shop.sub().trial_end
    assert trial_end is not None
    shop.clock.set(trial_end)
    shop.run_due(trial_end)


def _unpaid_with_a_case(shop: Shop) -> datetime:
    """A card-less trial that converts and runs through dunning to unpaid: its case opens.
    Returns when dunning ended."""
    _converted_without_a_card(shop)
    (first,) = shop.invoices()
    assert first.dunning_ends_at is not None
    shop.clock.set(first.dunning_ends_at)
    shop.run_due(first.dunning_ends_at)
    return first.dunning_ends_at


def test_a_case_that_opens_sends_one_collections_email_with_every_line_and_the_link(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    opened = _unpaid_with_a_case(shop)
    (case,) = shop.repo.list_collection_cases("alice")
    mailer = RecordingMailer()
    run(shop, opened + timedelta(days=1), mailer, REAL)

    (sent,) = mailer.of(NoticeKind.COLLECTIONS_OPENED)
    text = text_of(sent.message)
    assert "The balance is $10.00." in text
    # The line as a receipt words it: the plan and the period it paid for.
    assert re.search(r"^  Basic, March 16\W+April 16, 2026: \$10\.00$", text, re.MULTILINE)
    assert f"https://pages.test/collections/alice/{case.id}/" in text
    assert sent.message["X-Tenure-Notice"] == f"{case.id}:collections_opened:now:0"
    run(shop, opened + timedelta(days=3), mailer, REAL)
    assert len(mailer.of(NoticeKind.COLLECTIONS_OPENED)) == 1


def test_a_plan_chosen_before_the_collections_email_goes_out_skips_it(
    make_shop: Callable[..., Shop],
) -> None:
    from tenure.services import collections

    shop = make_shop()
    opened = _unpaid_with_a_case(shop)
    (case,) = shop.repo.list_collection_cases("alice")
    collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    mailer = RecordingMailer()
    run(shop, opened + timedelta(hours=1), mailer, REAL)

    assert mailer.of(NoticeKind.COLLECTIONS_OPENED) == []
    (notice,) = [n for n in shop.repo.notices.values() if n.kind is NoticeKind.COLLECTIONS_OPENED]
    assert notice.status is NoticeStatus.SKIPPED and notice.reason == "case_in_plan"
