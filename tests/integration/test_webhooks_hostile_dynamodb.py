"""Hostile webhook input on DynamoDB Local: the limits the in-memory fake does not have (key
sizes, number precision) hold for the largest values the parsers accept, and a signed body
Tenure cannot read is recorded under its own marker."""

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from debit_shop import a_settled_debit

from tenure import bootstrap
from tenure.payments import stripe_objects
from tenure.services.context import Services
from tenure.store.codec import from_item
from tenure.webhooks import stripe_events
from tenure.webhooks.jsonbody import LATEST, MAX_AMOUNT, MAX_ID
from tenure_local.runtime import functions
from tenure_local.simulator.webhooks_provider import ProviderSandbox
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SECRET = "whsec_hostile_test"
# Every printable ASCII character an id may hold, the key separator '#' among them.
ODD_ID = ("evt_#|\"'\\{}<>~" * 30)[:MAX_ID]


@pytest.fixture
def paid(
    local_stack: LocalStack, fresh_table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Services, str, ProviderSandbox]]:
    """A paid first invoice on DynamoDB Local, behind the real handler."""
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", SECRET)
    svc, invoice_id, gateway = a_settled_debit(local_stack, fresh_table, T0)
    bootstrap.use(bootstrap.Wiring(svc))
    try:
        assert post(svc, last(gateway, "payment_intent.succeeded")) == (200, "applied")
        yield svc, invoice_id, gateway
    finally:
        bootstrap.use(None)


def last(gateway: ProviderSandbox, kind: str) -> dict[str, Any]:
    return copy.deepcopy([e for e in gateway.events if e["type"] == kind][-1])


def post(svc: Services, event: dict[str, Any] | bytes) -> tuple[int, str]:
    body = event if isinstance(event, bytes) else stripe_objects.event_payload(event)
    headers = stripe_events.sign(body, SECRET, int(svc.clock.now().timestamp()))
    result = functions.invoke(
        "webhooks", functions.http_event("POST", "/webhooks/stripe", headers=headers, raw_body=body)
    )
    answer = json.loads(result["body"])
    return int(result["statusCode"]), answer.get("result") or answer.get("error")


def test_the_largest_values_the_parser_accepts_fit_dynamodb_keys_and_numbers(
    paid: tuple[Services, str, ProviderSandbox],
) -> None:
    svc, invoice_id, gateway = paid
    gateway.dashboard_refund(svc.repo.get_charge(invoice_id, 1).payment_id, None, "r-1")  # type: ignore[union-attr]
    refunded = last(gateway, "charge.refunded")
    refunded.update(id=ODD_ID, created=LATEST - 1)  # the latest time accepted: 2099-12-31
    refunded["data"]["object"]["amount_refunded"] = MAX_AMOUNT
    refunded["data"]["object"]["metadata"]["tenure_attempt"] = "9999"
    assert post(svc, refunded) == (200, "applied")  # found through the payment's link
    invoice = svc.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 1000  # never more than was paid

    succeeded = last(gateway, "payment_intent.succeeded")
    succeeded["id"] = "evt_" + "z" * (MAX_ID - 4)
    succeeded["data"]["object"]["metadata"].update(
        tenure_invoice_id="in_" + "#" * (MAX_ID - 3), tenure_subscription_id="s" * MAX_ID
    )
    assert post(svc, succeeded) == (200, "unmatched")  # a 255-character key read, no error


def test_a_signed_body_tenure_cannot_read_is_recorded_once_with_a_ttl(
    paid: tuple[Services, str, ProviderSandbox], local_stack: LocalStack
) -> None:
    svc, _, gateway = paid
    unreadable = last(gateway, "payment_intent.succeeded")
    unreadable.update(id="evt_unreadable", created=10**20)
    assert post(svc, unreadable) == (200, "rejected")
    assert post(svc, unreadable) == (200, "rejected")  # the marker is there: nothing written
    item = local_stack.dynamodb_client().get_item(
        TableName=local_stack.table_name,
        Key={"PK": {"S": "MARK#webhook-rejected:stripe:evt_unreadable"}, "SK": {"S": "MARK"}},
    )["Item"]
    expires = datetime.fromtimestamp(int(from_item(item)["expires_at"]), UTC)
    assert expires == T0 + timedelta(hours=4) + timedelta(days=30)
    assert post(svc, b"[" * 10_000) == (200, "rejected")
