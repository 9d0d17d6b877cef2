"""Idempotency-Keys are each token's own: two named tokens of one business that pick the same
key for different requests both succeed, and neither is ever answered with the other's
stored response; the administrator's keys stay where they were before keys were per token."""

import hashlib
import json
from collections.abc import Iterator
from types import ModuleType

import pytest
from api_harness import TOKEN, Api, sandbox_api

from tenure import bootstrap
from tenure.services import idempotency
from tenure.services.context import Services

SHOP = "shop-system-" + "s" * 32
CRM = "crm-system-" + "c" * 32
NAMED = json.dumps(
    [
        {"name": "shop", "token": SHOP, "scopes": ["admin"], "kind": "system"},
        {"name": "crm", "token": CRM, "scopes": ["billing"], "kind": "system"},
    ]
)
KEY = {"Idempotency-Key": "order-1"}


@pytest.fixture
def named(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API behind two named system tokens; alice and bob, and a basic plan."""
    with sandbox_api(api_module, monkeypatch, tokens=NAMED, token=SHOP) as api:
        api.plan("basic", 1000)
        api.customer("alice")
        api.customer("bob")
        yield api


def test_two_tokens_with_the_same_key_for_different_requests_both_succeed(named: Api) -> None:
    first = named.post("/v1/subscriptions", {"customer": "alice", "plan": "basic"}, headers=KEY)
    second = named.post(
        "/v1/subscriptions", {"customer": "bob", "plan": "basic"}, headers=KEY, token=CRM
    )

    assert (first.status, second.status) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    owners = sorted(sub.customer_id for sub in named.repo.subscriptions.values())
    assert owners == ["alice", "bob"]


def test_the_same_request_and_key_from_another_token_runs_as_its_own(named: Api) -> None:
    # Without per-token keys the second token was answered with the first's stored answer
    # (another principal's response), and its own customer was never created.
    body = {"id": "carol", "email": "carol@example.com"}
    first = named.post("/v1/customers", body, headers=KEY)
    second = named.post("/v1/customers", body, headers=KEY, token=CRM)

    assert first.status == 201
    assert (second.status, second.json["error"]) == (409, "conflict")
    assert "Idempotent-Replayed" not in second.headers


def test_one_token_keeps_its_replay_422_and_409(named: Api) -> None:
    body = {"customer": "alice", "plan": "basic"}
    first = named.post("/v1/subscriptions", body, headers=KEY)
    again = named.post("/v1/subscriptions", body, headers=KEY)
    other = named.post("/v1/subscriptions", {**body, "customer": "bob"}, headers=KEY)

    assert (again.status, again.text) == (first.status, first.text)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (other.status, other.json["error"]) == (422, "idempotency_key_reused")
    assert len(named.repo.subscriptions) == 1
    # A claim of the crm token's still in flight (its function died) holds its key only.
    claimed = idempotency.claim(
        _services(), "api@crm:order-2", _fingerprint("/v1/subscriptions", body)
    )
    assert claimed is None
    second = {"Idempotency-Key": "order-2"}
    busy = named.post("/v1/subscriptions", body, headers=second, token=CRM)
    mine = named.post("/v1/subscriptions", {**body, "customer": "bob"}, headers=second)
    assert (busy.status, busy.json["error"]) == (409, "idempotency_in_progress")
    assert mine.status == 201


def test_the_administrators_record_stored_before_the_upgrade_still_replays(
    api_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox_api(api_module, monkeypatch) as api:  # the bare token: principal `api`
        body = {"id": "dora", "email": "dora@example.com"}
        # Given the record the administrator's key got before keys were per token
        fingerprint = _fingerprint("/v1/customers", body)
        assert idempotency.claim(_services(), "api:order-1", fingerprint) is None
        idempotency.complete(_services(), "api:order-1", 201, '{"id":"dora","stored":true}')

        reply = api.post("/v1/customers", body, headers=KEY, token=TOKEN)

        assert (reply.status, reply.json) == (201, {"id": "dora", "stored": True})
        assert reply.headers["Idempotent-Replayed"] == "true"
        assert "dora" not in api.repo.customers


def _fingerprint(path: str, body: dict[str, str]) -> str:
    """As the API takes it: the method, the path and the raw body (as the harness sends it)."""
    return hashlib.sha256(f"POST {path}\n{json.dumps(body)}".encode()).hexdigest()


def _services() -> Services:
    return bootstrap.wiring().services


@pytest.mark.parametrize(
    ("principal", "key", "record"),
    [
        ("api", "order-1", "api:order-1"),
        ("shop", "order-1", "api@shop:order-1"),
        ("shop", "a:b", "api@shop:a:b"),
    ],
)
def test_a_record_key_is_per_principal(
    api_module: ModuleType, principal: str, key: str, record: str
) -> None:
    from api_idempotency import idempotency_record_key  # the API's folder is on the path now

    assert idempotency_record_key(principal, key) == record


def test_no_named_principals_record_is_one_the_old_format_or_another_principal_makes(
    api_module: ModuleType,
) -> None:
    from api_idempotency import idempotency_record_key

    # Keys may hold ":" and "@"; names hold neither (a-z 0-9 . _ -).
    keys = ["order-1", "shop:order-1", "@shop:order-1", "a:b", "api@shop:x", ":", "@"]
    names = ["shop", "shop.a", "crm", "a", "api-2"]
    old = {idempotency_record_key("api", key) for key in keys}
    new = [idempotency_record_key(name, key) for name in names for key in keys]
    assert old.isdisjoint(new)
    assert len(set(new)) == len(new)
