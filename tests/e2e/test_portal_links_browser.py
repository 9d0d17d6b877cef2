"""A portal link, as the business's app would hand it to a customer, opened in headless
Chromium from `tenure serve`: the card page in English takes a new card and links back to the
app; the same page in Arabic reads right to left with its way back. A screenshot of each is
kept with the test output (pytest's temporary folder, printed)."""

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from serve_process import call_api, serving

pytestmark = pytest.mark.e2e

TOKEN = "e2e-portal-token"
RETURN_URL = "http://127.0.0.1:9/account?from=portal"  # the app, on the developer's machine
api = partial(call_api, TOKEN)  # (base_url, method, path, body=None) -> JSON


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-portal")
    env = {"TENURE_API_TOKEN": TOKEN, "TENURE_LINK_SECRET": "e2e-portal-link-key"}
    with serving(folder, env) as (url, _log):
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("portal-screenshots")
    print(f"portal link screenshots: {folder}")
    return folder


def owing_customer(base_url: str, customer: str, locale: str) -> str:
    """`customer` subscribed with no card: the first invoice waits for one. Its id."""
    api(
        base_url,
        "POST",
        "/v1/customers",
        {"id": customer, "email": f"{customer}@example.com", "locale": locale},
    )
    created = api(
        base_url,
        "POST",
        "/v1/subscriptions",
        {"id": f"{customer}-sub", "customer": customer, "plan": "portal-basic"},
    )
    assert created["invoice"]["status"] == "open"
    return str(created["invoice"]["id"])


@pytest.fixture(scope="module")
def plan(base_url: str) -> None:
    api(
        base_url,
        "POST",
        "/v1/plans",
        {
            "id": "portal-basic",
            "name": "Basic",
            "amount": 1000,
            "currency": "USD",
            "interval": "month",
        },
    )


def test_a_portal_link_opens_the_card_page_which_pays_and_links_back_to_the_app(
    base_url: str, browser: Any, shots: Path, plan: None
) -> None:
    invoice_id = owing_customer(base_url, "portal-erin", "en")
    made = api(
        base_url,
        "POST",
        "/v1/customers/portal-erin/portal-links",
        {"purpose": "update_card", "return_url": RETURN_URL},
    )
    assert made["url"].startswith(f"{base_url}/pages/card?t=")
    page = browser.new_page()
    try:
        opened = page.goto(made["url"])
        back = page.get_attribute(".back a", "href")
        back_text = page.inner_text(".back")
        page.screenshot(path=str(shots / "portal-card-en.png"), full_page=True)
        page.fill("#card", "4242424242424242")
        page.click("#save")
        page.wait_for_selector("#outcome")
        outcome = page.inner_text("#outcome")
        still_back = page.get_attribute(".back a", "href")
    finally:
        page.close()

    assert opened is not None and opened.status == 200
    assert back == RETURN_URL == still_back  # the way back survives the form's post
    assert back_text == "Back to Tenure Demo"
    assert "paid" in outcome.lower()
    assert api(base_url, "GET", f"/v1/invoices/{invoice_id}")["status"] == "paid"
    assert (shots / "portal-card-en.png").stat().st_size > 0


def test_the_arabic_portal_page_reads_right_to_left_with_its_way_back(
    base_url: str, browser: Any, shots: Path, plan: None
) -> None:
    owing_customer(base_url, "portal-amal", "ar")
    made = api(
        base_url,
        "POST",
        "/v1/customers/portal-amal/portal-links",
        {"purpose": "update_card", "return_url": RETURN_URL},
    )
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="ar"
    )
    page = context.new_page()
    try:
        opened = page.goto(made["url"])
        direction = page.get_attribute("html", "dir")
        back_text = page.inner_text(".back")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=str(shots / "portal-card-ar.png"), full_page=True)
    finally:
        context.close()

    assert opened is not None and opened.status == 200
    assert direction == "rtl"
    assert back_text == "العودة إلى Tenure Demo"
    assert overflow <= 0
    assert (shots / "portal-card-ar.png").stat().st_size > 0
