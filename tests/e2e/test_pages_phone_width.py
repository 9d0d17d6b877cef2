"""On a phone (375 px), no customer page is wider than the screen, whatever the business
named its plan: a name written as one long token (no spaces) breaks inside its cell, and the
page stays as wide as the phone, in Arabic as in English."""

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from serve_process import call_api, serving
from serve_process import signed_link as link_signed_with

pytestmark = pytest.mark.e2e

TOKEN = "e2e-phone-token"
LINK_KEY = "e2e-phone-link-key"
link = partial(link_signed_with, LINK_KEY)
PHONE = 375
# A name a business could give a plan (its SKU): one word, wider than a phone in any font.
PLAN_NAME = "ENTERPRISE_ANNUAL_MULTI_REGION_SSO_AUDIT_LOG_RETENTION_2026"
api = partial(call_api, TOKEN)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-phone")
    env = {"TENURE_API_TOKEN": TOKEN, "TENURE_LINK_SECRET": LINK_KEY}
    with serving(folder, env) as (url, _log):
        yield url


@pytest.fixture(scope="module")
def pages(base_url: str) -> dict[str, dict[str, str]]:
    """By the customer's locale: links to the subscription, card and invoice pages of a
    customer who owes the plan's first invoice (the pages speak the customer's language,
    Arabic right to left)."""
    plan = {"id": "phone-plan", "name": PLAN_NAME, "amount": 4900, "currency": "USD"}
    api(base_url, "POST", "/v1/plans", plan | {"interval": "month"})
    found = {}
    for locale in ("ar", "en"):
        customer = f"phone-{locale}"
        api(
            base_url,
            "POST",
            "/v1/customers",
            {"id": customer, "email": f"{customer}@example.com", "locale": locale},
        )
        # A card that lacks funds: the first invoice is owed, so the card page lists it too.
        method = {"payment_method": "pm_card_chargeDeclinedInsufficientFunds", "default": True}
        api(base_url, "POST", f"/v1/customers/{customer}/payment-methods", method)
        subscribe = {"id": f"{customer}-sub", "customer": customer, "plan": "phone-plan"}
        invoice_id = api(base_url, "POST", "/v1/subscriptions", subscribe)["invoice"]["id"]
        manage = link(base_url, customer, "manage_subscription", f"{customer}-sub")
        receipt = manage.replace("/pages/subscription?", "/pages/invoice?")
        found[locale] = {
            "subscription": manage,
            "card": link(base_url, customer, "update_card", customer),
            "invoice": f"{receipt}&invoice={invoice_id}",
        }
    return found


@pytest.mark.parametrize("locale", ["ar", "en"])
@pytest.mark.parametrize("page_name", ["subscription", "card", "invoice"])
def test_a_plan_named_in_one_long_word_keeps_the_page_as_wide_as_the_phone(
    browser: Any, pages: dict[str, dict[str, str]], page_name: str, locale: str
) -> None:
    # A mobile browser widens its layout viewport to the content rather than scroll
    # sideways, so `scrollWidth - innerWidth` is always 0 there: the width is compared
    # with the phone's.
    context = browser.new_context(
        viewport={"width": PHONE, "height": 812}, is_mobile=True, has_touch=True, locale=locale
    )
    page = context.new_page()
    try:
        opened = page.goto(pages[locale][page_name])
        shown = page.inner_text("main")
        direction = page.get_attribute("html", "dir")
        widths = page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
    finally:
        context.close()
    assert opened is not None and opened.status == 200
    assert PLAN_NAME[:10] in shown
    assert direction == ("rtl" if locale == "ar" else "ltr")
    assert widths == [PHONE, PHONE]
