"""A customer with a past-due invoice opens a signed update-card link in headless Chromium,
types a test card and sees the invoice paid; a tampered link shows only a refusal; a page on
another site that posts a valid link is refused; an Arabic customer on a phone sees the
amount as the email writes it, "US$" whole, and cancels only once a reason is picked; a
customer redeems loyalty points and cancels with the keyboard alone."""

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from page_checks import overflow as page_overflow
from serve_process import call_api, serving
from serve_process import signed_link as link_signed_with

from tenure.notify.render import format_money

pytestmark = pytest.mark.e2e

TOKEN = "e2e-pages-token"
LINK_KEY = "e2e-pages-link-key"
signed_link = partial(link_signed_with, LINK_KEY)
api = partial(call_api, TOKEN)  # (base_url, method, path, body=None) -> JSON


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-pages")
    env = {"TENURE_API_TOKEN": TOKEN, "TENURE_LINK_SECRET": LINK_KEY}
    with serving(folder, env) as (url, _log):
        yield url


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages' screenshots go: TENURE_SCREENSHOTS_DIR to keep them, else a temp dir."""
    chosen = os.environ.get("TENURE_SCREENSHOTS_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


def subscribe_on_visa(base_url: str, customer: str, subscription: str, locale: str = "") -> str:
    """`customer` (email: their name at example.com) paying by a good card, subscribed to the
    plan `owing` makes; returns the link to their subscription page."""
    name = customer.removeprefix("pages-")
    body = {"id": customer, "email": f"{name}@example.com"} | ({"locale": locale} if locale else {})
    api(base_url, "POST", "/v1/customers", body)
    api(
        base_url,
        "POST",
        f"/v1/customers/{customer}/payment-methods",
        {"payment_method": "pm_card_visa", "default": True},
    )
    api(
        base_url,
        "POST",
        "/v1/subscriptions",
        {"id": subscription, "customer": customer, "plan": "pages-basic"},
    )
    return signed_link(base_url, customer, "manage_subscription", subscription)


def loyalty_on(base_url: str) -> None:
    """The loyalty program on: a point per dollar paid, 5¢ a point."""
    version = api(base_url, "GET", "/v1/programs")["version"]
    loyalty = {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 5}
    api(base_url, "PUT", "/v1/programs", {"version": version, "loyalty": loyalty})


def test_a_signed_link_lets_the_customer_pay_with_a_new_card(
    base_url: str, browser: Any, owing: tuple[str, str]
) -> None:
    customer, invoice_id = owing
    link = signed_link(base_url, customer, "update_card", invoice_id)
    page = browser.new_page()
    try:
        opened = page.goto(link)
        assert opened is not None and opened.status == 200
        # Named by its plan (here the plan's id: it has no name) and period, not its id.
        assert "pages-basic, " in page.inner_text("#owed")
        assert invoice_id not in page.inner_text("#owed")
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


def test_a_page_on_another_site_cannot_post_a_valid_link(
    base_url: str, browser: Any, owing: tuple[str, str]
) -> None:
    link = subscribe_on_visa(base_url, "pages-dora", "dora-sub")
    token = link.split("?t=", 1)[1]
    # The attacker's page: a text/plain form (no preflight) auto-submitted to our page.
    attack = f"""<!doctype html><form id=f method=post enctype=text/plain
      action="{base_url}/pages/subscription"><input name="t" value="{token}&action=cancel&x"></form>
      <script>document.getElementById("f").submit()</script>"""
    page = browser.new_page()
    try:
        page.route(
            "http://attacker.example/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body=attack),
        )
        with page.expect_navigation(url=f"{base_url}/pages/subscription") as navigation:
            page.goto("http://attacker.example/")
        reply = navigation.value
        text = page.inner_text("body")
    finally:
        page.close()

    assert reply is not None and reply.status == 403
    assert "This form cannot be accepted" in text
    sub = api(base_url, "GET", "/v1/subscriptions/dora-sub")
    assert sub["status"] == "active" and not sub["cancel_at_period_end"]


def test_an_arabic_customer_on_a_phone_sees_the_amount_as_the_email_writes_it(
    base_url: str,
    browser: Any,
    owing: tuple[str, str],  # makes the plan
    screenshots: Path,
) -> None:
    link = subscribe_on_visa(base_url, "pages-amira", "amira-sub", locale="ar")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="ar"
    )
    page = context.new_page()
    try:
        opened = page.goto(link)
        amount = page.inner_text("#amount")
        # Where each of "U", "S", "$" is drawn, left to right on the screen.
        drawn = page.eval_on_selector(
            "#amount",
            """el => {
              const node = el.firstChild, at = node.textContent.indexOf("US$");
              return [0, 1, 2].map(i => {
                const range = document.createRange();
                range.setStart(node, at + i);
                range.setEnd(node, at + i + 1);
                return range.getBoundingClientRect().left;
              });
            }""",
        )
        overflow = page_overflow(page)
        direction = page.get_attribute("html", "dir")

        page.screenshot(path=str(screenshots / "subscription-ar.png"), full_page=True)
        page.click("#cancel")  # no reason picked: the browser keeps the form, asks for one
        unsent = page.locator("#outcome").count()
        page.click("label[for=reason-too_expensive]")  # the label picks its choice
        page.click("#cancel")
        page.wait_for_selector("#outcome")
        cancelled = page.inner_text("#outcome")
    finally:
        context.close()

    assert opened is not None and opened.status == 200
    assert direction == "rtl"
    assert drawn == sorted(drawn) and len(set(drawn)) == 3  # "US$" on screen, never "$US"
    assert amount == format_money(1000, "USD", "ar")
    assert overflow <= 0  # nothing scrolls sideways on a phone
    assert unsent == 0  # the exit reason is a required choice
    assert (screenshots / "subscription-ar.png").stat().st_size > 10_000
    assert cancelled  # the form posted from the phone was taken
    sub = api(base_url, "GET", "/v1/subscriptions/amira-sub")
    assert sub["cancel_at_period_end"] is True and sub["cancel_reason"] == "too_expensive"


def tab_to(page: Any, element_id: str, presses: int = 30) -> None:
    """Press Tab until `element_id` has the focus, as a keyboard user would reach it."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_a_customer_redeems_points_and_cancels_with_the_keyboard_alone(
    base_url: str,
    browser: Any,
    owing: tuple[str, str],  # makes the plan
    screenshots: Path,
) -> None:
    loyalty_on(base_url)
    link = subscribe_on_visa(base_url, "pages-ken", "ken-sub")
    page = browser.new_page(viewport={"width": 800, "height": 900})
    try:
        page.goto(link)
        balance = page.inner_text("#points-balance")  # $10.00 paid: 10 points, 5¢ each
        page.screenshot(path=str(screenshots / "subscription-en.png"), full_page=True)

        tab_to(page, "points-count")
        page.keyboard.type("4")
        page.keyboard.press("Enter")
        page.wait_for_selector("#outcome")
        redeemed = page.inner_text("#outcome")

        tab_to(page, "reason-too_expensive")
        page.keyboard.press("ArrowDown")  # arrows move the choice, as in any radio group
        tab_to(page, "cancel")
        page.keyboard.press("Enter")
        page.wait_for_selector("#outcome >> text=end at the end")
    finally:
        page.close()

    assert balance == "Your balance: 10 points, worth $0.50."
    assert redeemed == "Done: 4 points ($0.20) will be taken off your next invoice."
    assert api(base_url, "GET", "/v1/customers/pages-ken/points")["balance"] == 6
    sub = api(base_url, "GET", "/v1/subscriptions/ken-sub")
    assert sub["cancel_at_period_end"] is True and sub["cancel_reason"] == "not_using"
    assert (screenshots / "subscription-en.png").stat().st_size > 10_000


def test_an_arabic_customer_sees_the_points_form_right_to_left(
    base_url: str,
    browser: Any,
    owing: tuple[str, str],  # makes the plan
    screenshots: Path,
) -> None:
    loyalty_on(base_url)
    link = subscribe_on_visa(base_url, "pages-layla", "layla-sub", locale="ar")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ar")
    page = context.new_page()
    try:
        page.goto(link)
        page.screenshot(path=str(screenshots / "subscription-ar-points.png"), full_page=True)
        # Where the label's words are drawn: against the right edge in Arabic.
        label_side = page.eval_on_selector(
            "label[for=points-count]",
            """label => {
              const range = document.createRange();
              range.selectNodeContents(label);
              const words = range.getBoundingClientRect(), box = label.getBoundingClientRect();
              return box.right - words.right < words.left - box.left ? "right" : "left";
            }""",
        )
        overflow = page_overflow(page)
        page.fill("#points-count", "3")
        page.click("#redeem_points")
        page.wait_for_selector("#outcome")
        done = page.inner_text("#outcome")
    finally:
        context.close()

    assert label_side == "right"  # the form reads right to left
    assert overflow <= 0
    assert done.startswith("تم:")
    assert api(base_url, "GET", "/v1/customers/pages-layla/points")["balance"] == 7
    assert (screenshots / "subscription-ar-points.png").stat().st_size > 10_000


def test_an_arabic_customer_on_a_phone_leaves_their_own_words_with_other(
    base_url: str,
    browser: Any,
    owing: tuple[str, str],  # makes the plan
    screenshots: Path,
) -> None:
    link = subscribe_on_visa(base_url, "pages-salma", "salma-sub", locale="ar")
    # A long note in Arabic with Latin and digits mixed in; more than the field takes.
    words = ("السعر مرتفع جدًا بالنسبة لي، وسأعود في 2027 ربما مع خطة Basic. " * 12).strip()
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="ar"
    )
    page = context.new_page()
    try:
        page.goto(link)
        page.click("label[for=reason-other]")
        page.fill("#reason_text", words)  # the field's maxlength cuts what is typed
        typed = page.input_value("#reason_text")
        box = page.eval_on_selector(
            "#reason_text", "el => [el.getBoundingClientRect().right, window.innerWidth]"
        )
        reads = page.eval_on_selector("#reason_text", "el => getComputedStyle(el).direction")
        overflow = page_overflow(page)
        page.screenshot(path=str(screenshots / "subscription-ar-other.png"), full_page=True)
        page.click("#cancel")
        page.wait_for_selector("#outcome")
    finally:
        context.close()

    assert len(typed) == 500 and words.startswith(typed)
    assert box[0] <= box[1] and overflow <= 0  # the text box fits the phone's width
    assert reads == "rtl"  # Arabic words read right to left in it
    sub = api(base_url, "GET", "/v1/subscriptions/salma-sub")
    assert (sub["cancel_reason"], sub["cancel_reason_text"]) == ("other", typed.strip())
