"""What a warm container keeps read for its renewals (the programs, a plan: up to a minute
old) never answers a customer or an operator acting on it: two Lambda containers over one
DynamoDB Local table, one of them holding a copy from before the other's change."""

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tenure import bootstrap
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway
from tenure.store.dynamodb import DynamoRepository
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import DEV_API_TOKEN, LocalStack

OFFERS = {"save_offers": [{"id": "pause1", "kind": "pause", "months": 1}]}
Containers = tuple[bootstrap.Wiring, bootstrap.Wiring]


@pytest.fixture
def containers(local_stack: LocalStack) -> Iterator[Containers]:
    """Two containers' wirings over one table and one provider; the programs either one
    keeps never age."""
    local_stack.reset_table()
    client, table = local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"]
    clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))
    provider = SandboxGateway(clock=clock.now)  # one provider, as every container has

    def container() -> bootstrap.Wiring:
        store = DynamoRepository(client, table, monotonic=lambda: 0.0)
        return bootstrap.build(store=store, clock=clock, gateway=provider)

    yield container(), container()
    bootstrap.use(None)


def call(container: bootstrap.Wiring, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    bootstrap.use(container)
    headers = {"authorization": f"Bearer {os.environ.get('TENURE_API_TOKEN') or DEV_API_TOKEN}"}
    reply = functions.invoke("api", functions.http_event(method, path, body, headers))
    return reply["statusCode"], json.loads(reply["body"])


def test_a_customer_asking_for_offers_sees_those_configured_a_moment_ago_not_a_cancel(
    containers: Containers,
) -> None:
    # A container that read the programs before any offer existed (a renewal, say) kept that
    # copy for a minute: it canceled at once a customer who asked to see the offers.
    front, admin = containers
    plan = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    assert call(admin, "POST", "/v1/plans", plan)[0] == 201
    assert call(admin, "POST", "/v1/customers", {"id": "ana", "email": "ana@example.com"})[0] == 201
    card = {"payment_method": "pm_card_visa"}
    assert call(admin, "POST", "/v1/customers/ana/payment-methods", card)[0] == 201
    body = {"id": "sub-ana", "customer": "ana", "plan": "basic"}
    assert call(admin, "POST", "/v1/subscriptions", body)[0] == 201
    bootstrap.use(front)
    assert front.services.repo.get_programs().programs.save_offers is None  # kept, unaged
    assert call(admin, "PUT", "/v1/programs", OFFERS | {"version": 0})[0] == 200

    status, done = call(front, "POST", "/v1/subscriptions/sub-ana/cancel", {"offers": True})

    assert status == 200, done
    assert [o["id"] for o in done["offers"]] == ["pause1"]
    assert done["subscription"]["status"] == "active"
    assert call(admin, "GET", "/v1/subscriptions/sub-ana")[1]["status"] == "active"


def test_a_price_change_shows_and_stacks_on_a_container_that_kept_the_plan(
    containers: Containers,
) -> None:
    # The plan a container keeps for a minute (for renewals) answered GET /v1/plans/{id}
    # without a change just made elsewhere, and a second change from that container was a
    # 409 "changed meanwhile" at every retry for that minute.
    front, admin = containers
    plan = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    assert call(admin, "POST", "/v1/plans", plan)[0] == 201
    assert call(front, "GET", "/v1/plans/basic")[1]["price_changes"] == []
    first = {"amount": 1200, "effective_at": "2026-06-01T00:00:00Z"}
    assert call(admin, "POST", "/v1/plans/basic/price-changes", first)[0] == 201

    shown = call(front, "GET", "/v1/plans/basic")[1]
    assert [c["amount"] for c in shown["price_changes"]] == [1200]
    second = {"amount": 1500, "effective_at": "2026-09-01T00:00:00Z"}
    status, done = call(front, "POST", "/v1/plans/basic/price-changes", second)
    assert status == 201, done
    assert [c["amount"] for c in done["price_changes"]] == [1200, 1500]


def test_an_amount_less_refund_follows_the_policy_configured_a_moment_ago(
    containers: Containers,
) -> None:
    # The refund policy was read from the programs a container keeps for a minute: in the
    # minute after the business set "nothing after one day", a container that had read the
    # programs before (no policy: the whole rest) refunded a payment in full.
    front, admin = containers
    plan = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    assert call(admin, "POST", "/v1/plans", plan)[0] == 201
    assert call(admin, "POST", "/v1/customers", {"id": "ana", "email": "ana@example.com"})[0] == 201
    card = {"payment_method": "pm_card_visa"}
    assert call(admin, "POST", "/v1/customers/ana/payment-methods", card)[0] == 201
    body = {"id": "sub-ana", "customer": "ana", "plan": "basic"}
    status, made = call(admin, "POST", "/v1/subscriptions", body)
    assert status == 201, made
    bootstrap.use(front)
    assert front.services.repo.get_programs().programs.refunds is None  # kept, unaged
    policy = {"refunds": {"window_days": 1, "after_window": "none"}}
    assert call(admin, "PUT", "/v1/programs", policy | {"version": 0})[0] == 200
    clock = front.services.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime(2026, 4, 3, tzinfo=UTC))  # past the one-day window

    invoice = made["invoice"]["id"]
    status, refused = call(front, "POST", f"/v1/invoices/{invoice}/refund", {})

    assert status == 422, refused
    assert refused["detail"][0]["loc"] == ["body", "amount"]
    status, cancel = call(front, "POST", "/v1/subscriptions/sub-ana/cancel", {"refund": "policy"})
    assert status == 200, cancel
    assert cancel["refunds"] == []
