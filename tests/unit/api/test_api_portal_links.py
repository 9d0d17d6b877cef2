"""POST /v1/customers/{id}/portal-links: a signed URL that opens one customer's page for one
purpose, with an optional way back to the business's app, and every refusal."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    AUTHENTICATION,
    KEY,
    VISA,
    Pages,
    assert_secure_html,
    needs_authentication,
    pages,
    past_due,
    subscribed,
)

from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.domain.timeutil import iso
from tenure.notify.link_tokens import LinkClaims, LinkPurpose, sign

APP = "https://app.acme.example/account?tab=billing"


def portal_link(pages: Pages, customer: str = "alice", **body: Any) -> Any:
    return pages.api.post(f"/v1/customers/{customer}/portal-links", body)


def opened(pages: Pages, url: str) -> Any:
    """Open the URL the route returned, as the customer's browser would."""
    parts = urlsplit(url)
    (token,) = parse_qs(parts.query)["t"]
    return pages.open(parts.path, token)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


# -- what each purpose opens ----------------------------------------------------------------------
def test_an_update_card_link_opens_the_card_page_with_the_way_back(pages: Pages) -> None:
    invoice_id = past_due(pages)

    reply = portal_link(pages, purpose="update_card", return_url=APP)

    assert reply.status == 200, reply.text
    assert reply.json["purpose"] == "update_card"
    assert reply.json["expires_at"] == iso(pages.api.clock.now() + timedelta(hours=24))
    assert reply.json["url"].startswith("http://localhost:3000/pages/card?t=")
    page = opened(pages, reply.json["url"])
    assert page.status == 200
    assert_secure_html(page)
    assert "$10.00" in page.text and invoice_id not in page.text
    assert 'href="https://app.acme.example/account?tab=billing"' in page.text
    assert "Back to Acme Streaming" in page.text


def test_a_link_without_a_return_url_shows_no_way_back(pages: Pages) -> None:
    pages.api.customer("alice")

    reply = portal_link(pages, purpose="update_card")

    page = opened(pages, reply.json["url"])
    assert page.status == 200 and "Back to" not in page.text


def test_a_confirm_payment_link_opens_the_payment_waiting_for_the_customer(pages: Pages) -> None:
    invoice_id = needs_authentication(pages)

    reply = portal_link(pages, purpose="confirm_payment")

    assert reply.status == 200, reply.text
    page = opened(pages, reply.json["url"])
    assert page.status == 200 and 'id="confirm"' in page.text
    done = pages.submit("/pages/confirm", token_of(reply.json["url"]))
    assert done.status == 200 and "Paid — thank you" in done.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID
    # Opened again, it moves no more money: there is nothing left to confirm.
    again = opened(pages, reply.json["url"])
    assert again.status == 200 and "Nothing to confirm" in again.text
    assert [c.outcome for c in pages.api.repo.list_charges(invoice_id)].count("succeeded") == 1


def test_a_manage_subscription_link_opens_the_latest_running_subscription(
    subscribed: Pages,
) -> None:
    reply = portal_link(subscribed, purpose="manage_subscription", return_url=APP)

    assert reply.status == 200, reply.text
    page = opened(subscribed, reply.json["url"])
    assert page.status == 200 and 'value="pause"' in page.text
    assert "Back to Acme Streaming" in page.text


def test_a_manage_subscription_link_is_single_use_for_each_action(subscribed: Pages) -> None:
    token = token_of(portal_link(subscribed, purpose="manage_subscription").json["url"])

    first = subscribed.submit("/pages/subscription", token, action="pause")
    assert first.status == 200
    assert subscribed.subscription("sub-alice").status is SubscriptionStatus.PAUSED
    subscribed.submit("/pages/subscription", token, action="keep")
    assert subscribed.subscription("sub-alice").status is SubscriptionStatus.ACTIVE

    again = subscribed.submit("/pages/subscription", token, action="pause")

    assert again.status == 409
    assert subscribed.subscription("sub-alice").status is SubscriptionStatus.ACTIVE


def test_an_ended_subscription_is_still_opened_to_offer_a_way_back(subscribed: Pages) -> None:
    subscribed.api.post("/v1/subscriptions/sub-alice/cancel", {"at_period_end": False})

    reply = portal_link(subscribed, purpose="manage_subscription")

    page = opened(subscribed, reply.json["url"])
    assert page.status == 200 and 'value="come_back"' in page.text


def test_the_arabic_page_of_a_portal_link_links_back_right_to_left(pages: Pages) -> None:
    pages.api.customer("amira", locale="ar")

    reply = portal_link(pages, "amira", purpose="update_card", return_url=APP)

    page = opened(pages, reply.json["url"])
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "العودة إلى Acme Streaming" in page.text


# -- refusals: each changes nothing ---------------------------------------------------------------
def test_an_unknown_customer_is_404(pages: Pages) -> None:
    reply = portal_link(pages, "nobody", purpose="update_card")

    assert reply.status == 404 and reply.json["error"] == "not_found"


@pytest.mark.parametrize("purpose", ["delete_account", "", 7, None])
def test_an_unknown_purpose_is_422_naming_the_field(pages: Pages, purpose: Any) -> None:
    pages.api.customer("alice")

    reply = portal_link(pages, purpose=purpose)

    assert reply.status == 422
    assert reply.json["detail"][0]["loc"][:2] == ["body", "purpose"]


def test_a_missing_purpose_or_an_extra_field_is_422(pages: Pages) -> None:
    pages.api.customer("alice")

    assert portal_link(pages).status == 422
    assert portal_link(pages, purpose="update_card", subject="bob").status == 422


def test_confirm_payment_with_nothing_waiting_is_409(pages: Pages) -> None:
    pages.api.customer("alice")
    pages.card("alice", VISA)
    pages.api.subscription()  # paid at once: nothing waits for the customer
    before = pages.api.state()

    reply = portal_link(pages, purpose="confirm_payment")

    assert reply.status == 409 and reply.json["error"] == "conflict"
    assert "confirmation" in reply.json["message"]
    assert pages.api.state() == before


def test_manage_subscription_with_no_subscription_is_409(pages: Pages) -> None:
    pages.api.customer("alice")

    reply = portal_link(pages, purpose="manage_subscription")

    assert reply.status == 409 and reply.json["error"] == "conflict"


@pytest.mark.parametrize(
    "url",
    [
        "http://app.acme.example/account",  # not https
        "javascript:alert(1)",
        "ftp://app.acme.example/",
        "https://",  # no host
        "https://app.acme.example@evil.example/",  # user info
        "https://user:pw@app.acme.example/",
        "https://app.acme.example/a b",  # a space
        "https://app.acme.example/\u00e9",  # not ASCII: percent-encode it
        "https://app.acme.example:notaport/",
        "/account",  # relative
        "https://app.acme.example/" + "a" * 1980,  # 2,004 characters
    ],
)
def test_a_bad_return_url_is_422_naming_the_field(pages: Pages, url: str) -> None:
    pages.api.customer("alice")

    reply = portal_link(pages, purpose="update_card", return_url=url)

    assert reply.status == 422, url
    assert reply.json["detail"][0]["loc"][:2] == ["body", "return_url"]
    assert url not in reply.text  # what was sent is never echoed


def test_a_return_url_of_exactly_2000_characters_is_accepted(pages: Pages) -> None:
    pages.api.customer("alice")
    url = "https://app.acme.example/" + "a" * (2000 - len("https://app.acme.example/"))

    reply = portal_link(pages, purpose="update_card", return_url=url)

    assert reply.status == 200, reply.text
    page = opened(pages, reply.json["url"])  # a URL of about 2,900 characters still opens
    assert page.status == 200 and f'href="{url}"' in page.text


def test_loopback_http_is_accepted_only_while_tenure_itself_runs_locally(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenure import bootstrap
    from tenure.settings import Settings

    pages.api.customer("alice")
    local = "http://127.0.0.1:5173/account"
    assert portal_link(pages, purpose="update_card", return_url=local).status == 200

    monkeypatch.setenv("TENURE_PUBLIC_URL", "https://billing.acme.example")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))

    reply = portal_link(pages, purpose="update_card", return_url=local)
    assert reply.status == 422 and reply.json["detail"][0]["loc"][:2] == ["body", "return_url"]


def test_without_a_link_key_no_portal_link_is_made(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenure import bootstrap
    from tenure.settings import Settings

    pages.api.customer("alice")
    monkeypatch.setenv("TENURE_LINK_SECRET", "")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))

    reply = portal_link(pages, purpose="update_card")

    assert reply.status == 503 and "url" not in reply.json


def test_a_portal_link_needs_the_api_token(pages: Pages) -> None:
    pages.api.customer("alice")

    reply = pages.api.post(
        "/v1/customers/alice/portal-links", {"purpose": "update_card"}, token=None
    )

    assert reply.status == 401


# -- a link for one customer never serves another -------------------------------------------------
def _claims_of(pages: Pages, url: str) -> LinkClaims:
    from tenure.notify.link_tokens import verify

    return verify(KEY.encode(), token_of(url), LinkPurpose.UPDATE_CARD, pages.api.clock.now())


def test_a_link_whose_customer_is_changed_is_refused(pages: Pages) -> None:
    past_due(pages)
    pages.api.customer("bob")
    url = portal_link(pages, purpose="update_card", return_url=APP).json["url"]
    payload, _, signature = token_of(url).partition(".")
    forged_claims = LinkClaims(
        "bob", LinkPurpose.UPDATE_CARD, "bob", _claims_of(pages, url).expires_at, APP
    )
    bobs_payload = sign(b"not-the-key", forged_claims).partition(".")[0]
    before = pages.api.state()

    for token in (f"{bobs_payload}.{signature}", f"{payload}.{signature[:-2]}xx"):
        page = pages.open("/pages/card", token)
        assert page.status == 403
        assert "bob" not in page.text and "alice" not in page.text and "$10.00" not in page.text
        post = pages.submit("/pages/card", token, form_token="1.x", card="4242424242424242")
        assert post.status == 403
    assert pages.api.state() == before


def test_two_customers_links_cannot_swap_signatures_or_return_urls(pages: Pages) -> None:
    pages.api.customer("alice")
    pages.api.customer("bob")
    alices = token_of(
        portal_link(pages, "alice", purpose="update_card", return_url=APP).json["url"]
    )
    bobs = token_of(portal_link(pages, "bob", purpose="update_card").json["url"])
    elsewhere = token_of(
        portal_link(pages, "alice", purpose="update_card", return_url="https://evil.example/").json[
            "url"
        ]
    )

    swapped = [
        f"{alices.partition('.')[0]}.{bobs.partition('.')[2]}",
        f"{bobs.partition('.')[0]}.{alices.partition('.')[2]}",
        # alice's claims with another return URL, under the signature of the first
        f"{elsewhere.partition('.')[0]}.{alices.partition('.')[2]}",
    ]
    for token in swapped:
        assert pages.open("/pages/card", token).status == 403


def test_a_link_for_one_purpose_opens_no_other_page(pages: Pages) -> None:
    pages.api.customer("alice")
    token = token_of(portal_link(pages, purpose="update_card").json["url"])

    assert pages.open("/pages/subscription", token).status == 403
    assert pages.open("/pages/confirm", token).status == 403


def test_an_expired_portal_link_is_410_and_changes_nothing(pages: Pages) -> None:
    invoice_id = past_due(pages)
    url = portal_link(pages, purpose="update_card", return_url=APP).json["url"]
    pages.api.clock.set(pages.api.clock.now() + timedelta(hours=24))
    before = pages.api.state()

    page = opened(pages, url)
    post = pages.submit("/pages/card", token_of(url), form_token="1.x", card="4242424242424242")

    assert page.status == 410 and post.status == 410
    assert "Back to" not in page.text and APP not in page.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN
    assert pages.api.state() == before


def test_an_authentication_payment_of_another_customer_is_never_the_subject(
    pages: Pages,
) -> None:
    needs_authentication(pages, "bob", "sub-bob")
    pages.api.customer("alice")
    pages.card("alice", AUTHENTICATION)

    reply = portal_link(pages, "alice", purpose="confirm_payment")

    assert reply.status == 409


# -- how long a link lasts ------------------------------------------------------------------------
def test_a_link_asked_to_last_ten_minutes_expires_after_ten_minutes(pages: Pages) -> None:
    invoice_id = past_due(pages)
    made_at = pages.api.clock.now()

    reply = portal_link(pages, purpose="update_card", lifetime_minutes=10)

    assert reply.status == 200, reply.text
    assert reply.json["expires_at"] == iso(made_at + timedelta(minutes=10))
    pages.api.clock.set(made_at + timedelta(minutes=9, seconds=59))
    assert opened(pages, reply.json["url"]).status == 200
    pages.api.clock.set(made_at + timedelta(minutes=10))
    assert opened(pages, reply.json["url"]).status == 410
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN


def test_a_deployment_sets_the_default_lifetime_of_its_portal_links(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenure import bootstrap
    from tenure.settings import Settings

    pages.api.customer("alice")
    monkeypatch.setenv("TENURE_PORTAL_LINK_TTL_MINUTES", "90")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))

    reply = portal_link(pages, purpose="update_card")

    assert reply.json["expires_at"] == iso(pages.api.clock.now() + timedelta(minutes=90))
    week = portal_link(pages, purpose="update_card", lifetime_minutes=7 * 24 * 60)
    assert week.json["expires_at"] == iso(pages.api.clock.now() + timedelta(days=7))


@pytest.mark.parametrize("minutes", [4, 0, -5, 7 * 24 * 60 + 1, 30.0, "60", True, None])
def test_a_lifetime_out_of_bounds_or_not_a_whole_number_is_422_naming_the_field(
    pages: Pages, minutes: Any
) -> None:
    pages.api.customer("alice")
    before = pages.api.state()

    reply = portal_link(pages, purpose="update_card", lifetime_minutes=minutes)

    if minutes is None:  # null is the field left out: the default lifetime
        assert reply.status == 200
        return
    assert reply.status == 422, reply.text
    assert reply.json["detail"][0]["loc"][:2] == ["body", "lifetime_minutes"]
    assert pages.api.state() == before
