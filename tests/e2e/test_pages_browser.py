"""A customer with a past-due invoice opens a signed update-card link in headless Chromium,
types a test card and sees the invoice paid; a tampered link shows only a refusal."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serve_process import REPO, serving

pytestmark = pytest.mark.e2e

TOKEN = "e2e-pages-token"
LINK_KEY = "e2e-pages-link-key"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-pages")
    env = {"TENURE_API_TOKEN": TOKEN, "TENURE_LINK_SECRET": LINK_KEY}
    with serving(folder, env) as (url, _log):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def api(base_url: str, method: str, path: str, body: Any = None) -> Any:
    reply = requests.request(
        method,
        f"{base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert reply.status_code < 300, (path, reply.status_code, reply.text)
    return reply.json()


def signed_link(base_url: str, customer: str, purpose: str, subject: str) -> str:
    made = subprocess.run(
        [
            *(sys.executable, "-m", "tenure_local.cli", "links", "make"),
            *("--customer", customer, "--purpose", purpose, "--subject", subject),
            *("--base-url", base_url),
        ],
        cwd=REPO,
        env=os.environ | {"TENURE_LINK_SECRET": LINK_KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return made.stdout.strip()


@pytest.fixture(scope="module")
def owing(base_url: str) -> tuple[str, str]:
    """A customer whose card lacks funds: the first invoice of the subscription is owed."""
    api(
        base_url,
        "POST",
        "/v1/plans",
        {"id": "pages-basic", "amount": 1000, "currency": "USD", "interval": "month"},
    )
    api(base_url, "POST", "/v1/customers", {"id": "pages-carol", "email": "carol@example.com"})
    api(
        base_url,
        "POST",
        "/v1/customers/pages-carol/payment-methods",
        {"payment_method": "pm_card_chargeDeclinedInsufficientFunds", "default": True},
    )
    created = api(
        base_url,
        "POST",
        "/v1/subscriptions",
        {"id": "pages-sub", "customer": "pages-carol", "plan": "pages-basic"},
    )
    invoice_id = created["invoice"]["id"]
    assert created["invoice"]["status"] == "open"
    return "pages-carol", invoice_id


def test_a_signed_link_lets_the_customer_pay_with_a_new_card(
    base_url: str, browser: Any, owing: tuple[str, str]
) -> None:
    customer, invoice_id = owing
    link = signed_link(base_url, customer, "update_card", invoice_id)
    page = browser.new_page()
    try:
        opened = page.goto(link)
        assert opened is not None and opened.status == 200
        assert invoice_id in page.inner_text("#owed")
        assert "$10.00" in page.inner_text("#owed")
        assert "9995" in page.inner_text("#current-card")

        page.fill("#card", "4242424242424242")
        page.click("#save")
        page.wait_for_selector("#outcome")

        assert "paid" in page.inner_text("#outcome").lower()
        assert "4242" in page.inner_text("#current-card")
    finally:
        page.close()
    invoice = api(base_url, "GET", f"/v1/invoices/{invoice_id}")
    assert invoice["status"] == "paid"
    assert api(base_url, "GET", "/v1/subscriptions/pages-sub")["status"] == "active"


def test_a_tampered_link_is_refused_and_shows_nothing_of_the_customer(
    base_url: str, browser: Any, owing: tuple[str, str]
) -> None:
    customer, invoice_id = owing
    link = signed_link(base_url, customer, "update_card", invoice_id)
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    page = browser.new_page()
    try:
        opened = page.goto(tampered)
        text = page.inner_text("body")
    finally:
        page.close()

    assert opened is not None and opened.status == 403
    assert "This link is not valid" in text
    assert invoice_id not in text and customer not in text and "$10.00" not in text
