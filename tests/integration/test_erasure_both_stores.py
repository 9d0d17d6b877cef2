"""An erased customer's name and email appear nowhere: not in any item of the table (DynamoDB
Local, scanned whole), not in the in-memory store, not in the outbox, not in the logs; while
their invoices still total as they did and the daily metrics come out the same."""

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tenure.domain.customers import billing_details
from tenure.domain.dunning import DunningPolicy
from tenure.domain.plans import Plan
from tenure.domain.privacy import pseudonym_email
from tenure.domain.webhooks_out import WebhookEndpoint
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.notify.compose import Composer
from tenure.notify.mailers import OutboxMailer, forget_outbox_copies
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.ports import Repository
from tenure.services import (
    cards,
    catalog,
    idempotency,
    privacy,
    reminders,
    retention,
    subscriptions,
    webhooks_out,
)
from tenure.services import operator_actions as ops
from tenure.services.cancellation import request_cancel
from tenure.services.context import Services
from tenure.services.due import work_due
from tenure.store.codec import from_item
from tenure.store.dynamodb import DynamoRepository

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
NAME, EMAIL = "Dora Marquez-Liddell", "dora.marquez@example.org"
LEGAL, ADDRESS, TAX_ID = "Marquez Consulting SL", "Calle Mayor 7\n28013 Madrid", "ESB12345678"
WORDS = "I am moving to Valparaiso and will not need it"
NOTE = "Dora rang from her office line"
SECRETS = (NAME, EMAIL, "dora.marquez", LEGAL, "Calle Mayor", TAX_ID, WORDS, NOTE)


def link(customer_id: str, purpose: str, subject: str, action: str | None = None) -> str:
    return f"https://pages.example/{purpose}"


def run_until(
    svc: Services, mailer: OutboxMailer, until: datetime, step: timedelta = timedelta(hours=6)
) -> None:
    """The scheduler, charger and reminders on one clock, up to `until`, a `step` at a time."""
    clock = svc.clock
    assert isinstance(clock, FixedClock)
    compose = Composer("billing@shop.example", "Shop")
    while clock.now() < until:
        for item in svc.repo.due(clock.now()):
            work_due(svc, item)
        reminders.send_due(svc, mailer, compose, link, clock.now())
        clock.advance(step)


def everything_stored(repo: Repository) -> str:
    if isinstance(repo, DynamoRepository):
        client, table = repo._ddb, repo._table
        items, kwargs = [], {"TableName": table}
        while True:  # the whole table: what this test must prove holds nothing of Dora
            page = client.scan(**kwargs)
            items += [from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return repr(items)
    assert isinstance(repo, InMemoryRepository)
    return repr(repo.__dict__)


def without_hold(stored: str, repo: Repository) -> str:
    hold = repo.get_legal_hold("dora")
    assert hold is not None
    for kept in (hold.name, hold.address, hold.tax_id):
        assert kept is not None
        stored = stored.replace(repr(kept)[1:-1], "", 1)  # the hold's own copy, once
    return stored


def test_an_erased_customer_is_nowhere_in_the_store_the_outbox_or_the_logs(
    repo: Repository,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What the functions log (INFO and up; botocore's wire DEBUG echoes request bodies and is
    # never on in a function), from every logger.
    caplog.set_level(logging.INFO)
    clock = FixedClock(T0)
    gateway = SandboxGateway(clock=clock.now)
    svc = Services(repo, clock, gateway, policy=DunningPolicy())
    outbox = OutboxMailer(tmp_path / "outbox")
    plan = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")
    catalog.create_plan(svc, plan)
    billing = billing_details(LEGAL, ADDRESS, TAX_ID)
    catalog.create_customer(svc, "dora", EMAIL, name=NAME, billing=billing)
    catalog.create_customer(svc, "eve", "eve@example.org", name="Eve")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    for who in ("dora", "eve"):
        cards.update_payment_method(svc, who, visa, "sandbox", True)
        subscriptions.subscribe(svc, f"sub-{who}", who, "basic")
    repo.add_webhook_endpoint(
        WebhookEndpoint("we_1", "https://app.example/h", ("*",), "whsec_" + "a" * 32, T0)
    )
    run_until(svc, outbox, T0 + timedelta(days=35))
    ops.adjust_credit(svc, "sub-dora", 100, actor="support-anna", note=NOTE)
    clock.advance(timedelta(days=1))  # a day no other record of hers points to
    request_cancel(svc, "sub-dora", at_period_end=True, reason="moving", reason_text=WORDS)
    run_until(svc, outbox, T0 + timedelta(days=65))
    for event in repo.events_between(T0, clock.now()):
        webhooks_out.fan_out(svc, event, None)
    assert all(s in everything_stored(repo) for s in (NAME, EMAIL, WORDS, NOTE))
    assert catalog.find_customers_by_email(svc, "DORA", 10) == [(EMAIL, "dora")]
    assert any(EMAIL in p.read_text() for p in (tmp_path / "outbox").iterdir())
    invoices = {i.id: (i.number, i.total) for i in repo.list_invoices("sub-dora")}
    days = [date(2026, 3, 2) + timedelta(days=n) for n in range(64)]
    metrics = [retention.aggregate_day(svc, d).snapshot for d in days]

    # An API request about her just before, with an Idempotency-Key, recorded as the API's
    # middleware records it (functions/api/api_idempotency.py): its stored answer names her.
    assert idempotency.claim(svc, "api:card-dora", "fp") is None
    mastercard = payment_method_for("5555555555554444")
    assert mastercard is not None
    with svc.noting_customers() as touched:  # POST /v1/customers/dora/payment-methods
        cards.update_payment_method(svc, "dora", mastercard, "sandbox", False)
    assert touched == {"dora"}
    answer = json.dumps({"id": "dora", "name": NAME, "email": EMAIL})
    idempotency.complete(svc, "api:card-dora", 200, answer, idempotency.about(None, touched))
    assert EMAIL in repr(repo.claim_idempotency("api:card-dora", "fp", clock.now()))

    done = privacy.erase_customer(svc, "dora", actor="dpo", note="GDPR request 7")
    # Her key still holds its request (it must never run twice), without the answer.
    replayed = repo.claim_idempotency("api:card-dora", "fp", clock.now())
    assert replayed is not None and (replayed.status, replayed.response) == ("erased", None)
    forget_outbox_copies(tmp_path / "outbox", "dora")
    run_until(svc, outbox, T0 + timedelta(days=400), timedelta(days=1))  # nothing more to her

    assert done.customer.email == pseudonym_email("dora")
    assert catalog.find_customers_by_email(svc, "dora", 10) == []
    stored = without_hold(everything_stored(repo), repo)
    assert [s for s in SECRETS if s in stored] == []
    mail = "".join(p.read_text(errors="replace") for p in (tmp_path / "outbox").iterdir())
    assert [s for s in SECRETS if s in mail] == [] and "eve@example.org" in mail
    logged = caplog.text + "".join(capsys.readouterr())
    assert [s for s in SECRETS if s in logged] == []
    after = {i.id: (i.number, i.total) for i in repo.list_invoices("sub-dora")}
    assert after == invoices and all(total > 0 for _, total in after.values())
    for invoice in repo.list_invoices("sub-dora"):
        assert invoice.total == sum(line.amount for line in invoice.lines)
    assert [retention.aggregate_day(svc, d).snapshot for d in days] == metrics
    hold = privacy.legal_hold(svc, "dora")
    assert (hold.name, hold.address, hold.tax_id) == (LEGAL, ADDRESS, TAX_ID)
    # The provider's customer record lost her too, through the due work on this store.
    erased = repo.get_customer("dora")
    assert erased is not None and erased.provider_customer_id is not None
    assert erased.provider_erasure is not None and erased.provider_erasure.erased_at is not None
    at_provider = repr(gateway.customer(erased.provider_customer_id))
    assert [s for s in SECRETS if s in at_provider] == []
    assert sorted(hold.invoices) == sorted(n for n, _ in invoices.values() if n)
