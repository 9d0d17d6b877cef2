"""Test harness for the HTTP API: API Gateway v2 events, the real handler, in-memory fakes."""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway
from tenure.services.context import Services
from tenure.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
API_DIR = REPO_ROOT / "functions" / "api"
EVENTS_DIR = REPO_ROOT / "events" / "api"
TOKEN = "test-token"
# Named tokens for the tests of scopes and actors; each test file gives them its own scopes.
ANNA = "anna-support-" + "a" * 32  # a person
DASH = "dashboards-ro-" + "b" * 32  # a dashboard: read
ROOT = "platform-admin-" + "c" * 32  # the platform's administrator
START = datetime(2026, 4, 1, tzinfo=UTC)


def load_api() -> ModuleType:
    """Import functions/api/app.py under its own name: every function has an app.py.

    Its siblings (api_*.py) have unique names, so the folder is appended to sys.path, never
    put in front of another function's folder.
    """
    if str(API_DIR) not in sys.path:
        sys.path.append(str(API_DIR))
    name = "tenure_api_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, API_DIR / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_resolver() -> ModuleType:
    """functions/api/api_resolver.py, which the handler imports on its first request."""
    load_api()
    return importlib.import_module("api_resolver")


def http_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event; a dict or list body is sent as JSON."""
    raw_body = body if body is None or isinstance(body, str) else json.dumps(body)
    all_headers = {"content-type": "application/json", "user-agent": "pytest"}
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    query = query or {}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": all_headers,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Apr/2026:00:00:00 +0000",
            "timeEpoch": 1775001600000,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    base64_encoded: bool = False

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def content(self) -> bytes:
        """The body as the client receives it (API Gateway decodes a base64 body)."""
        return base64.b64decode(self.text) if self.base64_encoded else self.text.encode()


@dataclass
class Api:
    """Calls the real lambda_handler with events, against the fakes installed in bootstrap."""

    module: ModuleType
    repo: InMemoryRepository
    clock: FixedClock
    token: str | None = TOKEN
    sent: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: dict[str, Any]) -> Reply:
        self.sent.append(event)
        result = self.module.lambda_handler(event, None)
        headers, body = result.get("headers") or {}, result.get("body") or ""
        return Reply(result["statusCode"], headers, body, bool(result.get("isBase64Encoded")))

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        token: str | None = "default",
    ) -> Reply:
        token = self.token if token == "default" else token
        all_headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        all_headers.update(headers or {})
        return self.invoke(http_event(method, path, body, all_headers, query))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, body, **kwargs)

    # -- factories for the common setup ------------------------------------------------------
    def plan(self, plan_id: str = "basic", amount: int = 1000, **fields: Any) -> dict[str, Any]:
        body = {"id": plan_id, "amount": amount, "currency": "USD", "interval": "month", **fields}
        reply = self.post("/v1/plans", body)
        assert reply.status == 201, reply.text
        return reply.json

    def customer(self, customer_id: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"id": customer_id, "email": f"{customer_id}@example.com", **fields}
        reply = self.post("/v1/customers", body)
        assert reply.status == 201, reply.text
        return reply.json

    def subscription(
        self, sub_id: str = "sub-alice", customer: str = "alice", plan: str = "basic"
    ) -> dict[str, Any]:
        reply = self.post("/v1/subscriptions", {"id": sub_id, "customer": customer, "plan": plan})
        assert reply.status == 201, reply.text
        return reply.json

    def activate(self, sub_id: str) -> None:
        """The first invoice got paid (the payment path lives in another function)."""
        from tenure.ports import Commit

        sub = self.repo.get_subscription(sub_id)
        assert sub is not None
        plan = self.repo.get_plan(sub.plan_id)
        assert plan is not None
        sub.activate(plan, self.clock.now())
        change = Commit()
        change.add_subscription(sub)
        self.repo.commit(change)

    def state(self) -> dict[str, Any]:
        """Everything the store holds, to show that a refused request changed nothing."""
        r = self.repo
        return copy.deepcopy(
            {
                "customers": r.customers,
                "payment_methods": r.payment_methods,
                "plans": r.plans,
                "coupons": {k: (v, v.version) for k, v in r.coupons.items()},
                "subscriptions": {k: (v, v.version) for k, v in r.subscriptions.items()},
                "invoices": r.invoices,
                "installment_plans": r.installment_plans,
                "collection_cases": {k: (v, v.version) for k, v in r.collection_cases.items()},
                "events": r.events,
                "ledger": r.ledger,
                "idempotency": r.idempotency,
                "refunds": r.refunds,
                "audit": r.audit,
                "commits": r.commits,
            }
        )


@contextmanager
def sandbox_api(
    module: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tokens: str = TOKEN,
    token: str | None = TOKEN,
    settings: Callable[[], Settings] | None = None,
) -> Iterator[Api]:
    """The API on the fakes, its services charging through the sandbox, behind `tokens` (what
    TENURE_API_TOKEN holds), calling with `token`; `settings` makes the wiring's settings
    once the environment is set (None: the wiring's own)."""
    monkeypatch.setenv("TENURE_API_TOKEN", tokens)
    monkeypatch.delenv("API_TOKEN_SECRET_ARN", raising=False)
    repo, clock = InMemoryRepository(), FixedClock(START)
    services = Services(repo, clock, SandboxGateway(clock=clock.now))
    bootstrap.use(bootstrap.Wiring(services, settings() if settings else None))
    try:
        yield Api(module, repo, clock, token=token)
    finally:
        bootstrap.use(None)


def pays_first_invoice(api: Api, sub_id: str = "sub-1", customer: str = "alice") -> str:
    """`customer` gives a card that pays and subscribes to basic as `sub_id`: the id of the
    first invoice, paid."""
    method = {"payment_method": "pm_card_visa"}
    reply = api.post(f"/v1/customers/{customer}/payment-methods", method)
    assert reply.status == 201, reply.text
    invoice = api.subscription(sub_id, customer=customer)["invoice"]
    assert invoice["status"] == "paid"
    return str(invoice["id"])


def alice_paid_bob_open(api: Api, **alice: Any) -> None:
    """alice (with `alice`'s fields) pays her first invoice (sub-1); bob, with no card, has
    his open (sub-2)."""
    api.customer("alice", **alice)
    api.customer("bob")
    pays_first_invoice(api)
    assert api.subscription("sub-2", customer="bob")["invoice"]["status"] == "open"


def sandbox_failing(
    monkeypatch: pytest.MonkeyPatch, call: str, error: Exception
) -> list[Exception | None]:
    """The sandbox's `call` (create_customer, attach_payment_method, ...) raising `error` while
    the list returned holds it: set its item to None and the provider answers again."""
    failing: list[Exception | None] = [error]
    real = getattr(SandboxGateway, call)

    def maybe_failing(self: SandboxGateway, **kwargs: Any) -> Any:
        if failing[0] is not None:
            raise failing[0]
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, call, maybe_failing)
    return failing
