"""Exactly once on DynamoDB Local: the marker commits with the effect, even under a race."""

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tenure import bootstrap
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.payments import stripe_objects as so
from tenure.services import catalog, payments, subscriptions
from tenure.services.context import Services
from tenure.services.provider_events import Applied, apply_provider_event, marker_key
from tenure.store.dynamodb import DynamoRepository
from tenure.store.serde import from_item
from tenure.webhooks import stripe_events
from tenure_local import functions
from tenure_local.stack import LocalStack
from tenure_local.webhooks_provider import ProviderSandbox

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def shop(local_stack: LocalStack, fresh_table: str) -> Any:
    repo = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
    clock = FixedClock(T0)
    gateway = ProviderSandbox(clock=clock.now)
    svc = Services(repo=repo, clock=clock, gateway=gateway)
    catalog.create_customer(svc, "alice", "alice@example.com")
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    payments.update_payment_method(svc, "alice", "pm_sandbox_async_succeeds", "sandbox", True)
    outcome = subscriptions.subscribe(svc, "sub-1", "alice", "basic")
    assert outcome.invoice is not None
    clock.advance(timedelta(hours=4))
    gateway.settle_pending()
    succeeded = [e for e in gateway.events if e["type"] == "payment_intent.succeeded"][-1]
    return svc, outcome.invoice.id, succeeded


def apply(svc: Services, event: dict[str, Any]) -> Applied:
    parsed = stripe_events.parse(so.event_payload(event))
    return apply_provider_event(svc, parsed, link_provider="sandbox")


def test_a_redelivery_finds_the_marker_and_changes_nothing(
    shop: Any, local_stack: LocalStack
) -> None:
    svc, invoice_id, succeeded = shop
    assert apply(svc, succeeded) is Applied.APPLIED
    invoice = svc.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    version = invoice.version
    assert apply(svc, succeeded) is Applied.DUPLICATE
    again = svc.repo.get_invoice(invoice_id)
    assert again is not None and again.version == version
    # The marker expires with DynamoDB's TTL, 30 days on.
    raw = local_stack.dynamodb_client().get_item(
        TableName=local_stack.table_name,
        Key={
            "PK": {"S": f"MARK#{marker_key(stripe_events.parse(so.event_payload(succeeded)))}"},
            "SK": {"S": "MARK"},
        },
    )["Item"]
    expires = datetime.fromtimestamp(int(from_item(raw)["expires_at"]), UTC)
    assert expires == T0 + timedelta(hours=4) + timedelta(days=30)


def test_concurrent_duplicates_apply_once(shop: Any, local_stack: LocalStack) -> None:
    svc, invoice_id, succeeded = shop
    results: list[Applied] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        # Each worker its own client, as concurrent Lambda invocations would have.
        repo = DynamoRepository(local_stack.dynamodb_client(), local_stack.table_name)
        worker = Services(repo=repo, clock=svc.clock, gateway=svc.gateway)
        barrier.wait()
        results.append(apply(worker, succeeded))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(Applied.APPLIED) == 1, results
    assert set(results) <= {Applied.APPLIED, Applied.DUPLICATE}
    paid = [c for c in svc.repo.list_charges(invoice_id) if c.outcome == "succeeded"]
    assert len(paid) == 1


def test_the_secret_can_come_from_secrets_manager_as_json_by_provider(
    shop: Any, local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, _, succeeded = shop
    secrets = boto3.client("secretsmanager")
    name = f"tenure/test/webhooks-{id(shop)}"
    arn = secrets.create_secret(
        Name=name, SecretString=json.dumps({"stripe": ["whsec_new", "whsec_old"]})
    )["ARN"]
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", arn)
    monkeypatch.delenv("TENURE_STRIPE_WEBHOOK_SECRET")
    bootstrap.install(svc)
    try:
        body = so.event_payload(succeeded)
        headers = stripe_events.sign(body, "whsec_old", int(svc.clock.now().timestamp()))
        event = functions.http_event("POST", "/webhooks/stripe", headers=headers, raw_body=body)
        result = functions.invoke("webhooks", event)
        assert result["statusCode"] == 200, result
        assert json.loads(result["body"])["result"] == "applied"
    finally:
        bootstrap.reset()
