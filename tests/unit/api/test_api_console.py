"""The operator console: a signed session cookie instead of the token, the token's scopes on
everything shown and done, a confirmation step before each action, and every refusal a page
that changes nothing (no session, an expired or tampered cookie, a read token acting, a
missing or wrong form token, another site's Origin). Also a subscription's items, and the
erasure of a customer: an admin's action, done once however often its confirmation is sent,
refused with the reason while a subscription is live, as the API's route is."""

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from api_harness import (
    ANNA,
    DASH,
    ROOT,
    Api,
    alice_paid_bob_open,
    http_event,
    sandbox_api,
    sandbox_failing,
)

from tenure import bootstrap
from tenure.domain.privacy import pseudonym_email
from tenure.payments.gateway import ProviderUnavailableError
from tenure.services import catalog, provider_owed
from tenure.settings import Settings

TOKENS = [
    {"name": "support-anna", "token": ANNA, "scopes": ["billing"]},
    {"name": "dashboards", "token": DASH, "scopes": ["read"]},
    {"name": "platform", "token": ROOT, "scopes": ["admin"], "kind": "system"},
]
ORIGIN = "http://localhost:3000"  # the default TENURE_PUBLIC_URL's origin
FORM_TOKEN = re.compile(r'name="f" value="([^"]+)"')
KEY = re.compile(r'name="k" value="([^"]+)"')
NOTE = "customer called: agreed on the phone"


@dataclass
class Browser:
    """One operator's browser: the cookie jar a browser keeps, and the Origin it sends."""

    api: Api
    cookies: dict[str, str] = field(default_factory=dict)
    origin: str | None = ORIGIN

    def request(self, method: str, path: str, form: dict[str, str] | None = None, **kw: Any) -> Any:
        path, _, query = path.partition("?")
        headers = kw.pop("headers", {})
        if self.origin is not None and method == "POST":
            headers.setdefault("origin", self.origin)
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
        event = http_event(
            method, path, urlencode(form) if form is not None else None, headers, None
        )
        if query:
            event["rawQueryString"] = query
            event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
        if self.cookies:
            event["cookies"] = [f"{k}={v}" for k, v in self.cookies.items()]
        result = self.api.module.lambda_handler(event, None)
        for cookie in result.get("cookies") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in cookie or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return result

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str], **kw: Any) -> Any:
        return self.request("POST", path, form, **kw)

    def sign_in(self, token: str) -> Any:
        return self.post("/console/sign-in", {"token": token})

    def form_token(self, path: str) -> str:
        page = self.get(path)
        assert page["statusCode"] == 200, page["body"]
        found = FORM_TOKEN.search(page["body"])
        assert found is not None
        return found.group(1)


@pytest.fixture
def shop(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """alice has a paid first invoice (sub-1); bob, no card, an open one (sub-2)."""
    monkeypatch.delenv("TENURE_PUBLIC_URL", raising=False)
    with sandbox_api(api_module, monkeypatch, json.dumps(TOKENS), token=ROOT) as api:
        api.plan("basic", 1000)
        api.token = ANNA
        alice_paid_bob_open(api, name="أليس الخطيب")
        yield api


def _invoice(api: Api, sub: str) -> str:
    (invoice,) = api.repo.list_invoices(sub)
    return invoice.id


def _signed_in(shop: Api, token: str = ANNA) -> Browser:
    browser = Browser(shop)
    reply = browser.sign_in(token)
    assert reply["statusCode"] == 303, reply["body"]
    return browser


def _refund_reviewed(browser: Browser, invoice: str, amount: str = "4.00") -> dict[str, str]:
    """The confirmation page's form of a refund of `amount`, as the browser would post it."""
    path = f"/console/invoices/{invoice}/refund"
    form = {"f": browser.form_token(path), "step": "review", "amount": amount, "note": NOTE}
    review = browser.post(path, form)
    assert review["statusCode"] == 200, review["body"]
    body = review["body"]
    key = KEY.search(body)
    assert key is not None and "Refund $4.00" in body
    return {
        "f": FORM_TOKEN.search(body).group(1),  # type: ignore[union-attr]
        "step": "confirm",
        "k": key.group(1),
        "amount": amount,
        "reason": "",
        "note": NOTE,
    }


# -- signing in ------------------------------------------------------------------------------------
def test_signing_in_sets_a_strict_http_only_session_cookie_without_the_token(shop: Api) -> None:
    browser = Browser(shop)

    reply = browser.sign_in(ANNA)

    assert reply["statusCode"] == 303
    assert reply["headers"]["Location"] == "/console"
    (cookie,) = reply["cookies"]
    assert cookie.startswith("tenure_console=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=3600" in cookie
    assert ANNA not in cookie and ANNA not in json.dumps(reply)
    assert "Secure" not in cookie  # http://localhost: a developer's own machine


def test_a_deployed_console_marks_its_cookie_secure(shop: Api) -> None:
    wired = bootstrap.wiring()
    https = Settings(public_url="https://billing.example.com")
    bootstrap.use(wired.with_settings(https))
    browser = Browser(shop, origin="https://billing.example.com")

    reply = browser.sign_in(ANNA)

    assert reply["statusCode"] == 303, reply["body"]
    assert "; Secure" in reply["cookies"][0]


def test_an_unknown_token_is_refused_with_the_sign_in_page_again(shop: Api) -> None:
    browser = Browser(shop)

    reply = browser.sign_in("not-a-token-of-this-deployment-at-all-0000")

    assert reply["statusCode"] == 401
    assert "not one of this deployment" in reply["body"]
    assert not reply.get("cookies") and browser.cookies == {}


def test_signing_in_from_another_site_is_refused(shop: Api) -> None:
    browser = Browser(shop, origin="https://evil.example")

    reply = browser.sign_in(ANNA)

    assert reply["statusCode"] == 403
    assert not reply.get("cookies")


def test_signing_out_clears_the_cookie_and_the_console_asks_to_sign_in_again(shop: Api) -> None:
    browser = _signed_in(shop)

    out = browser.post("/console/sign-out", {"f": browser.form_token("/console")})
    after = browser.get("/console")

    assert out["statusCode"] == 200
    assert "Max-Age=0" in out["cookies"][0]
    assert after["statusCode"] == 401 and 'id="token"' in after["body"]


# -- sessions refused ------------------------------------------------------------------------------
def test_without_a_session_every_console_page_is_the_sign_in_page(shop: Api) -> None:
    browser = Browser(shop)
    invoice = _invoice(shop, "sub-1")

    for path in (
        "/console",
        "/console/customers/alice",
        "/console/customers/alice/timeline",
        f"/console/invoices/{invoice}/pdf",
        f"/console/invoices/{invoice}/refund",
    ):
        reply = browser.get(path)
        assert reply["statusCode"] == 401, path
        assert 'id="token"' in reply["body"] and "alice" not in reply["body"], path


def test_an_action_posted_without_a_session_changes_nothing(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")
    before = shop.state()

    reply = Browser(shop).post(
        f"/console/invoices/{invoice}/void", {"step": "confirm", "k": "a" * 22, "note": NOTE}
    )

    assert reply["statusCode"] == 401
    assert shop.state() == before


def test_an_expired_session_is_refused_and_its_cookie_cleared(shop: Api) -> None:
    browser = _signed_in(shop)
    shop.clock.advance(timedelta(hours=1, seconds=1))

    reply = browser.get("/console/customers/alice")

    assert reply["statusCode"] == 401
    assert "session has ended" in reply["body"] and "alice" not in reply["body"]
    assert "Max-Age=0" in reply["cookies"][0]


def test_a_tampered_session_cookie_is_refused(shop: Api) -> None:
    browser = _signed_in(shop, DASH)
    payload, _, mac = browser.cookies["tenure_console"].partition(".")
    # The read token's session, renamed to the billing person: its MAC no longer checks.
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["n"] = "support-anna"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    browser.cookies["tenure_console"] = f"{forged}.{mac}"

    reply = browser.get("/console/customers/alice")

    assert reply["statusCode"] == 401 and "session has ended" in reply["body"]


def test_a_session_ends_when_its_token_is_removed(
    shop: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = _signed_in(shop)
    monkeypatch.setenv("TENURE_API_TOKEN", json.dumps(TOKENS[1:]))
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))

    reply = browser.get("/console")

    assert reply["statusCode"] == 401


# -- scopes ----------------------------------------------------------------------------------------
def test_a_read_token_sees_the_customer_but_no_actions(shop: Api) -> None:
    browser = _signed_in(shop, DASH)

    page = browser.get("/console/customers/alice")

    assert page["statusCode"] == 200
    assert 'dir="auto" id="customer-name">أليس الخطيب' in page["body"]
    assert "/refund" not in page["body"] and "/pdf" in page["body"]


def test_a_read_token_trying_a_refund_gets_a_403_page_and_nothing_changes(shop: Api) -> None:
    reader = _signed_in(shop, DASH)
    invoice = _invoice(shop, "sub-1")
    before = shop.state()
    form = {"f": reader.form_token("/console"), "step": "confirm", "k": "k" * 22, "note": NOTE}

    shown = reader.get(f"/console/invoices/{invoice}/refund")
    posted = reader.post(f"/console/invoices/{invoice}/refund", form | {"amount": "4.00"})

    assert shown["statusCode"] == 403 and posted["statusCode"] == 403
    assert "lacks the billing scope" in posted["body"]
    assert shop.state() == before


# -- forms refused ---------------------------------------------------------------------------------
def test_an_action_without_its_form_token_changes_nothing(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)
    before = shop.state()

    missing = browser.post(f"/console/invoices/{invoice}/refund", form | {"f": ""})
    wrong = browser.post(
        f"/console/invoices/{invoice}/refund", form | {"f": "1775001600." + "A" * 43}
    )

    assert missing["statusCode"] == 403 and wrong["statusCode"] == 403
    assert shop.state() == before


def test_a_form_token_of_another_session_is_refused(shop: Api) -> None:
    browser, other = _signed_in(shop), _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(other, invoice)
    before = shop.state()

    reply = browser.post(f"/console/invoices/{invoice}/refund", form)

    assert reply["statusCode"] == 403
    assert shop.state() == before


def test_an_action_posted_from_another_site_changes_nothing(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)
    before = shop.state()

    reply = browser.post(
        f"/console/invoices/{invoice}/refund", form, headers={"origin": "https://evil.example"}
    )

    assert reply["statusCode"] == 403
    assert shop.state() == before


def test_a_form_older_than_the_session_lifetime_is_stale(shop: Api) -> None:
    browser = _signed_in(shop)
    token = browser.form_token("/console")
    shop.clock.advance(timedelta(minutes=59))
    fresh = browser.post("/console/sign-in", {"token": ANNA})  # a new session, same browser
    assert fresh["statusCode"] == 303
    shop.clock.advance(timedelta(minutes=2))

    reply = browser.post("/console/sign-out", {"f": token})

    assert reply["statusCode"] == 403


# -- actions ---------------------------------------------------------------------------------------
def test_a_refund_is_shown_for_confirmation_before_anything_happens(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    before = shop.state()

    _refund_reviewed(browser, invoice)

    assert shop.state() == before


def test_a_confirmed_refund_is_made_once_with_its_audit_entry_naming_the_operator(
    shop: Api,
) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)

    first = browser.post(f"/console/invoices/{invoice}/refund", form)
    again = browser.post(f"/console/invoices/{invoice}/refund", form)  # a double submit

    assert first["statusCode"] == 200, first["body"]
    assert "Refunded $4.00" in first["body"]
    assert again["statusCode"] == 200 and "already done" in again["body"]
    assert shop.repo.get_invoice(invoice).amount_refunded == 400  # type: ignore[union-attr]
    audit = shop.get("/v1/audit", query={"entity": invoice}).json["data"]
    assert [(e["actor"], e["action"], e["note"]) for e in audit] == [
        ("support-anna", "refund", NOTE)
    ]


def test_an_action_without_a_note_is_shown_again_and_changes_nothing(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-2")
    path = f"/console/invoices/{invoice}/void"
    before = shop.state()

    reply = browser.post(path, {"f": browser.form_token(path), "step": "review", "note": " "})

    assert reply["statusCode"] == 422
    assert "must not be blank" in reply["body"]
    assert shop.state() == before


def test_a_refund_over_what_was_paid_is_refused_and_its_key_can_be_used_again(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)
    before = shop.state()

    reply = browser.post(f"/console/invoices/{invoice}/refund", form | {"amount": "50.00"})

    assert reply["statusCode"] == 422, reply["body"]
    assert shop.state() == before  # the key was released: nothing of it is kept


def test_a_confirmation_key_reused_for_another_amount_is_refused(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)
    assert browser.post(f"/console/invoices/{invoice}/refund", form)["statusCode"] == 200
    before = shop.state()

    reply = browser.post(f"/console/invoices/{invoice}/refund", form | {"amount": "1.00"})

    assert reply["statusCode"] == 422 and "another action" in reply["body"]
    assert shop.state() == before


def test_voiding_an_open_invoice_from_the_console_writes_one_entry(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-2")
    path = f"/console/invoices/{invoice}/void"
    review = browser.post(path, {"f": browser.form_token(path), "step": "review", "note": NOTE})
    key = KEY.search(review["body"]).group(1)  # type: ignore[union-attr]
    token = FORM_TOKEN.search(review["body"]).group(1)  # type: ignore[union-attr]

    done = browser.post(path, {"f": token, "step": "confirm", "k": key, "note": NOTE})

    assert done["statusCode"] == 200, done["body"]
    assert shop.repo.get_invoice(invoice).status == "void"  # type: ignore[union-attr]
    (entry,) = shop.get("/v1/audit", query={"entity": invoice}).json["data"]
    assert entry["actor"] == "support-anna" and entry["id"] in done["body"]


def test_voiding_a_paid_invoice_is_a_409_page_and_changes_nothing(shop: Api) -> None:
    browser = _signed_in(shop)
    invoice = _invoice(shop, "sub-1")
    path = f"/console/invoices/{invoice}/void"
    review = browser.post(
        path, {"f": browser.form_token("/console"), "step": "review", "note": NOTE}
    )
    form = {
        "f": FORM_TOKEN.search(review["body"]).group(1),  # type: ignore[union-attr]
        "step": "confirm",
        "k": KEY.search(review["body"]).group(1),  # type: ignore[union-attr]
        "note": NOTE,
    }
    before = shop.state()

    reply = browser.post(path, form)

    assert reply["statusCode"] == 409
    assert shop.state() == before


def test_a_credit_adjustment_takes_major_units_exactly(shop: Api) -> None:
    browser = _signed_in(shop)
    path = "/console/subscriptions/sub-1/credit"
    token = browser.form_token(path)

    too_precise = browser.post(
        path, {"f": token, "step": "review", "credit": "1.005", "note": NOTE}
    )
    review = browser.post(path, {"f": token, "step": "review", "credit": "2.50", "note": NOTE})

    assert too_precise["statusCode"] == 422 and "at most 2 decimals" in too_precise["body"]
    assert review["statusCode"] == 200 and "Add $2.50" in review["body"]


def test_an_unknown_action_or_customer_is_a_404_page(shop: Api) -> None:
    browser = _signed_in(shop)

    assert browser.get("/console/invoices/x/launder")["statusCode"] == 404
    assert browser.get("/console/customers/nobody")["statusCode"] == 404


# -- reading ---------------------------------------------------------------------------------------
def test_finding_a_customer_by_id_goes_to_their_page(shop: Api) -> None:
    browser = _signed_in(shop, DASH)

    found = browser.get("/console?q=alice")
    missing = browser.get("/console?q=nobody")

    assert found["statusCode"] == 303
    assert found["headers"]["Location"] == "/console/customers/alice"
    assert missing["statusCode"] == 404 and "No customer has the id" in missing["body"]


def test_the_timeline_lists_the_customers_records(shop: Api) -> None:
    browser = _signed_in(shop, DASH)

    page = browser.get("/console/customers/alice/timeline")

    assert page["statusCode"] == 200
    assert "customer.created" in page["body"] and "subscription.created" in page["body"]


def test_an_invoice_pdf_is_served_to_a_session(shop: Api) -> None:
    browser = _signed_in(shop, DASH)
    invoice = _invoice(shop, "sub-1")

    reply = browser.get(f"/console/invoices/{invoice}/pdf")

    assert reply["statusCode"] == 200
    assert reply["headers"]["Content-Type"] == "application/pdf"


def test_console_pages_carry_a_policy_that_runs_no_script(shop: Api) -> None:
    browser = _signed_in(shop, DASH)

    page = browser.get("/console/customers/alice")

    csp = page["headers"]["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in page["body"]


# -- a subscription's items, and erasing a customer (docs/console.md) ------------------------------
DPO_NOTE = "GDPR request 42, identity checked by phone"


def _erase_reviewed(browser: Browser, customer: str, note: str = DPO_NOTE) -> dict[str, str]:
    """The confirmation page's form of an erasure, as the browser would post it."""
    path = f"/console/customers/{customer}/erase"
    review = browser.post(path, {"f": browser.form_token(path), "step": "review", "note": note})
    assert review["statusCode"] == 200, review["body"]
    body = review["body"]
    assert "cannot be undone" in body
    return {
        "f": FORM_TOKEN.search(body).group(1),  # type: ignore[union-attr]
        "step": "confirm",
        "k": KEY.search(body).group(1),  # type: ignore[union-attr]
        "note": note,
    }


def _carol(shop: Api) -> None:
    """carol: a customer with no subscription, whose erasure nothing holds back."""
    shop.token = ROOT
    shop.customer("carol", name="Carol Liddell")


def _items_table(body: str, sub: str) -> str:
    start = body.index(f'id="items-{sub}"')
    return body[start : body.index("</table>", start)]


# -- items -----------------------------------------------------------------------------------------
def test_a_plain_subscription_shows_its_plan_as_one_item(shop: Api) -> None:
    page = _signed_in(shop).get("/console/customers/alice")
    table = _items_table(page["body"], "sub-1")
    assert '<td dir="auto">basic</td>' in table
    assert "$10.00" in table and ">1<" in table


def test_seats_and_add_ons_are_shown_each_with_quantity_unit_price_and_amount(shop: Api) -> None:
    shop.token = ROOT
    shop.plan("team", 1000, name="Team")
    shop.plan("sso", 500, name="SSO", kind="addon")
    shop.customer("dana")
    assert shop.post("/v1/customers/dana/payment-methods", {"payment_method": "pm_card_visa"})
    body = {"id": "sub-dana", "customer": "dana", "plan": "team", "quantity": 5}
    reply = shop.post("/v1/subscriptions", body | {"addons": [{"price": "sso", "quantity": 2}]})
    assert reply.status == 201, reply.text
    scheduled = {"quantity": 3, "addons": [], "at": "period_end"}
    assert shop.post("/v1/subscriptions/sub-dana/items", scheduled).status == 200

    page = _signed_in(shop).get("/console/customers/dana")

    table = _items_table(page["body"], "sub-dana")
    rows = table.split("<tr>")[2:]
    assert [r.count("$") for r in rows] == [2, 2]
    assert "Team" in rows[0] and ">5<" in rows[0] and "$10.00" in rows[0] and "$50.00" in rows[0]
    assert "SSO" in rows[1] and ">2<" in rows[1] and "$5.00" in rows[1] and "$10.00" in rows[1]
    assert 'id="scheduled-sub-dana"' in page["body"]
    assert "Team</span> × 3." in page["body"]


# -- erasing a customer ----------------------------------------------------------------------------
def test_an_admin_erases_a_customer_once_after_confirming(shop: Api) -> None:
    _carol(shop)
    browser = _signed_in(shop, ROOT)
    page = browser.get("/console/customers/carol")
    assert 'id="erase-carol"' in page["body"]
    before = shop.state()
    form = _erase_reviewed(browser, "carol")
    assert shop.state() == before  # reviewing changed nothing

    first = browser.post("/console/customers/carol/erase", form)
    again = browser.post("/console/customers/carol/erase", form)  # a double submit

    assert first["statusCode"] == 200, first["body"]
    assert "Customer carol is erased." in first["body"]
    assert again["statusCode"] == 200 and "already done" in again["body"]
    carol = shop.repo.get_customer("carol")
    assert carol is not None and carol.email == pseudonym_email("carol")
    shop.token = ROOT
    audit = shop.get("/v1/audit", query={"entity": "carol"}).json["data"]
    assert [(e["actor"], e["action"]) for e in audit] == [("platform", "erase")]


def test_an_erased_customer_shows_so_and_is_not_offered_erasure_again(shop: Api) -> None:
    _carol(shop)
    browser = _signed_in(shop, ROOT)
    assert browser.post("/console/customers/carol/erase", _erase_reviewed(browser, "carol"))

    body = browser.get("/console/customers/carol")["body"]

    assert 'id="erased"' in body and 'id="erase-carol"' not in body
    assert "Carol Liddell" not in body


def test_a_confirmation_submitted_again_after_its_customer_was_erased_shows_it_is_gone(
    shop: Api,
) -> None:
    browser = _signed_in(shop, ROOT)
    invoice = _invoice(shop, "sub-1")
    form = _refund_reviewed(browser, invoice)
    assert browser.post(f"/console/invoices/{invoice}/refund", form)["statusCode"] == 200
    shop.token = ROOT
    assert shop.post("/v1/subscriptions/sub-1/cancel-now", {"note": "leaving"}).status == 200
    assert browser.post("/console/customers/alice/erase", _erase_reviewed(browser, "alice"))
    before = shop.state()

    again = browser.post(f"/console/invoices/{invoice}/refund", form)  # a late double submit

    assert again["statusCode"] == 409 and "since erased" in again["body"]
    assert shop.state() == before  # and no second refund


def test_erasing_a_customer_with_a_live_subscription_is_refused_with_the_reason(
    shop: Api,
) -> None:
    browser = _signed_in(shop, ROOT)
    form = _erase_reviewed(browser, "alice")
    before = shop.state()

    reply = browser.post("/console/customers/alice/erase", form)

    assert reply["statusCode"] == 409
    assert "subscription sub-1 is active; cancel it first" in reply["body"]
    assert shop.state() == before  # and the confirmation's key was released


def test_an_erasure_the_provider_does_not_answer_for_is_a_409_page_saying_to_ask_again(
    shop: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given carol, whose first card's request died after marking a provider customer as
    # being made, and a provider that times out when the erasure looks it up
    _carol(shop)
    svc = bootstrap.wiring().services
    carol = svc.repo.get_customer("carol")
    assert carol is not None
    provider_owed.mark_making(svc, carol, "sandbox")
    down = sandbox_failing(
        monkeypatch, "create_customer", ProviderUnavailableError("sandbox: timed out")
    )
    browser = _signed_in(shop, ROOT)
    form = _erase_reviewed(browser, "carol")
    before = shop.state()

    reply = browser.post("/console/customers/carol/erase", form)

    # Then a readable problem page, not a 500, and nothing written
    assert reply["statusCode"] == 409, reply["body"]
    assert 'id="problem"' in reply["body"]
    assert "being looked up at the payment provider" in reply["body"]
    assert "nothing was erased, ask again" in reply["body"]
    assert shop.state() == before
    # and the same confirmation sent again once the provider answers erases her
    down[0] = None
    again = browser.post("/console/customers/carol/erase", form)
    assert again["statusCode"] == 200 and "Customer carol is erased." in again["body"]


def test_an_erasure_without_a_note_is_shown_again_and_changes_nothing(shop: Api) -> None:
    _carol(shop)
    browser = _signed_in(shop, ROOT)
    path = "/console/customers/carol/erase"
    before = shop.state()

    reply = browser.post(path, {"f": browser.form_token(path), "step": "review", "note": ""})

    assert reply["statusCode"] == 422 and 'id="problem"' in reply["body"]
    assert shop.state() == before


def test_a_billing_token_is_not_offered_erasure_and_is_refused_it(shop: Api) -> None:
    _carol(shop)
    browser = _signed_in(shop, ANNA)
    assert 'id="erase-carol"' not in browser.get("/console/customers/carol")["body"]
    token = browser.form_token("/console/customers/carol")
    before = shop.state()

    shown = browser.get("/console/customers/carol/erase")
    posted: Any = browser.post(
        "/console/customers/carol/erase", {"f": token, "step": "review", "note": "x"}
    )

    for reply in (shown, posted):
        assert reply["statusCode"] == 403
        assert "needs the admin scope" in reply["body"]
    assert shop.state() == before


def test_an_email_prefix_in_any_case_finds_the_one_customer_it_names(shop: Api) -> None:
    browser = _signed_in(shop, DASH)

    found = browser.get("/console?q=BOB@Exa")

    assert found["statusCode"] == 303
    assert found["headers"]["Location"] == "/console/customers/bob"


def test_an_email_prefix_several_customers_share_lists_them(shop: Api) -> None:
    shop.customer("alina")
    browser = _signed_in(shop, DASH)

    page = browser.get("/console?q=al")

    assert page["statusCode"] == 200
    assert 'href="/console/customers/alice"' in page["body"]
    assert 'href="/console/customers/alina"' in page["body"]
    assert 'href="/console/customers/bob"' not in page["body"]


def test_a_customer_from_before_the_index_is_found_once_backfilled(shop: Api) -> None:
    # Given bob's index entry missing, as for a customer created before the index existed
    shop.repo.email_index.discard(("bob@example.com", "bob"))
    browser = _signed_in(shop, DASH)
    assert browser.get("/console?q=bob@")["statusCode"] == 404
    # When the backfill runs (twice: it is safe to repeat)
    svc = bootstrap.wiring().services
    assert catalog.backfill_customer_emails(svc, page=1) == 2
    assert catalog.backfill_customer_emails(svc) == 2
    # Then bob is found by his email again, and only once
    assert browser.get("/console?q=bob@")["headers"]["Location"] == "/console/customers/bob"
    assert svc.repo.find_customers_by_email("b", 10) == [("bob@example.com", "bob")]
