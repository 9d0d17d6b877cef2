"""What customers read: real invoices, through the reminders run and the real templates, in
English, Russian and Arabic, with dates where each customer lives and no internal id or ISO
timestamp anywhere a customer looks."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from conftest import Shop, card
from test_reminders import RecordingMailer, Sent, fake_link, run

from tenure.domain.invoices import InvoiceLine, LineKind
from tenure.domain.notices import Notice, NoticeKind
from tenure.domain.plans import IntroPhase, Plan
from tenure.notify.compose import Composer
from tenure.notify.render import format_period
from tenure.ports import Commit
from tenure.services import cards, catalog, subscriptions
from tenure.services.reminders import send_due

BUSINESS = "Shop & Co"
COMPOSE = Composer("billing@shop.example", BUSINESS)
# 2026-03-31, 2026-03-31T16:00, 20260331T160000Z: any way a machine writes a moment.
ISO = re.compile(r"\d{4}-\d{2}-\d{2}|\d{8}T\d{4}")
# Tenure's and the provider's ids: in_…, sub_…, pi_…, the test's sub-… and customer ids.
INTERNAL = re.compile(r"\b(?:in|sub|cus|ch|pi|pm|evt|re)_\w+|\bsub-\w+")
URL = re.compile(r"https?://[^\s\"'<>]+")
MARCH_31_4PM = datetime(2026, 3, 31, 16, tzinfo=UTC)  # already April 1 in Tokyo
APRIL_1_3AM = datetime(2026, 4, 1, 3, tzinfo=UTC)  # still March 31 in Los Angeles
STARTER = Plan(
    id="starter",
    name="Starter",
    amount=3000,
    currency="USD",
    interval="month",
    intro=(IntroPhase(3, Decimal(50)),),
    tax_rate=Decimal("8.25"),
)
PRO = Plan(id="pro", name="Pro", amount=2000, currency="USD", interval="month")


def join(shop: Shop, who: str, locale: str, zone: str, plan: str, number: str) -> None:
    catalog.create_customer(
        shop.svc,
        who,
        f"{who}@example.com",
        name=f"Customer {who.title()}",
        locale=locale,
        timezone=zone,
    )
    cards.update_payment_method(shop.svc, who, card(number), "sandbox", True)
    subscriptions.subscribe(shop.svc, f"sub-{who}", who, plan)


def seen(sent: Sent) -> list[str]:
    """The subject and both bodies, without the links' URLs (signed tokens, not words)."""
    message = sent.message
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(URL.sub("", part.get_content()))
    return parts


def a_season_of_email(make_shop: Callable[..., Shop]) -> tuple[Shop, RecordingMailer]:
    """Ken (en, Tokyo) joins at 16:00 UTC on March 31, Lena (ru, Los Angeles) and Layla (ar,
    Tokyo) at 03:00 UTC on April 1; Lena moves to Pro, Layla's card fails at the renewal,
    Ken is refunded part of his first payment."""
    shop = make_shop(start=MARCH_31_4PM)
    for plan in (STARTER, PRO):
        catalog.create_plan(shop.svc, plan)
    join(shop, "ken", "en", "Asia/Tokyo", "starter", "4242424242424242")
    shop.clock.set(APRIL_1_3AM)
    join(shop, "lena", "ru", "America/Los_Angeles", "basic", "4242424242424242")
    join(shop, "layla", "ar", "Asia/Tokyo", "basic", "4242424242424242")
    mailer = RecordingMailer()
    run(shop, datetime(2026, 4, 10, 12, tzinfo=UTC), mailer, COMPOSE)
    subscriptions.change_plan(shop.svc, "sub-lena", "pro")
    cards.update_payment_method(shop.svc, "layla", card("4000000000009995"), "sandbox", True)
    (first,) = [i for i in shop.repo.invoices.values() if i.customer_id == "ken"]
    refund = Notice(
        "sub-ken:refund_receipt:test:0",
        NoticeKind.REFUND_RECEIPT,
        "ken",
        "sub-ken",
        shop.clock.now(),
        shop.clock.now(),
        data={"invoice_id": first.id, "amount_refunded": 500},
    )
    shop.repo.notices[refund.key] = refund
    run(shop, datetime(2026, 5, 8, 12, tzinfo=UTC), mailer, COMPOSE)
    return shop, mailer


def test_no_email_shows_an_iso_timestamp_or_an_internal_id_in_any_language(
    make_shop: Callable[..., Shop],
) -> None:
    shop, mailer = a_season_of_email(make_shop)
    kinds = {(s.customer_id, s.kind) for s in mailer.sent}
    for wanted in [
        ("ken", NoticeKind.RECEIPT),
        ("ken", NoticeKind.REFUND_RECEIPT),
        ("ken", NoticeKind.UPCOMING_RENEWAL),
        ("lena", NoticeKind.RECEIPT),
        ("layla", NoticeKind.RECEIPT),
        ("layla", NoticeKind.PAYMENT_FAILED),
    ]:
        assert wanted in kinds, wanted
    ids = [*shop.repo.invoices, *shop.repo.subscriptions, *shop.repo.customers]
    for sent in mailer.sent:
        for part in seen(sent):
            assert not ISO.search(part), (sent.customer_id, sent.kind, ISO.search(part))
            assert not INTERNAL.search(part), (sent.customer_id, sent.kind, INTERNAL.search(part))
            assert not [i for i in ids if i in part], (sent.customer_id, sent.kind)


def test_a_receipt_names_the_invoice_by_its_plan_and_period_where_the_customer_lives(
    make_shop: Callable[..., Shop],
) -> None:
    _, mailer = a_season_of_email(make_shop)
    ken, *_ = mailer.of(NoticeKind.RECEIPT, "ken")
    lena, *_ = mailer.of(NoticeKind.RECEIPT, "lena")
    layla, *_ = mailer.of(NoticeKind.RECEIPT, "layla")
    # Ken paid at 16:00 UTC on March 31: April 1 in Tokyo.
    tokyo = format_period(date(2026, 4, 1), date(2026, 5, 1), "en")
    assert tokyo.startswith("April 1") and tokyo.endswith("May 1, 2026")
    # Its legal number first, then what it pays for.
    assert re.search(rf"Invoice: INV-2026-\d{{6}}, Starter, {tokyo}\n", seen(ken)[1])
    assert "March 31" not in seen(ken)[1]
    # Lena paid at 03:00 UTC on April 1: still March 31 in Los Angeles.
    angeles = format_period(date(2026, 3, 31), date(2026, 4, 30), "ru")
    assert angeles.startswith("31 марта") and "30 апреля 2026" in angeles
    assert re.search(rf"Счёт: INV-2026-\d{{6}}, Basic, {angeles}", seen(lena)[1])
    assert "1 апреля" not in seen(lena)[1]
    # Layla, in Tokyo, reads Arabic right to left.
    arabic = format_period(date(2026, 4, 1), date(2026, 5, 1), "ar")
    assert re.search(rf"الفاتورة: INV-2026-\d{{6}}، Basic، {arabic}", seen(layla)[1])
    assert '<html lang="ar" dir="rtl">' in seen(layla)[2]


def test_invoice_lines_are_worded_in_the_customers_language(
    make_shop: Callable[..., Shop],
) -> None:
    _, mailer = a_season_of_email(make_shop)
    ken = seen(mailer.of(NoticeKind.RECEIPT, "ken")[0])[1]
    assert "Introductory discount, 50% off" in ken
    assert "Tax: $1.24" in ken  # 8.25% of $15.00, its own row
    change = [s for s in mailer.of(NoticeKind.RECEIPT, "lena") if "Pro" in seen(s)[1]]
    text = seen(change[0])[1]
    assert "Неиспользованное время тарифа Basic" in text
    assert "Оставшееся время тарифа Pro" in text
    assert "Unused time" not in text and "Remaining time" not in text


def test_a_refund_and_a_failed_payment_name_the_invoice_by_its_period_not_its_id(
    make_shop: Callable[..., Shop],
) -> None:
    _, mailer = a_season_of_email(make_shop)
    (refund,) = mailer.of(NoticeKind.REFUND_RECEIPT, "ken")
    tokyo = format_period(date(2026, 4, 1), date(2026, 5, 1), "en")
    paid_for = rf"\$5\.00 of the \$16\.24 you paid for INV-2026-\d{{6}}, Starter, {tokyo}\."
    assert re.search(paid_for, seen(refund)[1])
    failed = mailer.of(NoticeKind.PAYMENT_FAILED, "layla")
    assert failed and all("Basic" in seen(f)[1] for f in failed)


def test_a_receipt_for_an_invoice_without_a_plan_line_takes_the_subscriptions_plan(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop(start=MARCH_31_4PM)
    join(shop, "ken", "en", "UTC", "basic", "4242424242424242")
    (invoice,) = shop.repo.invoices.values()
    invoice.lines = [
        InvoiceLine(LineKind.CREDIT, "Goodwill", line.amount) for line in invoice.lines
    ]
    shop.repo.commit(Commit(invoices=[invoice]))  # stored so: the receipt's copy is stale
    mailer = RecordingMailer()
    send_due(shop.svc, mailer, COMPOSE, fake_link, shop.clock.now() + timedelta(hours=2))
    (receipt,) = mailer.of(NoticeKind.RECEIPT, "ken")
    text = seen(receipt)[1]
    assert f"Invoice: {invoice.number}, Basic, March 31" in text
    assert "Goodwill" in text  # a line no label fits is shown as written
