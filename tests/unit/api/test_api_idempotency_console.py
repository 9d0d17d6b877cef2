"""The console's requests keep no Idempotency-Key records: its routes are open (the console
checks its own session cookie, after the key middleware), so a key sent to them would be
claimed for nobody, under the administrator's own `api:` records. The header is ignored there;
the console's actions act once through their own confirmation keys (`console:<actor>:<key>`)."""

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from api_harness import Api
from test_api_console import Browser, _invoice, _refund_reviewed, _signed_in, shop  # noqa: F401

KEY = {"Idempotency-Key": "order-7"}  # passed as a copy: Browser adds to the headers it gets
CAROL = {"id": "carol", "email": "carol@example.com"}


@pytest.fixture
def admin(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API with the administrator's bare token (principal `api`, whose keys are
    `api:<key>`), and every claim of a key listed in `claims`."""
    monkeypatch.delenv("TENURE_PUBLIC_URL", raising=False)  # the browser's Origin is localhost
    claims: list[str] = []
    claim = api.repo.claim_idempotency

    def listed(key: str, fingerprint: str, now: Any) -> Any:
        claims.append(key)
        return claim(key, fingerprint, now)

    monkeypatch.setattr(api.repo, "claim_idempotency", listed)
    api.claims = claims  # type: ignore[attr-defined]
    yield api


def claims(api: Api) -> list[str]:
    return api.claims  # type: ignore[attr-defined,no-any-return]


def test_a_console_sign_in_with_a_key_keeps_no_record_and_the_admins_key_runs(
    admin: Api,
) -> None:
    signed_in = Browser(admin).post(
        "/console/sign-in", {"token": admin.token or ""}, headers=dict(KEY)
    )

    created = admin.post("/v1/customers", CAROL, headers=KEY)

    assert signed_in["statusCode"] == 303 and signed_in["cookies"]
    # Before, the sign-in's 303 was stored as `api:order-7`: the administrator's request with
    # its own key was then refused as a different request (422) and never ran.
    assert created.status == 201 and "Idempotent-Replayed" not in created.headers
    assert admin.repo.get_customer("carol") is not None
    assert claims(admin) == ["api:order-7"]  # the administrator's request only
    assert set(admin.repo.idempotency) == {"api:order-7"}


def test_a_refused_console_sign_in_with_a_key_claims_nothing(admin: Api) -> None:
    refused = Browser(admin).post("/console/sign-in", {"token": "not-a-token"}, headers=dict(KEY))

    assert refused["statusCode"] == 401
    # Before, anyone could make the table write (and delete) `api:order-7` with each such
    # request, and hold the administrator's key in progress (409) while it ran.
    assert claims(admin) == []
    created = admin.post("/v1/customers", CAROL, headers=KEY)
    assert created.status == 201 and "Idempotent-Replayed" not in created.headers


def test_a_console_post_without_a_session_with_a_key_claims_nothing(admin: Api) -> None:
    refused = Browser(admin).post("/console/sign-out", {}, headers=dict(KEY))

    assert refused["statusCode"] == 401
    assert claims(admin) == [] and admin.repo.idempotency == {}


def test_a_malformed_key_sent_to_the_console_is_ignored_not_refused(admin: Api) -> None:
    signed_in = Browser(admin).post(
        "/console/sign-in", {"token": admin.token or ""}, headers={"Idempotency-Key": "é" * 300}
    )

    assert signed_in["statusCode"] == 303  # the console's own answer, not the API's JSON 422
    assert claims(admin) == []


def test_a_console_action_sent_with_a_key_acts_once_under_its_own_confirmation_only(
    shop: Api,  # noqa: F811 - the fixture
) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)

    first = browser.post(f"/console/invoices/{invoice}/refund", form, headers=dict(KEY))
    again = browser.post(f"/console/invoices/{invoice}/refund", form, headers=dict(KEY))

    assert first["statusCode"] == 200 and "Refunded $4.00" in first["body"]
    # The console's own answer to a double submit, not the API's replay of the first page
    # (before, the key was kept as the administrator's `api:order-7`).
    assert again["statusCode"] == 200 and "already done" in again["body"]
    assert "Idempotent-Replayed" not in again["headers"]
    assert shop.repo.get_invoice(invoice).amount_refunded == 400  # type: ignore[union-attr]
    assert set(shop.repo.idempotency) == {f"console:support-anna:{form['k']}"}


def test_an_open_post_route_would_keep_no_key_for_nobody(
    admin: Api, api_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No POST route is open today; one added so must not file its keys as the administrator's.
    import api_guard

    opened = api_guard.OPEN_ROUTES | {("POST", "/v1/customers")}
    monkeypatch.setattr(api_guard, "OPEN_ROUTES", opened)

    created = admin.post("/v1/customers", CAROL, headers=KEY, token=None)

    assert created.status == 201
    assert claims(admin) == [] and admin.repo.idempotency == {}
