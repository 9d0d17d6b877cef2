"""A trial without a card, end to end on DynamoDB Local: the trial-ending email asks for a
card, the trial converts with none, the card-required email carries a signed link, the
customer opens it, adds a sandbox card on the card page, and the first invoice is paid."""

import importlib.util
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tenure import bootstrap
from tenure.domain.dunning import DunningPolicy
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.plans import Plan
from tenure.domain.subscription import SubscriptionStatus
from tenure.fakes import FixedClock
from tenure.notify.compose import Composer
from tenure.payments.sandbox import SandboxGateway
from tenure.services import catalog, subscriptions
from tenure.services.context import Services
from tenure.services.reminders import send_due
from tenure.settings import Settings
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

API_APP = Path(__file__).resolve().parents[2] / "functions" / "api" / "app.py"
PUBLIC_URL = "https://billing.acme.example"
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
TRIAL = Plan(
    id="pro-trial", name="Pro", amount=1000, currency="USD", interval="month", trial_days=14
)
FORM_TOKEN = re.compile(r'name="f" value="([^"]+)"')


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, EmailMessage]] = []

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        self.sent.append((kind, message))
        return f"<{len(self.sent)}@outbox.test>"

    def of(self, kind: str) -> list[str]:
        """The plain-text bodies of the emails of `kind` sent so far."""
        bodies = []
        for sent_kind, message in self.sent:
            part = message.get_body(("plain",)) if sent_kind == kind else None
            if part is not None:
                bodies.append(str(part.get_content()))  # type: ignore[attr-defined]
        return bodies


def _api() -> ModuleType:
    """functions/api/app.py under the name the API tests give it (every function has an app.py)."""
    if str(API_APP.parent) not in sys.path:
        sys.path.append(str(API_APP.parent))
    name = "tenure_api_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, API_APP)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _request(method: str, url: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    """What the customer's browser sends, as API Gateway hands it to the api function."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    headers = {"host": parts.netloc, "accept": "text/html", "user-agent": "browser"}
    if form is not None:
        headers |= {
            "content-type": "application/x-www-form-urlencoded",
            "origin": f"{parts.scheme}://{parts.netloc}",
            "sec-fetch-site": "same-origin",
        }
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": headers,
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {"method": method, "path": parts.path, "sourceIp": "127.0.0.1"},
            "requestId": "req-trial",
            "stage": "$default",
        },
        "body": urlencode(form) if form is not None else None,
        "isBase64Encoded": False,
    }
    reply = _api().lambda_handler(event, None)
    return {"status": reply["statusCode"], "text": reply.get("body") or ""}


@pytest.fixture
def shop(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    local_stack.reset_table()
    monkeypatch.setenv("TENURE_LINK_SECRET", "trial-link-key")
    monkeypatch.setenv("TENURE_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("TENURE_BUSINESS_NAME", "Acme")
    repo = DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])
    clock = FixedClock(T0)
    svc = Services(repo, clock, SandboxGateway(clock=clock.now), policy=DunningPolicy())
    bootstrap.use(bootstrap.Wiring(svc, Settings()))
    catalog.create_plan(svc, TRIAL)
    catalog.create_customer(svc, "carol", "carol@example.com", name="Carol")
    yield svc
    bootstrap.use(None)


def _reminders(svc: Services, outbox: Outbox) -> None:
    links = bootstrap.wiring().link_maker()
    report = send_due(svc, outbox, Composer("billing@acme.example", "Acme"), links, svc.clock.now())
    assert not report.counts.get("failed") and not report.counts.get("error"), report


def test_a_trial_without_a_card_asks_for_one_and_the_card_page_collects_the_first_invoice(
    shop: Services,
) -> None:
    svc, outbox = shop, Outbox()
    clock: Any = svc.clock
    subscriptions.subscribe(svc, "sub-carol", "carol", TRIAL.id)
    sub = svc.repo.get_subscription("sub-carol")
    assert sub is not None and sub.trial_end is not None

    # Three days before the trial ends: no card is on file, so the email asks for one.
    clock.set(sub.trial_end - timedelta(days=3))
    _reminders(svc, outbox)
    (trial_ending,) = outbox.of("trial_ending")
    assert "There is no card on file yet: add a card by March 16, 2026" in trial_ending
    assert f"Add a card: {PUBLIC_URL}/pages/card?t=" in trial_ending

    # The trial converts with nothing to charge: the first invoice waits for a card.
    clock.set(sub.trial_end)
    subscriptions.process_due(svc, "sub-carol")
    (first,) = svc.repo.list_invoices("sub-carol")
    assert first.status is InvoiceStatus.OPEN and first.attempts == 0
    assert svc.repo.get_subscription("sub-carol").status is SubscriptionStatus.PAST_DUE  # type: ignore[union-attr]

    _reminders(svc, outbox)
    _reminders(svc, outbox)  # a second run sends nothing again
    (required,) = outbox.of("card_required")
    assert "there is no card on file to pay $10.00" in required
    link = re.search(r"Add a card: (\S+)", required)
    assert link is not None and link.group(1).startswith(f"{PUBLIC_URL}/pages/card?t=")

    # The customer opens the link and adds a sandbox card on the page.
    page = _request("GET", link.group(1))
    assert page["status"] == 200
    assert "$10.00" in page["text"] and "No card on file" in page["text"]
    form_token = FORM_TOKEN.search(page["text"])
    assert form_token is not None
    token = parse_qs(urlsplit(link.group(1)).query)["t"][0]
    done = _request(
        "POST",
        f"{PUBLIC_URL}/pages/card",
        {"t": token, "f": form_token.group(1), "card": "4242 4242 4242 4242"},
    )

    assert done["status"] == 200, done["text"]
    assert "Paid — thank you" in done["text"]
    paid = svc.repo.get_invoice(first.id)
    assert paid is not None and paid.status is InvoiceStatus.PAID
    assert svc.repo.get_subscription("sub-carol").status is SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    _reminders(svc, outbox)
    assert len(outbox.of("card_required")) == 1
    assert len(outbox.of("receipt")) == 1
