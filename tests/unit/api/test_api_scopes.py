"""Named API tokens with scopes: who calls (the actor of what they change) and what they may
do. A bare token is the stack's administrator; a JSON list names people and systems, each
with `read`, `billing` or `admin`. Every refusal changes nothing."""

import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from api_harness import ANNA, DASH, ROOT, Api, load_resolver, pays_first_invoice, sandbox_api

from tenure import bootstrap
from tenure.services.context import Services

TOKENS = [
    {"name": "support-anna", "token": ANNA, "scopes": ["billing"]},
    {"name": "dashboards", "token": DASH, "scopes": ["read"]},
    {"name": "platform", "token": ROOT, "scopes": ["read", "admin"]},
]


def tokens_module() -> ModuleType:
    return importlib.import_module("api_tokens")  # importable once the api is loaded


@pytest.fixture
def shop(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """A shop with alice's paid first invoice, behind the three named tokens."""
    with sandbox_api(api_module, monkeypatch, json.dumps(TOKENS), token=ROOT) as api:
        api.plan("basic", 1000)
        api.token = ANNA
        api.customer("alice")
        pays_first_invoice(api)
        yield api


def _invoice(api: Api) -> str:
    (invoice,) = api.repo.list_invoices("sub-1")
    return invoice.id


def test_a_read_token_reads_but_cannot_refund(shop: Api) -> None:
    invoice = _invoice(shop)
    before = shop.state()

    assert shop.get(f"/v1/invoices/{invoice}", token=DASH).status == 200
    refused = shop.post(f"/v1/invoices/{invoice}/refund", {"amount": 100}, token=DASH)

    assert refused.status == 403, refused.text
    assert refused.json == {
        "error": "forbidden",
        "message": "the token 'dashboards' lacks the 'billing' scope",
    }
    assert shop.state() == before and shop.repo.list_refunds(invoice) == []


def test_a_billing_token_refunds_but_cannot_change_the_catalog(shop: Api) -> None:
    invoice = _invoice(shop)
    refund = {"amount": 100, "note": "double charged"}  # a person's refund says why
    assert shop.post(f"/v1/invoices/{invoice}/refund", refund).status == 201
    before = shop.state()

    plan = {"id": "pro", "amount": 2000, "currency": "USD", "interval": "month"}
    refused = shop.post("/v1/plans", plan)

    assert refused.status == 403 and "'admin' scope" in refused.json["message"]
    assert shop.state() == before


def test_an_admin_token_does_everything(shop: Api) -> None:
    plan = {"id": "pro", "amount": 2000, "currency": "USD", "interval": "month"}
    assert shop.post("/v1/plans", plan, token=ROOT).status == 201
    refund = {"note": "goodwill"}
    assert shop.post(f"/v1/invoices/{_invoice(shop)}/refund", refund, token=ROOT).status == 201
    assert shop.get("/v1/plans", token=ROOT).status == 200


def test_the_request_remembers_who_called(shop: Api) -> None:
    guard = importlib.import_module("api_guard")
    shop.get("/v1/customers/alice", token=DASH)
    assert guard.caller().name == "dashboards"
    shop.get("/healthz", token=None)
    assert guard.caller() is None  # an open route has no caller, not the previous one


@pytest.mark.parametrize("token", [None, "", "wrong", ANNA[:-1], ANNA + "x", f"{DASH} {ANNA}"])
def test_a_token_not_in_the_list_is_a_401(shop: Api, token: str | None) -> None:
    reply = shop.get("/v1/customers/alice", token=token)
    assert reply.status == 401 and reply.headers["WWW-Authenticate"] == "Bearer"


def test_a_bare_token_is_the_stacks_administrator() -> None:
    (root,) = tokens_module().principals("  just-one-token  ")
    assert (root.name, root.token, root.scope.name) == ("api", "just-one-token", "ADMIN")
    assert tokens_module().principals("") == ()


def _entry(**changes: Any) -> str:
    return json.dumps([{"name": "anna", "token": ANNA, "scopes": ["billing"]} | changes])


@pytest.mark.parametrize(
    ("configured", "problem"),
    [
        ("[not json", "not JSON"),
        ("[]", "non-empty JSON list"),
        (json.dumps([{"name": "anna", "token": ANNA}]), "needs name, token and scopes"),
        (_entry(name="Anna Smith"), "name must be"),
        (_entry(name=""), "name must be"),
        (_entry(token="short"), "at least 32 characters"),
        (_entry(token="has space " + "x" * 32), "must not contain spaces"),
        (_entry(token=7), "token must be"),
        (_entry(scopes=[]), "scopes must be"),
        (_entry(scopes=["write"]), "scopes must be"),
        (_entry(scopes="billing"), "scopes must be"),
        (json.dumps([json.loads(_entry())[0]] * 2), "share a name"),
        (
            json.dumps(
                [
                    {"name": "a", "token": ANNA, "scopes": ["read"]},
                    {"name": "b", "token": ANNA, "scopes": ["admin"]},
                ]
            ),
            "same token",
        ),
    ],
)
def test_a_bad_token_list_is_refused_with_a_reason_that_never_shows_a_token(
    configured: str, problem: str
) -> None:
    with pytest.raises(tokens_module().TokenConfigError, match=problem) as caught:
        tokens_module().principals(configured)
    assert ANNA not in str(caught.value)


def test_a_misconfigured_list_refuses_everyone_but_the_open_routes(
    shop: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_API_TOKEN", _entry(scopes=["everything"]))
    bootstrap.use(bootstrap.Wiring(Services(shop.repo, shop.clock)))  # settings read again
    before = shop.state()

    for token in (ANNA, ROOT, None):
        reply = shop.get("/v1/customers/alice", token=token)
        assert reply.status == 503 and reply.json["error"] == "unavailable"
    assert shop.get("/healthz", token=None).status == 200
    assert shop.state() == before


def test_every_route_needs_the_scope_of_what_it_does() -> None:
    scope_of = tokens_module().required_scope
    document = json.loads(load_resolver()._openapi_json())
    admin = ("/v1/plans", "/v1/coupons", "/v1/programs", "/v1/webhook-")  # endpoints, deliveries
    privacy = ("/export", "/erase", "/legal-hold")  # a customer's data: docs/privacy.md
    for path, operations in document["paths"].items():
        for method in operations:
            needed = scope_of(method.upper(), path).name.lower()
            if path.startswith("/v1/customers/") and path.endswith(privacy):
                assert needed == "admin", (method, path)
            elif method == "get":
                assert needed == "read", (method, path)
            elif path.startswith(admin):
                assert needed == "admin", (method, path)
            else:
                assert needed == "billing", (method, path)
    assert scope_of("POST", "/v1/plansx").name == "BILLING"  # a prefix is a whole segment


def test_a_token_name_the_api_accepts_is_a_name_the_audit_listing_accepts(
    api_module: ModuleType,
) -> None:
    # The audit listing checks an actor against the same pattern the token list does, so
    # every person who can act can also be listed (and nothing else can).
    from tenure.domain.audit import PRINCIPAL_NAME

    tokens = importlib.import_module("api_tokens")
    assert tokens._NAME.pattern == PRINCIPAL_NAME.pattern
