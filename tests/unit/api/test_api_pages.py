"""The customer pages a signed link opens, through the real api handler: each page works for
its own link and customer, and anything else gets a clear refusal that shows and changes
nothing."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
import stripe
from api_harness import Api, http_event

from tenure import bootstrap
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify.customer_links import issue_form_token, make_link
from tenure.notify.link_tokens import LinkClaims, LinkPurpose, sign
from tenure.payments.razorpay_gateway import RazorpayGateway
from tenure.payments.razorpay_sandbox import SANDBOX_KEY, RazorpaySandbox
from tenure.payments.sandbox import SandboxGateway
from tenure.payments.stripe_gateway import StripeGateway
from tenure.services import subscriptions
from tenure.services.context import Services
from tenure.settings import Settings

KEY = "pages-test-key"
VISA = "pm_card_visa"
INSUFFICIENT = "pm_card_chargeDeclinedInsufficientFunds"
AUTHENTICATION = "pm_card_authenticationRequired"
ORIGIN = "http://localhost:3000"  # the default TENURE_PUBLIC_URL's origin
FORM_TOKEN_FIELD = re.compile(r'name="f" value="([^"]+)"')
PATHS = {
    LinkPurpose.UPDATE_CARD: "/pages/card",
    LinkPurpose.CONFIRM_PAYMENT: "/pages/confirm",
    LinkPurpose.MANAGE_SUBSCRIPTION: "/pages/subscription",
}


class Pages:
    """The api with a sandbox gateway, and a browser's way of opening links and posting forms."""

    def __init__(self, api: Api, gateway: SandboxGateway) -> None:
        self.api = api
        self.gateway = gateway

    @property
    def svc(self) -> Services:
        return bootstrap.wiring().services

    def link(
        self,
        purpose: LinkPurpose,
        subject: str,
        customer: str = "alice",
        key: str = KEY,
        expires_in: timedelta = timedelta(days=14),
    ) -> str:
        claims = LinkClaims(customer, purpose, subject, self.api.clock.now() + expires_in)
        return sign(key.encode(), claims)

    def open(self, path: str, token: str | None) -> Any:
        query = {"t": token} if token is not None else None
        return self.api.call("GET", path, query=query, token=None, headers={"accept": "text/html"})

    def form_token(self, path: str, token: str | None) -> str | None:
        """The form token the page rendered for `token` carries, as a browser would post it
        (None when the page has no form)."""
        found = FORM_TOKEN_FIELD.search(self.open(path, token).text)
        return found.group(1) if found else None

    def submit(
        self,
        path: str,
        token: str | None,
        form_token: str | None = None,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> Any:
        """Post the page's form as the browser showing it would: the link, the form token
        the page was rendered with (fetched now unless given), from the page's own origin."""
        if form_token is None:
            form_token = self.form_token(path, token)
        form = ({"t": token} if token is not None else {}) | fields
        if form_token is not None:
            form["f"] = form_token
        return self.post_raw(path, urlencode(form), headers=headers)

    def post_raw(
        self,
        path: str,
        body: str,
        headers: dict[str, str] | None = None,
        base64_encoded: bool = False,
    ) -> Any:
        sent = {
            "content-type": "application/x-www-form-urlencoded",
            "origin": ORIGIN,
            "sec-fetch-site": "same-origin",
        } | (headers or {})
        event = http_event("POST", path, body, {k: v for k, v in sent.items() if v is not None})
        event["isBase64Encoded"] = base64_encoded
        return self.api.invoke(event)

    def with_razorpay(self, deployed: bool = False) -> RazorpaySandbox:
        """Razorpay's sandbox wired in as the `razorpay` provider beside the default sandbox;
        returns it. `deployed`: the plain adapter in front of it (Checkout runs in the
        browser), not the sandbox's own, which can play Checkout itself."""
        sandbox = RazorpaySandbox(clock=self.api.clock.now)
        gateway = (
            RazorpayGateway(*SANDBOX_KEY, transport=sandbox, max_retries=0)
            if deployed
            else sandbox.gateway()
        )
        services = Services(
            self.api.repo, self.api.clock, self.gateway, gateways={"razorpay": gateway}
        )
        bootstrap.use(bootstrap.Wiring(services))
        return sandbox

    def card(self, customer: str, method: str) -> None:
        reply = self.api.post(
            f"/v1/customers/{customer}/payment-methods",
            {"payment_method": method, "default": True},
        )
        assert reply.status == 201, reply.text

    def invoice(self, invoice_id: str) -> Any:
        invoice = self.api.repo.get_invoice(invoice_id)
        assert invoice is not None
        return invoice

    def subscription(self, sub_id: str) -> Any:
        sub = self.api.repo.get_subscription(sub_id)
        assert sub is not None
        return sub


@pytest.fixture
def pages(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pages]:
    monkeypatch.setenv("TENURE_LINK_SECRET", KEY)
    monkeypatch.delenv("LINK_SECRET_ARN", raising=False)
    monkeypatch.setenv("TENURE_BUSINESS_NAME", "Acme Streaming")
    gateway = SandboxGateway(clock=api.clock.now)
    bootstrap.use(bootstrap.Wiring(Services(api.repo, api.clock, gateway)))
    api.plan("basic", 1000, name="Basic")
    yield Pages(api, gateway)


def signed_form_token(pages: Pages, token: str) -> str:
    """The form token a page for `token` would carry, for links whose page shows no form
    (another customer's subject; the Stripe card page, whose GET would call Stripe)."""
    return issue_form_token(bootstrap.settings(), token, pages.api.clock.now())


def past_due(pages: Pages, customer: str = "alice", sub_id: str = "sub-alice") -> str:
    """`customer` paid the first month, then the renewal was declined (insufficient funds):
    the subscription is past due and the renewal invoice open. Returns that invoice's id."""
    api = pages.api
    api.customer(customer)
    pages.card(customer, VISA)
    first = api.subscription(sub_id, customer=customer)
    assert first["subscription"]["status"] == "active"
    pages.card(customer, INSUFFICIENT)
    api.clock.set(datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC))
    outcome = subscriptions.process_due(pages.svc, sub_id)
    assert outcome is not None and outcome.invoice is not None
    assert pages.subscription(sub_id).status is SubscriptionStatus.PAST_DUE
    return outcome.invoice.id


def needs_authentication(pages: Pages, customer: str = "alice", sub_id: str = "sub-alice") -> str:
    pages.api.customer(customer)
    pages.card(customer, AUTHENTICATION)
    created = pages.api.subscription(sub_id, customer=customer)
    invoice_id: str = created["invoice"]["id"]
    charges = pages.api.repo.list_charges(invoice_id)
    assert [c.outcome for c in charges] == ["authentication_required"]
    return invoice_id


def assert_secure_html(reply: Any, stripe: bool = False) -> None:
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    csp = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert ("https://js.stripe.com" in csp) is stripe


# -- the card page ------------------------------------------------------------------------------
def test_the_card_page_shows_what_is_owed_and_the_current_card(pages: Pages) -> None:
    invoice_id = past_due(pages)

    reply = pages.open("/pages/card", pages.link(LinkPurpose.UPDATE_CARD, "alice"))

    assert reply.status == 200
    assert_secure_html(reply)
    assert "Basic, May 1\u2009–\u2009June 1, 2026" in reply.text
    assert invoice_id not in reply.text  # named by its plan and period, never by its id
    assert "$10.00" in reply.text
    assert "Visa ending in 9995" in reply.text
    assert 'name="card"' in reply.text and "4242424242424242" in reply.text
    assert "Acme Streaming" in reply.text


def test_a_new_card_pays_the_past_due_invoice_at_once(pages: Pages) -> None:
    invoice_id = past_due(pages)
    token = pages.link(LinkPurpose.UPDATE_CARD, invoice_id)

    reply = pages.submit("/pages/card", token, card="4242 4242 4242 4242")

    assert reply.status == 200
    assert_secure_html(reply)
    assert "Paid — thank you" in reply.text
    assert "Visa ending in 4242" in reply.text
    assert "Nothing is owed right now." in reply.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID
    assert pages.subscription("sub-alice").status is SubscriptionStatus.ACTIVE
    assert pages.api.repo.get_customer("alice").default_payment_method == VISA  # type: ignore[union-attr]


def test_a_new_card_that_is_declined_says_why_and_the_invoice_stays_owed(pages: Pages) -> None:
    invoice_id = past_due(pages)
    token = pages.link(LinkPurpose.UPDATE_CARD, "alice")

    reply = pages.submit("/pages/card", token, card="4000000000000002")

    assert reply.status == 200
    assert "declined (generic_decline)" in reply.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN


def test_a_number_that_is_not_a_test_card_is_refused_and_changes_nothing(pages: Pages) -> None:
    past_due(pages)
    token = pages.link(LinkPurpose.UPDATE_CARD, "alice")
    before = pages.api.state()

    reply = pages.submit("/pages/card", token, card="1234567812345678")

    assert reply.status == 422
    assert "not one of the sandbox test cards" in reply.text
    assert pages.api.state() == before


def test_the_card_page_speaks_arabic_right_to_left(pages: Pages) -> None:
    pages.api.customer("amira", locale="ar")

    reply = pages.open("/pages/card", pages.link(LinkPurpose.UPDATE_CARD, "amira", "amira"))

    assert reply.status == 200
    assert '<html lang="ar" dir="rtl">' in reply.text
    assert "تحديث بطاقتك" in reply.text


# -- the confirm page ---------------------------------------------------------------------------
def test_the_confirm_page_offers_to_confirm_a_payment_that_needs_authentication(
    pages: Pages,
) -> None:
    invoice_id = needs_authentication(pages)

    reply = pages.open("/pages/confirm", pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id))

    assert reply.status == 200
    assert_secure_html(reply)
    assert "$10.00" in reply.text
    assert 'id="confirm"' in reply.text
    assert '<dd id="invoice">Basic, ' in reply.text and invoice_id not in reply.text


def test_confirming_settles_the_invoice_as_the_providers_success_would(pages: Pages) -> None:
    invoice_id = needs_authentication(pages)
    token = pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id)

    reply = pages.submit("/pages/confirm", token)

    assert reply.status == 200
    assert "Paid — thank you" in reply.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID
    assert pages.subscription("sub-alice").status is SubscriptionStatus.ACTIVE
    (charge,) = pages.api.repo.list_charges(invoice_id)
    assert charge.outcome == "succeeded"
    assert "payment_intent.succeeded" in [e["type"] for e in pages.gateway.events]
    again = pages.open("/pages/confirm", token)
    assert again.status == 200 and "Nothing to confirm" in again.text


def test_confirming_twice_moves_money_once(pages: Pages) -> None:
    invoice_id = needs_authentication(pages)
    token = pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id)
    form_token = pages.form_token("/pages/confirm", token)

    pages.submit("/pages/confirm", token, form_token)
    second = pages.submit("/pages/confirm", token, form_token)  # a double click

    assert second.status == 200 and "Nothing to confirm" in second.text
    assert pages.gateway.confirmations == 2  # the off-session attempt, then the customer's


def test_a_paid_invoice_has_nothing_to_confirm(pages: Pages) -> None:
    pages.api.customer("alice")
    pages.card("alice", VISA)
    invoice_id = pages.api.subscription()["invoice"]["id"]

    reply = pages.open("/pages/confirm", pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id))

    assert reply.status == 200
    assert "Nothing to confirm" in reply.text


# -- the subscription page ----------------------------------------------------------------------
@pytest.fixture
def subscribed(pages: Pages) -> Pages:
    pages.api.customer("alice")
    pages.card("alice", VISA)
    pages.api.subscription()
    return pages


def manage(pages: Pages, sub_id: str = "sub-alice") -> str:
    return pages.link(LinkPurpose.MANAGE_SUBSCRIPTION, sub_id)


def test_the_subscription_page_shows_status_next_renewal_and_amount(subscribed: Pages) -> None:
    reply = subscribed.open("/pages/subscription", manage(subscribed))

    assert reply.status == 200
    assert_secure_html(reply)
    assert "Active" in reply.text
    assert "May 1, 2026" in reply.text
    assert "$10.00" in reply.text
    assert 'value="pause"' in reply.text and 'value="cancel"' in reply.text


def test_pausing_stops_billing_for_one_period(subscribed: Pages) -> None:
    reply = subscribed.submit("/pages/subscription", manage(subscribed), action="pause")

    assert reply.status == 200
    assert "Paused." in reply.text
    sub = subscribed.subscription("sub-alice")
    assert sub.status is SubscriptionStatus.PAUSED
    assert sub.paused_until == datetime(2026, 5, 1, tzinfo=UTC)  # April is 30 days
    assert 'value="keep"' in reply.text  # "Resume now"


def test_a_pause_on_the_page_is_listed_as_the_portals_work(subscribed: Pages) -> None:
    from tenure.domain.audit import SYSTEM_PORTAL
    from tenure.services import timeline

    subscribed.submit("/pages/subscription", manage(subscribed), action="pause")

    page, _ = timeline.audit_entries(
        subscribed.svc, entity="sub-alice", actor=SYSTEM_PORTAL, limit=10, after=None
    )
    assert [e.actor for e in page] == [SYSTEM_PORTAL]
    assert "SubscriptionPaused" in str(page[0].after["events"])


def test_a_change_made_on_a_page_names_its_link_by_purpose_and_id_never_its_token(
    subscribed: Pages,
) -> None:
    from tenure.domain.audit import SYSTEM_PORTAL, link_name
    from tenure.services import timeline

    token = manage(subscribed)
    subscribed.submit("/pages/subscription", token, action="pause")

    [entry] = timeline.audit_entries(
        subscribed.svc, entity="sub-alice", actor=SYSTEM_PORTAL, limit=10, after=None
    )[0]
    assert entry.after["link"] == link_name("manage_subscription", token)
    assert str(entry.after["link"]).startswith("manage_subscription lnk_")
    assert token not in json.dumps(entry.after) and token.split(".")[-1] not in str(entry.after)


def test_cancel_at_period_end_then_keep_withdraws_the_cancellation(subscribed: Pages) -> None:
    token = manage(subscribed)

    canceled = subscribed.submit("/pages/subscription", token, action="cancel", reason="not_using")

    assert canceled.status == 200
    assert "end at the end of the paid period" in canceled.text
    sub = subscribed.subscription("sub-alice")
    assert (
        sub.cancel_at_period_end and sub.cancel_reason == "not_using"
    )  # the reason the customer picked
    assert 'value="keep"' in canceled.text

    kept = subscribed.submit("/pages/subscription", token, action="keep")

    assert kept.status == 200
    assert "your subscription continues" in kept.text
    assert not subscribed.subscription("sub-alice").cancel_at_period_end


def test_an_ended_subscription_comes_back_on_the_same_plan_and_is_charged(
    subscribed: Pages,
) -> None:
    subscriptions.cancel(subscribed.svc, "sub-alice", at_period_end=False, reason="too_expensive")
    token = manage(subscribed)
    assert 'value="come_back"' in subscribed.open("/pages/subscription", token).text

    reply = subscribed.submit("/pages/subscription", token, action="come_back")
    again = subscribed.submit("/pages/subscription", token, action="come_back")

    assert reply.status == 200 and again.status == 200
    assert "Welcome back! Your new subscription: Active." in reply.text
    new = [s for s in subscribed.api.repo.list_subscriptions("alice") if s.id != "sub-alice"]
    assert len(new) == 1  # the double submit found the first comeback
    assert new[0].plan_id == "basic" and new[0].status is SubscriptionStatus.ACTIVE
    (invoice,) = subscribed.api.repo.list_invoices(new[0].id)
    assert invoice.status is InvoiceStatus.PAID


def test_an_action_the_state_does_not_allow_is_a_409_page_and_changes_nothing(
    subscribed: Pages,
) -> None:
    subscribed.submit("/pages/subscription", manage(subscribed), action="pause")
    later_link = subscribed.link(
        LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice", expires_in=timedelta(days=13)
    )
    before = subscribed.api.state()

    reply = subscribed.submit("/pages/subscription", later_link, action="pause")
    unknown = subscribed.submit("/pages/subscription", later_link, action="delete_everything")

    assert reply.status == 409 and "cannot be done now" in reply.text
    assert unknown.status == 409
    assert subscribed.api.state() == before


# -- refusals -----------------------------------------------------------------------------------
REFUSED_CASES = [
    (LinkPurpose.UPDATE_CARD, "alice"),
    (LinkPurpose.CONFIRM_PAYMENT, "INVOICE"),
    (LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice"),
]


@pytest.fixture
def owing(pages: Pages) -> tuple[Pages, str]:
    return pages, past_due(pages)


def _subject(subject: str, invoice_id: str) -> str:
    return invoice_id if subject == "INVOICE" else subject


def _tamper(token: str) -> str:
    payload, _, signature = token.partition(".")
    flipped = "A" if signature[0] != "A" else "B"
    return f"{payload}.{flipped}{signature[1:]}"


def _refusals(
    pages: Pages, purpose: LinkPurpose, subject: str
) -> dict[str, tuple[str | None, int]]:
    good = pages.link(purpose, subject)
    other = next(p for p in LinkPurpose if p is not purpose)
    signature = good.partition(".")[2]
    return {
        "tampered signature": (_tamper(good), 403),
        "payload swapped for another customer's": (
            pages.link(purpose, subject, customer="mallory").partition(".")[0] + "." + signature,
            403,
        ),
        "signed with another key": (pages.link(purpose, subject, key="not-our-key"), 403),
        "malformed": ("not-a-token", 403),
        "missing": (None, 403),
        "wrong purpose": (pages.link(other, subject), 403),
        "expired": (pages.link(purpose, subject, expires_in=timedelta(seconds=-1)), 410),
    }


@pytest.mark.parametrize(("purpose", "subject"), REFUSED_CASES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_link_is_a_clear_page_that_shows_and_changes_nothing(
    owing: tuple[Pages, str], purpose: LinkPurpose, subject: str, method: str
) -> None:
    pages, invoice_id = owing
    subject = _subject(subject, invoice_id)
    before = pages.api.state()
    for case, (token, status) in _refusals(pages, purpose, subject).items():
        if method == "GET":
            reply = pages.open(PATHS[purpose], token)
        else:
            reply = pages.submit(
                PATHS[purpose], token, card="4242424242424242", action="cancel", reason="not_using"
            )

        assert reply.status == status, case
        assert_secure_html(reply)
        expected = "This link has expired — ask for a new one" if status == 410 else "not valid"
        assert expected in reply.text, case
        for secret in (invoice_id, "$10.00", "9995", "alice", "sub-alice", "<form"):
            assert secret not in reply.text, (case, secret)
    assert pages.api.state() == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_invoice_or_subscription_of_another_customer_is_refused(
    owing: tuple[Pages, str], method: str
) -> None:
    pages, alices_invoice = owing
    pages.api.customer("bob")
    before = pages.api.state()
    cases = [
        (LinkPurpose.UPDATE_CARD, alices_invoice),
        (LinkPurpose.CONFIRM_PAYMENT, alices_invoice),
        (LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice"),
        (LinkPurpose.MANAGE_SUBSCRIPTION, "no-such-subscription"),
    ]
    for purpose, subject in cases:
        token = pages.link(purpose, subject, customer="bob")
        if method == "GET":
            reply = pages.open(PATHS[purpose], token)
        else:
            reply = pages.submit(
                PATHS[purpose],
                token,
                signed_form_token(pages, token),
                card="4242424242424242",
                action="cancel",
                reason="not_using",
            )

        assert reply.status == 403, (purpose, subject)
        assert "not valid" in reply.text
        assert alices_invoice not in reply.text and "$10.00" not in reply.text
    assert pages.api.state() == before


def test_a_refusal_page_follows_the_browsers_language(pages: Pages) -> None:
    event = http_event("GET", "/pages/card", headers={"accept-language": "ru-RU,ru;q=0.9"})
    event["queryStringParameters"] = {"t": "garbage"}
    event["rawQueryString"] = "t=garbage"

    reply = pages.api.invoke(event)

    assert reply.status == 403
    assert "Ссылка недействительна" in reply.text


def test_pages_need_no_api_token_and_the_api_still_does(pages: Pages) -> None:
    pages.api.customer("alice")

    assert pages.open("/pages/card", pages.link(LinkPurpose.UPDATE_CARD, "alice")).status == 200
    assert pages.api.get("/v1/plans", token=None).status == 401


def test_without_a_link_key_no_link_is_honoured(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages.api.customer("alice")
    token = pages.link(LinkPurpose.UPDATE_CARD, "alice")
    monkeypatch.setenv("TENURE_LINK_SECRET", "")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these

    reply = pages.open("/pages/card", token)

    assert reply.status == 503
    assert "alice" not in reply.text


# -- links made for emails ----------------------------------------------------------------------
def test_make_link_signs_a_page_url_that_the_page_accepts(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_PUBLIC_URL", "https://billing.example.com/")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these
    invoice_id = past_due(pages)

    url = make_link(bootstrap.settings(), "alice", "update_card", invoice_id, pages.api.clock.now())

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "billing.example.com",
        "/pages/card",
    )
    token = parse_qs(parts.query)["t"][0]
    assert pages.open("/pages/card", token).status == 200
    pages.api.clock.advance(timedelta(days=14))
    assert pages.open("/pages/card", token).status == 410


def test_a_rotated_key_still_honours_links_signed_with_the_previous_one(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages.api.customer("alice")
    old = pages.link(LinkPurpose.UPDATE_CARD, "alice")
    monkeypatch.setenv("TENURE_LINK_SECRET", f"new-key,{KEY}")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these
    new = make_link(bootstrap.settings(), "alice", "update_card", "alice", pages.api.clock.now())

    assert pages.open("/pages/card", old).status == 200
    assert pages.open("/pages/card", parse_qs(urlsplit(new).query)["t"][0]).status == 200
    assert pages.link(LinkPurpose.UPDATE_CARD, "alice", key="new-key") in new


# -- with Stripe: the server side of the Stripe.js pages ----------------------------------------
class FakeStripe(stripe.HTTPClient):
    """Answers each request with the next scripted JSON body and records what was sent."""

    name = "fake"

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict[str, str], dict[str, str]]] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, **_: Any
    ) -> tuple[str, int, dict[str, str]]:
        self.sent.append(
            (method, urlsplit(url).path, dict(headers or {}), dict(parse_qsl(post_data or "")))
        )
        status, body = self.answers.pop(0)
        return json.dumps(body), status, {"Request-Id": f"req_{len(self.sent)}"}

    def close(self) -> None:
        pass


def with_stripe(pages: Pages, monkeypatch: pytest.MonkeyPatch, *answers: Any) -> FakeStripe:
    monkeypatch.setenv("TENURE_STRIPE_PUBLISHABLE_KEY", "pk_test_page_key")
    fake = FakeStripe(*answers)
    gateway = StripeGateway("sk_test_never_shown", http_client=fake, sleep=lambda _: None)
    bootstrap.use(bootstrap.Wiring(Services(pages.api.repo, pages.api.clock, gateway)))
    return fake


def test_with_stripe_the_card_page_renders_elements_for_a_setup_intent(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages.api.customer("alice")
    fake = with_stripe(
        pages,
        monkeypatch,
        (200, {"id": "cus_alice", "object": "customer"}),
        (200, {"id": "seti_1", "object": "setup_intent", "client_secret": "seti_1_secret_xyz"}),
    )

    reply = pages.open("/pages/card", pages.link(LinkPurpose.UPDATE_CARD, "alice"))

    assert reply.status == 200, reply.text
    assert_secure_html(reply, stripe=True)
    assert '"seti_1_secret_xyz"' in reply.text and '"pk_test_page_key"' in reply.text
    assert 'name="card"' not in reply.text  # the card never passes through Tenure
    assert "sk_test_never_shown" not in reply.text
    (_, customers, c_headers, _), (_, setup, s_headers, s_body) = fake.sent
    assert (customers, c_headers["Idempotency-Key"]) == ("/v1/customers", "customer:alice")
    assert setup == "/v1/setup_intents"
    assert s_headers["Idempotency-Key"] == "setup:alice:-:2026-04-01"
    assert s_body["customer"] == "cus_alice" and s_body["usage"] == "off_session"
    assert pages.api.repo.get_customer("alice").provider_customer_id == "cus_alice"  # type: ignore[union-attr]


def test_with_stripe_the_card_form_is_not_taken_by_the_server(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    past_due(pages)
    fake = with_stripe(pages, monkeypatch)
    before = pages.api.state()

    token = pages.link(LinkPurpose.UPDATE_CARD, "alice")
    reply = pages.submit(
        "/pages/card", token, signed_form_token(pages, token), card="4242424242424242"
    )

    assert reply.status == 405
    assert fake.sent == [] and pages.api.state() == before


def test_with_stripe_and_no_publishable_key_the_page_is_unavailable(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages.api.customer("alice")
    fake = with_stripe(pages, monkeypatch)
    monkeypatch.setenv("TENURE_STRIPE_PUBLISHABLE_KEY", "")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these

    reply = pages.open("/pages/card", pages.link(LinkPurpose.UPDATE_CARD, "alice"))

    assert reply.status == 503 and fake.sent == []


def test_with_stripe_the_confirm_page_hands_stripe_js_the_payment_to_authenticate(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = needs_authentication(pages)
    (charge,) = pages.api.repo.list_charges(invoice_id)
    intent = {
        "id": charge.payment_id,
        "object": "payment_intent",
        "status": "requires_payment_method",
        "client_secret": f"{charge.payment_id}_secret_abc",
        "payment_method": None,
        "last_payment_error": {
            "code": "authentication_required",
            "payment_method": {"id": "pm_3ds", "object": "payment_method"},
        },
    }
    fake = with_stripe(pages, monkeypatch, (200, intent))

    reply = pages.open("/pages/confirm", pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id))

    assert reply.status == 200, reply.text
    assert_secure_html(reply, stripe=True)
    assert f'"{charge.payment_id}_secret_abc"' in reply.text
    assert '{"payment_method": "pm_3ds"}' in reply.text
    assert [(m, p) for m, p, _, _ in fake.sent] == [
        ("get", f"/v1/payment_intents/{charge.payment_id}")
    ]


# -- save offers on the subscription page --------------------------------------------------------
@pytest.fixture
def offering(subscribed: Pages) -> Pages:
    subscribed.api.plan("lite", 500, name="Lite")
    offers = [
        {"id": "pause2", "kind": "pause", "months": 2},
        {"id": "down", "kind": "change_plan", "plan": "lite"},
    ]
    reply = subscribed.api.call("PUT", "/v1/programs", {"version": 0, "save_offers": offers})
    assert reply.status == 200, reply.text
    return subscribed


def test_cancelling_on_the_page_first_offers_what_the_business_configured(
    offering: Pages,
) -> None:
    reply = offering.submit(
        "/pages/subscription", manage(offering), action="cancel", reason="not_using"
    )
    assert reply.status == 200
    assert "would one of these suit you better?" in reply.text
    assert "Pause for 2 months instead" in reply.text and "Switch to Lite instead" in reply.text
    assert 'value="decline_offers"' in reply.text and 'value="cancel"' not in reply.text
    assert not offering.subscription("sub-alice").cancel_at_period_end


def test_an_offer_taken_on_the_page_keeps_the_subscription(offering: Pages) -> None:
    token = manage(offering)
    offering.submit("/pages/subscription", token, action="cancel", reason="not_using")
    reply = offering.submit("/pages/subscription", token, action="accept_offer", offer="down")
    assert reply.status == 200
    assert "the offer is applied" in reply.text
    sub = offering.subscription("sub-alice")
    assert (sub.plan_id, sub.cancel_at_period_end) == ("lite", False)


def test_declining_the_offers_on_the_page_cancels_at_the_period_end(offering: Pages) -> None:
    token = manage(offering)
    offering.submit("/pages/subscription", token, action="cancel", reason="not_using")
    reply = offering.submit(
        "/pages/subscription", token, action="decline_offers", reason="not_using"
    )
    assert reply.status == 200
    assert "end at the end of the paid period" in reply.text
    sub = offering.subscription("sub-alice")
    assert sub.cancel_at_period_end and sub.cancel_reason == "not_using"


def test_an_offer_not_presented_is_refused_on_the_page_and_changes_nothing(
    offering: Pages,
) -> None:
    token = manage(offering)
    offering.submit("/pages/subscription", token, action="cancel", reason="not_using")
    reply = offering.submit("/pages/subscription", token, action="accept_offer", offer="free")
    assert reply.status == 409
    sub = offering.subscription("sub-alice")
    assert (sub.plan_id, sub.status, sub.cancel_at_period_end) == (
        "basic",
        SubscriptionStatus.ACTIVE,
        False,
    )
