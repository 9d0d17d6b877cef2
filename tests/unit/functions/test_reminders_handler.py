"""The reminders function with the real templates, signed links and SES (moto): what a
customer receives, once, in their language, and what bounces stop."""

import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from babel.numbers import format_currency
from moto import mock_aws

from tenure import bootstrap
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.notify.link_tokens import LinkPurpose, verify
from tenure.notify.mailers import OutboxMailer, SesMailer, TeeMailer
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services
from tenure.settings import Settings
from tenure_local.runtime.functions import FakeContext, load_module

REPO_ROOT = Path(__file__).resolve().parents[3]
FEEDBACK_SAMPLES = REPO_ROOT / "events" / "reminders-feedback"
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SENDER = "billing@shop.example"
LINK_KEY = "test-link-key"


def LambdaContext() -> FakeContext:
    return FakeContext("tenure-reminders")


@dataclass
class Shop:
    module: ModuleType
    svc: Services
    repo: InMemoryRepository
    clock: FixedClock
    outbox: Path

    def run(self, at: datetime) -> dict[str, Any]:
        self.clock.set(at)
        result: dict[str, Any] = self.module.lambda_handler(
            {"scheduled_time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}, LambdaContext()
        )
        return result

    def emails(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(self.outbox.glob("*.eml"))
        ]


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Shop]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    monkeypatch.setenv("TENURE_BUSINESS_NAME", "Shop & Co")
    monkeypatch.setenv("TENURE_LINK_SECRET", LINK_KEY)
    monkeypatch.setenv("TENURE_PUBLIC_URL", "https://billing.shop.example")
    with mock_aws():
        ses = boto3.client("ses", region_name="us-east-1")
        ses.verify_email_identity(EmailAddress=SENDER)
        repo, clock = InMemoryRepository(), FixedClock(T0)
        svc = Services(repo=repo, clock=clock, gateway=SandboxGateway(clock=clock.now))
        outbox = tmp_path / "outbox"
        mailer = TeeMailer(SesMailer(ses), OutboxMailer(outbox))
        bootstrap.use(bootstrap.Wiring(svc, mailer=mailer))
        catalog.create_plan(
            svc, Plan(id="basic", name="Basic", amount=1250, currency="USD", interval="month")
        )
        yield Shop(load_module("reminders"), svc, repo, clock, outbox)
        bootstrap.use(None)


def subscribe(shop: Shop, who: str, locale: str, zone: str, name: str, card: str) -> None:
    catalog.create_customer(shop.svc, who, f"{who}@example.com", name, locale, zone)
    method = payment_method_for(card)
    assert method is not None
    cards.update_payment_method(shop.svc, who, method, "sandbox", True)
    subscriptions.subscribe(shop.svc, f"sub-{who}", who, "basic")


def test_a_receipt_and_a_reminder_arrive_rendered_in_the_customers_language(
    shop: Shop,
) -> None:
    subscribe(shop, "boris", "ru", "Europe/Moscow", "Борис", "4242424242424242")
    first = shop.run(datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert first["sent"] == 1
    (receipt,) = shop.emails()
    assert receipt["Content-Language"] == "ru"
    assert receipt["To"].addresses[0].addr_spec == "boris@example.com"
    assert receipt["Date"].datetime == datetime(2026, 3, 2, 10, tzinfo=UTC)
    html = receipt.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert format_currency(12.5, "USD", locale="ru").replace("\xa0", " ") in html.replace(
        "\xa0", " "
    ).replace("&nbsp;", " ")

    # 3 days before 2 April in Moscow, at the renewal's local time (12:00).
    shop.run(datetime(2026, 3, 30, 9, tzinfo=UTC))
    kinds = [m["X-Tenure-Notice"].split(":")[1] for m in shop.emails()]
    assert kinds == ["receipt", "upcoming_renewal"]


def test_every_link_in_an_email_is_signed_for_that_customer_and_purpose(shop: Shop) -> None:
    subscribe(shop, "ann", "en", "UTC", "Ann", "4242424242424242")
    shop.run(datetime(2026, 3, 30, 9, tzinfo=UTC))
    reminder = next(m for m in shop.emails() if "upcoming_renewal" in m["X-Tenure-Notice"])
    text = reminder.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    urls = [w for w in text.split() if w.startswith("https://billing.shop.example/pages/")]
    assert urls, text
    purposes = set()
    for url in urls:
        parsed = urlparse(url.rstrip(".,)"))
        token = parse_qs(parsed.query)["t"][0]
        purpose = {
            "/pages/card": LinkPurpose.UPDATE_CARD,
            "/pages/subscription": LinkPurpose.MANAGE_SUBSCRIPTION,
        }[parsed.path]
        claims = verify(LINK_KEY.encode(), token, purpose, shop.clock.now())
        assert claims.customer_id == "ann"
        assert claims.expires_at == shop.clock.now() + timedelta(days=14)
        purposes.add(purpose)
    assert purposes == {LinkPurpose.UPDATE_CARD, LinkPurpose.MANAGE_SUBSCRIPTION}


def test_a_name_with_markup_is_escaped_and_arabic_is_right_to_left(shop: Shop) -> None:
    subscribe(shop, "x", "ar", "Asia/Dubai", "<script>alert(1)</script>", "4242424242424242")
    shop.run(datetime(2026, 3, 2, 10, tzinfo=UTC))
    (receipt,) = shop.emails()
    html = receipt.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'dir="rtl"' in html


def test_the_same_hour_run_twice_sends_nothing_new(shop: Shop) -> None:
    subscribe(shop, "ann", "en", "UTC", "Ann", "4242424242424242")
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert shop.run(at)["sent"] == 1
    again = shop.run(at)
    assert again.get("sent", 0) == 0 and again["due"] == 0
    assert len(shop.emails()) == 1


def test_an_unknown_sender_is_refused_by_ses_and_never_marked_sent(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "nobody@unverified.example")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these
    subscribe(shop, "ann", "en", "UTC", "Ann", "4242424242424242")
    result = shop.run(datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert result.get("rejected") == 1 and "sent" not in result
    assert shop.emails() == []
    (receipt,) = [n for n in shop.repo.list_notices("ann") if n.kind == "receipt"]
    assert str(receipt.status) == "failed" and receipt.sent_at is None


def test_an_unknown_locale_falls_back_to_english(shop: Shop) -> None:
    subscribe(shop, "kim", "ko", "Asia/Seoul", "Kim", "4242424242424242")
    shop.run(datetime(2026, 3, 2, 10, tzinfo=UTC))
    (receipt,) = shop.emails()
    assert receipt["Content-Language"] == "en"


@pytest.mark.parametrize("sample", sorted(FEEDBACK_SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_bounces_and_complaints_suppress_the_address(shop: Shop, sample: Path) -> None:
    event = json.loads(sample.read_text())
    result = shop.module.feedback_handler(event, LambdaContext())
    assert result == {"suppressed": 1}
    address = json.loads(event["Records"][0]["Sns"]["Message"])
    recipients = address.get("bounce", address.get("complaint", {}))
    key = "bouncedRecipients" if "bounce" in address else "complainedRecipients"
    assert shop.repo.is_suppressed(recipients[key][0]["emailAddress"])


def test_a_transient_bounce_or_a_stray_message_changes_nothing(shop: Shop) -> None:
    transient = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Transient",
            "bouncedRecipients": [{"emailAddress": "a@example.com"}],
        },
    }
    event = {
        "Records": [{"Sns": {"Message": json.dumps(transient)}}, {"Sns": {"Message": "not json"}}]
    }
    assert shop.module.feedback_handler(event, LambdaContext()) == {"suppressed": 0}
    assert not shop.repo.is_suppressed("a@example.com")


def test_one_run_sends_everything_due_in_passes_of_its_limit(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        subscribe(shop, f"c{n}", "en", "UTC", f"C{n}", "4242424242424242")
    monkeypatch.setattr(shop.module, "RUN_LIMIT", 2)
    result = shop.run(datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert result["sent"] == 5 and result["due"] == 5
    assert len(shop.emails()) == 5


def test_a_malformed_address_is_failed_and_counted_and_others_still_go(shop: Shop) -> None:
    subscribe(shop, "ann", "en", "UTC", "Ann", "4242424242424242")
    subscribe(shop, "bob", "en", "UTC", "Bob", "4242424242424242")
    shop.repo.customers["bob"].email = "bob@@example"
    result = shop.run(datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert result["sent"] == 1 and result["failed"] == 1
    (receipt,) = [n for n in shop.repo.list_notices("bob") if n.kind == "receipt"]
    assert receipt.reason == "malformed_email"
