"""The bearer token guards every route but /healthz and /openapi.json, and is checked first."""

import json

import pytest
from api_harness import Api

from tenure import bootstrap
from tenure.settings import Settings

PROTECTED = [
    ("GET", "/v1/customers"),
    ("POST", "/v1/customers"),
    ("GET", "/v1/customers/alice"),
    ("POST", "/v1/customers/alice/payment-methods"),
    ("GET", "/v1/customers/alice/subscriptions"),
    ("GET", "/v1/plans"),
    ("POST", "/v1/plans"),
    ("PATCH", "/v1/customers/alice"),
    ("GET", "/v1/plans/ipl-1"),
    ("POST", "/v1/plans/ipl-1/price-changes"),
    ("POST", "/v1/subscriptions"),
    ("GET", "/v1/subscriptions/sub-1"),
    ("POST", "/v1/subscriptions/sub-1/cancel"),
    ("POST", "/v1/subscriptions/sub-1/pause"),
    ("POST", "/v1/subscriptions/sub-1/resume"),
    ("POST", "/v1/subscriptions/sub-1/change-plan"),
    ("POST", "/v1/subscriptions/sub-1/items"),
    ("GET", "/v1/subscriptions/sub-1/invoices"),
    ("GET", "/v1/invoices/in_1"),
    ("GET", "/v1/invoices/in_1/pdf"),
    ("POST", "/v1/subscriptions/sub-1/coupon"),
    ("POST", "/v1/subscriptions/sub-1/offers/pause2/accept"),
    ("POST", "/v1/invoices/in_1/refund"),
    ("POST", "/v1/invoices/in_1/void"),
    ("POST", "/v1/invoices/in_1/write-off"),
    ("POST", "/v1/invoices/in_1/mark-paid"),
    ("POST", "/v1/invoices/in_1/retry"),
    ("POST", "/v1/subscriptions/sub-1/credit"),
    ("POST", "/v1/subscriptions/sub-1/extend-trial"),
    ("POST", "/v1/subscriptions/sub-1/renewal-date"),
    ("POST", "/v1/subscriptions/sub-1/cancel-now"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/customers/alice/timeline"),
    ("GET", "/v1/customers/alice/export"),
    ("POST", "/v1/customers/alice/erase"),
    ("GET", "/v1/customers/alice/legal-hold"),
    ("GET", "/v1/coupons"),
    ("POST", "/v1/coupons"),
    ("GET", "/v1/coupons/half"),
    ("GET", "/v1/programs"),
    ("PUT", "/v1/programs"),
    ("GET", "/v1/customers/alice/points"),
    ("POST", "/v1/customers/alice/points/redeem"),
    ("POST", "/v1/customers/alice/portal-links"),
    ("POST", "/v1/customers/alice/installment-plans"),
    ("GET", "/v1/customers/alice/installment-plans"),
    ("GET", "/v1/installment-plans/ipl-1"),
    ("GET", "/v1/collection-cases"),
    ("GET", "/v1/credit-notes"),
    ("GET", "/v1/credit-notes/cn_1/pdf"),
    ("GET", "/v1/collection-cases/cc-1"),
    ("POST", "/v1/collection-cases/cc-1/repayment-plan"),
    ("POST", "/v1/collection-cases/cc-1/repayment-plan/cancel"),
    ("POST", "/v1/collection-cases/cc-1/pay"),
    ("POST", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints/we_1"),
    ("DELETE", "/v1/webhook-endpoints/we_1"),
    ("POST", "/v1/webhook-endpoints/we_1/enable"),
    ("POST", "/v1/webhook-endpoints/we_1/rotate-secret"),
    ("GET", "/v1/webhook-endpoints/we_1/deliveries"),
    ("POST", "/v1/webhook-deliveries/msg_1/replay"),
    ("POST", "/v1/installment-plans/ipl-1/cancel"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_v1_route_refuses_a_request_without_a_token(api: Api, method: str, path: str) -> None:
    reply = api.call(method, path, {} if method in ("POST", "PUT") else None, token=None)

    assert reply.status == 401
    assert reply.json["error"] == "unauthorized"
    assert reply.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong-token", "Bearer ", "Basic dGVzdC10b2tlbg==", "test-token", "Bearer test-token2"],
)
def test_a_wrong_token_or_scheme_is_refused(api: Api, authorization: str) -> None:
    reply = api.get("/v1/plans", token=None, headers={"Authorization": authorization})

    assert reply.status == 401


def test_the_scheme_name_is_case_insensitive(api: Api) -> None:
    reply = api.get("/v1/plans", token=None, headers={"Authorization": "bearer test-token"})

    assert reply.status == 200


def test_no_configured_token_means_every_request_is_refused(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_API_TOKEN", "")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these

    assert api.get("/v1/plans", token="").status == 401
    assert api.get("/v1/plans", headers={"Authorization": "Bearer"}, token=None).status == 401
    assert api.get("/healthz", token=None).status == 200


def test_healthz_and_the_openapi_document_need_no_token(api: Api) -> None:
    assert api.get("/healthz", token=None).status == 200
    assert api.get("/openapi.json", token=None).status == 200


def test_an_unauthenticated_request_learns_nothing_about_its_body(api: Api) -> None:
    before = api.state()

    invalid = api.post("/v1/plans", {"id": "x", "amount": "ten"}, token=None)
    malformed = api.post("/v1/plans", "{not json", token=None)
    oversized = api.post("/v1/plans", {"name": "x" * 300_000}, token=None)
    bad_query = api.get("/v1/customers", query={"limit": "many"}, token=None)

    assert [r.status for r in (invalid, malformed, oversized, bad_query)] == [401] * 4
    assert api.state() == before


def test_an_unknown_route_is_401_without_a_token_and_404_with_one(api: Api) -> None:
    assert api.get("/v1/nothing-here", token=None).status == 401

    reply = api.get("/v1/nothing-here")

    assert reply.status == 404
    assert reply.json == {"error": "not_found", "message": "no route for GET /v1/nothing-here"}


@pytest.mark.parametrize(
    "path", ["/v1/nothing-here", "/v1/customers/alice/payment-method", "/v1/plans/x/y"]
)
def test_a_body_sent_to_an_unknown_route_is_answered_404_not_told_the_route_takes_none(
    api: Api, path: str
) -> None:
    """A typo in a path gets the 404 that says so, whatever the body: "this route takes no
    body" would send the caller looking for the mistake in the wrong place."""
    before = api.state()

    reply = api.post(path, {"payment_method": "pm_card_visa"}, headers={"Idempotency-Key": "k1"})

    assert reply.status == 404
    assert reply.json == {"error": "not_found", "message": f"no route for POST {path}"}
    assert api.state() == before
    # Nothing was written, so the key is free for the corrected request.
    plan = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    assert api.post("/v1/plans", plan, headers={"Idempotency-Key": "k1"}).status == 201


def test_the_openapi_document_lists_every_route_with_bearer_security(api: Api) -> None:
    document = api.get("/openapi.json", token=None).json

    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    expected = {
        (method, path.replace("alice", "{customer_id}").replace("sub-1", "{subscription_id}"))
        for method, path in PROTECTED
    }
    expected = {(m, p.replace("in_1", "{invoice_id}")) for m, p in expected}
    expected = {(m, p.replace("half", "{coupon_id}")) for m, p in expected}
    expected = {(m, p.replace("pause2", "{offer_id}")) for m, p in expected}
    expected = {(m, p.replace("ipl-1", "{plan_id}")) for m, p in expected}
    expected = {(m, p.replace("cc-1", "{case_id}")) for m, p in expected}
    expected = {(m, p.replace("we_1", "{endpoint_id}")) for m, p in expected}
    expected = {(m, p.replace("msg_1", "{delivery_id}")) for m, p in expected}
    expected = {(m, p.replace("cn_1", "{credit_note_id}")) for m, p in expected}
    assert set(operations) == expected | {("GET", "/healthz")}
    for key in expected:
        assert operations[key]["security"] == [{"bearerAuth": []}], key
    assert "security" not in operations[("GET", "/healthz")]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    body = operations[("POST", "/v1/plans")]["requestBody"]["content"]["application/json"]
    plan_schema = document["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"amount", "currency", "interval"} <= set(plan_schema["required"])


def test_the_openapi_document_is_valid_json_served_as_json(api: Api) -> None:
    reply = api.get("/openapi.json", token=None)

    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.text)["info"]["title"] == "Tenure API"
