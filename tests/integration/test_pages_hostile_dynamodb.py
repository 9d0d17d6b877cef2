"""The customer pages' query parameters, hostile, against DynamoDB Local: whatever a link's
holder puts in them is a page saying so, never a 500 (DynamoDB refuses over-long keys)."""

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from tenure import bootstrap
from tenure.fakes import FixedClock
from tenure.notify.customer_links import make_link
from tenure.notify.link_tokens import LinkPurpose
from tenure.store.dynamodb import DynamoRepository
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import DEV_API_TOKEN, LocalStack

NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def shop(local_stack: LocalStack) -> Iterator[bootstrap.Wiring]:
    local_stack.reset_table()
    repo = DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])
    wiring = bootstrap.build(store=repo, clock=FixedClock(NOW))
    bootstrap.use(wiring)
    headers = {"authorization": f"Bearer {os.environ.get('TENURE_API_TOKEN') or DEV_API_TOKEN}"}
    for path, body in [
        ("/v1/plans", {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}),
        ("/v1/customers", {"id": "ana", "email": "ana@example.com"}),
        ("/v1/customers/ana/payment-methods", {"payment_method": "pm_card_visa"}),
        ("/v1/subscriptions", {"id": "sub-ana", "customer": "ana", "plan": "basic"}),
    ]:
        reply = functions.invoke("api", functions.http_event("POST", path, body, headers))
        assert reply["statusCode"] == 201, reply["body"]
    yield wiring
    bootstrap.use(None)


@pytest.mark.parametrize("page", ["/pages/invoice", "/pages/invoice/pdf"])
@pytest.mark.parametrize("invoice", ["i" * 1100, "in_" + "9" * 3000, "in_x\u202e"])
def test_an_invoice_parameter_no_invoice_could_have_is_not_found(
    shop: bootstrap.Wiring, page: str, invoice: str
) -> None:
    url = make_link(shop.settings, "ana", LinkPurpose.MANAGE_SUBSCRIPTION, "sub-ana", NOW)
    token = parse_qs(urlparse(url).query)["t"][0]
    event = functions.http_event("GET", page)
    event["queryStringParameters"] = {"t": token, "invoice": invoice}
    event["rawQueryString"] = ""

    reply = functions.invoke("api", event)

    assert reply["statusCode"] == 404, reply["body"][:300]
    assert "in_" + "9" * 20 not in json.dumps(reply)
