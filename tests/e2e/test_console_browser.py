"""The operator console in headless Chromium from `tenure serve`, as support staff use it with
a keyboard: sign in with a named token, find a customer, read the timeline, refund an invoice
after its confirmation step, and see the refund and its audit entry through the API; an
admin erases a customer (and is told why not while a subscription is live). On a desktop
and on a phone; screenshots of each step are kept with the test output (pytest's temporary
folder, printed)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from page_checks import overflow, press, unlabelled_controls
from serve_process import serving

pytestmark = pytest.mark.e2e

ANNA = "anna-support-e2e-" + "a" * 32
ADMIN = "platform-admin-e2e-" + "c" * 32
TOKENS = [
    {"name": "support-anna", "token": ANNA, "scopes": ["billing"]},
    {"name": "platform", "token": ADMIN, "scopes": ["admin"], "kind": "system"},
]
NOTE = "Customer asked on the phone; half the month unused"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-console")
    env = {"TENURE_API_TOKEN": json.dumps(TOKENS), "TENURE_LINK_SECRET": "e2e-console-link-key"}
    with serving(folder, env) as (url, log):
        yield url
        # The handlers' logs (JSON lines) never hold the token the console was signed in with
        # (`tenure serve`'s own banner prints the configured tokens for the developer).
        handler_logs = [line for line in log.read_text().splitlines() if line.startswith("{")]
        assert any("console signed in" in line for line in handler_logs)
        assert not any(ANNA in line for line in handler_logs)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("console-screenshots")
    print(f"console screenshots: {folder}")
    return folder


def api(base_url: str, method: str, path: str, body: Any = None, **query: str) -> Any:
    reply = requests.request(
        method,
        f"{base_url}{path}",
        json=body,
        params=query or None,
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert reply.status_code < 300, (path, reply.status_code, reply.text)
    return reply.json()


def paying_customer(base_url: str, customer: str, name: str) -> str:
    """`customer` subscribed with a card that pays; the id of their paid first invoice."""
    if not any(p["id"] == "cs-basic" for p in api(base_url, "GET", "/v1/plans")["data"]):
        plan = {"id": "cs-basic", "name": "Basic", "amount": 1000, "currency": "USD"}
        api(base_url, "POST", "/v1/plans", plan | {"interval": "month"})
    body = {"id": customer, "email": f"{customer}@example.com", "name": name}
    api(base_url, "POST", "/v1/customers", body)
    method = {"payment_method": "pm_card_visa", "default": True}
    api(base_url, "POST", f"/v1/customers/{customer}/payment-methods", method)
    sub = {"id": f"{customer}-sub", "customer": customer, "plan": "cs-basic"}
    made = api(base_url, "POST", "/v1/subscriptions", sub)
    assert made["invoice"]["status"] == "paid"
    return str(made["invoice"]["id"])


def refund_walk(
    page: Any, base_url: str, customer: str, invoice: str, shots: Path, tag: str
) -> dict[str, Any]:
    """Sign in, find `customer`, read the timeline, refund $4.00 of `invoice` after the
    confirmation step. What the pages showed at each step."""
    seen: dict[str, Any] = {"unlabelled": [], "overflow": []}
    opened = page.goto(f"{base_url}/console")
    seen["sign_in_status"] = opened.status
    seen["unlabelled"] += unlabelled_controls(page)
    page.screenshot(path=str(shots / f"console-{tag}-1-sign-in.png"), full_page=True)
    page.fill("#token", ANNA)
    press(page, "#sign-in")
    page.wait_for_selector("#q")
    seen["cookies"] = page.context.cookies()

    page.fill("#q", customer)
    press(page, "#find")
    page.wait_for_selector("#customer")
    seen["name"] = page.inner_text("#customer-name")
    seen["name_dir"] = page.get_attribute("#customer-name", "dir")
    seen["overflow"].append(overflow(page))
    page.screenshot(path=str(shots / f"console-{tag}-2-customer.png"), full_page=True)

    press(page, "#timeline-link")
    page.wait_for_selector("#timeline")
    seen["timeline"] = page.inner_text("#timeline")
    seen["overflow"].append(overflow(page))
    page.screenshot(path=str(shots / f"console-{tag}-3-timeline.png"), full_page=True)
    page.go_back()
    page.wait_for_selector("#customer")

    press(page, f"#refund-{invoice}")
    page.wait_for_selector("#note")
    seen["unlabelled"] += unlabelled_controls(page)
    page.fill("#amount", "4.00")
    page.fill("#note", NOTE)
    press(page, "#review")
    page.wait_for_selector("#summary")
    seen["summary"] = page.inner_text("#summary")
    seen["before_confirm"] = api(base_url, "GET", f"/v1/invoices/{invoice}")
    page.screenshot(path=str(shots / f"console-{tag}-4-confirm.png"), full_page=True)

    press(page, "#confirm")
    page.wait_for_selector("#outcome")
    seen["outcome"] = page.inner_text("#outcome")
    seen["overflow"].append(overflow(page))
    page.screenshot(path=str(shots / f"console-{tag}-5-done.png"), full_page=True)
    return seen


def check_refunded(base_url: str, invoice: str, seen: dict[str, Any]) -> None:
    assert seen["sign_in_status"] == 401  # no session yet: the sign-in page
    assert seen["unlabelled"] == []
    (cookie,) = seen["cookies"]
    assert cookie["name"] == "tenure_console" and cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict" and ANNA not in cookie["value"]
    assert "subscription.created" in seen["timeline"]
    assert "Refund $4.00" in seen["summary"]
    assert seen["before_confirm"]["amount_refunded"] == 0  # reviewing changed nothing
    assert seen["outcome"].startswith("Refunded $4.00")
    assert api(base_url, "GET", f"/v1/invoices/{invoice}")["amount_refunded"] == 400
    audit = api(base_url, "GET", "/v1/audit", entity=invoice)["data"]
    assert [(e["actor"], e["action"], e["note"]) for e in audit] == [
        ("support-anna", "refund", NOTE)
    ]
    assert all(width <= 0 for width in seen["overflow"])


def test_an_operator_refunds_an_invoice_after_confirming_it(
    base_url: str, browser: Any, shots: Path
) -> None:
    invoice = paying_customer(base_url, "cs-erin", "Erin Walsh")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        seen = refund_walk(page, base_url, "cs-erin", invoice, shots, "desktop")
    finally:
        context.close()

    check_refunded(base_url, invoice, seen)
    assert seen["name"] == "Erin Walsh"


def test_on_a_phone_an_arabic_name_reads_in_its_own_direction(
    base_url: str, browser: Any, shots: Path
) -> None:
    invoice = paying_customer(base_url, "cs-amal", "أمل الحداد")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        seen = refund_walk(page, base_url, "cs-amal", invoice, shots, "phone")
        direction = page.evaluate("getComputedStyle(document.querySelector('#outcome')).direction")
        page.goto(f"{base_url}/console/customers/cs-amal")
        name_direction = page.evaluate(
            "getComputedStyle(document.querySelector('#customer-name')).direction"
        )
    finally:
        context.close()

    check_refunded(base_url, invoice, seen)
    assert seen["name"] == "أمل الحداد" and seen["name_dir"] == "auto"
    assert direction == "ltr" and name_direction == "rtl"
    assert len(list(shots.glob("console-phone-*.png"))) == 5


def admin_signed_in(page: Any, base_url: str, customer: str) -> None:
    page.goto(f"{base_url}/console")
    page.fill("#token", ADMIN)
    press(page, "#sign-in")
    page.wait_for_selector("#q")
    page.fill("#q", customer)
    press(page, "#find")
    page.wait_for_selector("#customer")


def test_an_admin_erases_a_customer_by_keyboard_on_a_phone(
    base_url: str, browser: Any, shots: Path
) -> None:
    body = {"id": "cs-nadia", "email": "nadia.roux@example.com", "name": "Nadia Roux"}
    api(base_url, "POST", "/v1/customers", body)
    method = {"payment_method": "pm_card_visa", "default": True}
    api(base_url, "POST", "/v1/customers/cs-nadia/payment-methods", method)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    widths = []
    try:
        admin_signed_in(page, base_url, "cs-nadia")
        press(page, "#erase-cs-nadia")
        page.wait_for_selector("#note")
        unlabelled = unlabelled_controls(page)
        page.fill("#note", "GDPR request 42, identity checked")
        press(page, "#review")
        page.wait_for_selector("#summary")
        summary = page.inner_text("#summary")
        widths.append(overflow(page))
        before = api(base_url, "GET", "/v1/customers/cs-nadia")
        page.screenshot(path=str(shots / "console-erase-1-confirm.png"), full_page=True)
        press(page, "#confirm")
        page.wait_for_selector("#outcome")
        outcome = page.inner_text("#outcome")
        widths.append(overflow(page))
        page.screenshot(path=str(shots / "console-erase-2-done.png"), full_page=True)
        press(page, "#back")
        page.wait_for_selector("#erased")
        offered_again = page.query_selector("#erase-cs-nadia") is not None
    finally:
        context.close()

    assert unlabelled == [] and all(width <= 0 for width in widths)
    assert "cannot be undone" in summary
    assert before["email"] == "nadia.roux@example.com"  # reviewing changed nothing
    assert outcome == "Customer cs-nadia is erased."
    after = api(base_url, "GET", "/v1/customers/cs-nadia")
    assert after["email"].startswith("erased-") and "Nadia" not in json.dumps(after)
    assert not offered_again
    audit = api(base_url, "GET", "/v1/audit", entity="cs-nadia")["data"]
    assert ("platform", "erase") in [(e["actor"], e["action"]) for e in audit]


def test_erasing_a_subscribed_customer_shows_why_not_and_their_items(
    base_url: str, browser: Any
) -> None:
    paying_customer(base_url, "cs-omar", "Omar Haddad")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        admin_signed_in(page, base_url, "cs-omar")
        items = page.inner_text("#items-cs-omar-sub")
        press(page, "#erase-cs-omar")
        page.wait_for_selector("#note")
        page.fill("#note", "GDPR request 43")
        press(page, "#review")
        page.wait_for_selector("#confirm")
        press(page, "#confirm")
        page.wait_for_selector("#problem")
        text = page.inner_text("#problem")
    finally:
        context.close()

    assert "Basic" in items and "$10.00" in items
    assert "subscription cs-omar-sub is active; cancel it first" in text
    assert api(base_url, "GET", "/v1/customers/cs-omar")["email"] == "cs-omar@example.com"
