"""Reminder emails end to end on the fakes: planned with each change, sent once, by day."""

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
from tenure.ports import Commit
from tenure.services import cards, catalog, subscriptions
from tenure.services.reminders import RunReport, send_due

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
    cards.update_payment_method(shop.svc, customer_id, card(number), "sandbox", True)


def subscriber(
    shop: Shop, customer_id: str, plan: str = "basic", zone: str = "UTC", items: Items = PLAIN
) -> None:
    """A customer with a card that pays, subscribed to `plan` as sub-<customer_id>."""
    customer(shop, customer_id, zone)
    subscriptions.subscribe(shop.svc, f"sub-{customer_id}", customer_id, plan, items=items)


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
