"""The manage-subscription portal page in headless Chromium from `tenure serve`, as a customer
with only a keyboard would use it: open the signed link the business's app asked for, pause
for two months and resume early, read a plan change's preview and confirm it, then open the
invoice it raised; change the seats and add an add-on after the preview. Every result is
checked through the API. English on a desktop, Arabic on a phone; screenshots of each step are
kept with the test output (pytest's temporary folder, printed)."""

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from page_checks import ARABIC_PHONE, overflow, portal_link, press, unlabelled_controls
from serve_process import serving

pytestmark = pytest.mark.e2e

TOKEN = "e2e-manage-token"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-manage")
    env = {"TENURE_API_TOKEN": TOKEN, "TENURE_LINK_SECRET": "e2e-manage-link-key"}
    with serving(folder, env) as (url, _log):
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("manage-screenshots")
    print(f"portal manage screenshots: {folder}")
    return folder


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


@pytest.fixture(scope="module")
def catalog(base_url: str) -> None:
    for plan_id, name, amount in (("mg-basic", "Basic", 1000), ("mg-pro", "Pro", 2000)):
        body = {"id": plan_id, "name": name, "amount": amount, "currency": "USD"}
        api(base_url, "POST", "/v1/plans", body | {"interval": "month"})


def manage_link(base_url: str, customer: str, locale: str) -> str:
    """`customer` subscribed to Basic with a card that pays; the portal link to manage it."""
    body = {"id": customer, "email": f"{customer}@example.com", "locale": locale}
    api(base_url, "POST", "/v1/customers", body)
    method = {"payment_method": "pm_card_visa", "default": True}
    api(base_url, "POST", f"/v1/customers/{customer}/payment-methods", method)
    sub = {"id": f"{customer}-sub", "customer": customer, "plan": "mg-basic"}
    assert api(base_url, "POST", "/v1/subscriptions", sub)["subscription"]["status"] == "active"
    return portal_link(api, base_url, customer, "manage_subscription", "subscription")


def walk_through(page: Any, base_url: str, customer: str, shots: Path, lang: str) -> dict[str, Any]:
    """Pause two months, resume early, preview and confirm Pro, open its invoice. What the
    pages showed at each step, the API's view checked along the way."""
    seen: dict[str, Any] = {"unlabelled": unlabelled_controls(page)}
    sub_path = f"/v1/subscriptions/{customer}-sub"
    seen["pause_label"] = page.inner_text("label[for=pause-2]")
    page.screenshot(path=str(shots / f"manage-{lang}-1-page.png"), full_page=True)

    press(page, "#pause-2", "Space")
    press(page, "#pause")
    page.wait_for_selector("#outcome")
    seen["paused_outcome"] = page.inner_text("#outcome")
    seen["paused"] = api(base_url, "GET", sub_path)
    page.screenshot(path=str(shots / f"manage-{lang}-2-paused.png"), full_page=True)

    press(page, "#keep")
    page.wait_for_selector("#outcome")
    seen["resumed"] = api(base_url, "GET", sub_path)

    press(page, "#plan-mg-pro", "Space")
    press(page, "#preview_plan")
    page.wait_for_selector("#plan-preview")
    seen["preview"] = page.inner_text("#plan-preview")
    seen["preview_charge"] = page.inner_text("#preview-charge")
    seen["before_confirm"] = api(base_url, "GET", sub_path)
    page.screenshot(path=str(shots / f"manage-{lang}-3-preview.png"), full_page=True)

    press(page, "#confirm_plan")
    page.wait_for_selector("#outcome")
    seen["changed_outcome"] = page.inner_text("#outcome")
    seen["changed"] = api(base_url, "GET", sub_path)

    # The plan change's invoice: resuming raised one too, often in the same second, and
    # invoices of one second are listed in no particular order between them.
    link = page.get_attribute("a[href*='_proration_']", "id")
    href = page.get_attribute(f"#{link}", "href")
    seen["invoice_id"] = re.search(r"invoice=([^&]+)$", href or "").group(1)  # type: ignore[union-attr]
    press(page, f"#{link}")
    page.wait_for_selector("#invoice-total")
    seen["invoice_total"] = page.inner_text("#invoice-total")
    seen["invoice_api"] = api(base_url, "GET", f"/v1/invoices/{seen['invoice_id']}")
    seen["overflow"] = overflow(page)
    seen["dir"] = page.get_attribute("html", "dir")
    page.screenshot(path=str(shots / f"manage-{lang}-4-invoice.png"), full_page=True)
    return seen


def test_a_customer_pauses_resumes_and_changes_plan_after_the_preview_in_english(
    base_url: str, browser: Any, shots: Path, catalog: None
) -> None:
    url = manage_link(base_url, "mg-erin", "en")
    page = browser.new_page()
    try:
        opened = page.goto(url)
        seen = walk_through(page, base_url, "mg-erin", shots, "en")
    finally:
        page.close()

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == []
    paused_until = datetime.fromisoformat(seen["paused"]["paused_until"])
    assert seen["paused"]["status"] == "paused"
    shown_day = f"{paused_until:%B} {paused_until.day}, {paused_until.year}"
    assert seen["pause_label"] == f"2 months, resuming on {shown_day}"
    assert seen["paused_outcome"].startswith(f"Paused until {shown_day}.")
    assert seen["resumed"]["status"] == "active" and seen["resumed"]["paused_until"] is None
    assert seen["before_confirm"]["plan"] == "mg-basic"  # reading the preview changed nothing
    assert "Switching to Pro" in seen["preview"]
    assert seen["changed"]["plan"] == "mg-pro"
    assert seen["changed_outcome"] == "Done: your plan is now Pro."
    charged = seen["preview_charge"].split(" ")[0]
    assert seen["invoice_api"]["status"] == "paid"
    assert seen["invoice_total"] == charged  # the preview's amount is what was charged
    assert f"${seen['invoice_api']['total'] / 100:.2f}" == charged
    assert seen["dir"] == "ltr"
    assert sorted(p.name for p in shots.glob("manage-en-*.png")) == [
        "manage-en-1-page.png",
        "manage-en-2-paused.png",
        "manage-en-3-preview.png",
        "manage-en-4-invoice.png",
    ]


def test_the_same_walk_through_in_arabic_on_a_phone_reads_right_to_left(
    base_url: str, browser: Any, shots: Path, catalog: None
) -> None:
    url = manage_link(base_url, "mg-amal", "ar")
    context = browser.new_context(**ARABIC_PHONE)
    page = context.new_page()
    try:
        opened = page.goto(url)
        seen = walk_through(page, base_url, "mg-amal", shots, "ar")
    finally:
        context.close()

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == []
    assert seen["dir"] == "rtl" and seen["overflow"] <= 0
    assert seen["pause_label"].startswith("شهران، ويُستأنف في")
    assert seen["paused"]["status"] == "paused"
    assert seen["resumed"]["status"] == "active"
    assert seen["before_confirm"]["plan"] == "mg-basic"
    assert seen["changed"]["plan"] == "mg-pro" and seen["changed_outcome"] == "تم: خطتك الآن Pro."
    assert seen["invoice_api"]["status"] == "paid"
    assert seen["invoice_total"] in seen["preview_charge"]  # the amount the preview showed
    assert len(list(shots.glob("manage-ar-*.png"))) == 4


def change_seats(page: Any, base_url: str, customer: str, shots: Path, lang: str) -> dict[str, Any]:
    """By keyboard: 3 seats and the SSO add-on, previewed, then confirmed. What the pages
    showed, the API's view checked along the way."""
    seen: dict[str, Any] = {"unlabelled": unlabelled_controls(page)}
    sub_path = f"/v1/subscriptions/{customer}-sub"
    seen["items"] = page.inner_text("#items")
    page.focus("#quantity")
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    press(page, "#addon-mg-sso", "Space")
    press(page, "#preview_items")
    page.wait_for_selector("#items-preview")
    seen["preview"] = page.inner_text("#items-preview")
    seen["preview_charge"] = page.inner_text("#items-preview-charge")
    seen["before_confirm"] = api(base_url, "GET", sub_path)
    seen["overflow"] = [overflow(page)]
    page.screenshot(path=str(shots / f"seats-{lang}-1-preview.png"), full_page=True)

    press(page, "#confirm_items")
    page.wait_for_selector("#outcome")
    seen["outcome"] = page.inner_text("#outcome")
    seen["changed"] = api(base_url, "GET", sub_path)
    seen["overflow"].append(overflow(page))
    seen["dir"] = page.get_attribute("html", "dir")
    page.screenshot(path=str(shots / f"seats-{lang}-2-done.png"), full_page=True)
    invoices = api(base_url, "GET", f"/v1/subscriptions/{customer}-sub/invoices")["data"]
    seen["prorations"] = [i for i in invoices if i["id"].find("_proration_") > 0]
    return seen


@pytest.mark.parametrize(
    ("lang", "viewport"),
    [("en", {"width": 1280, "height": 900}), ("ar", {"width": 390, "height": 844})],
)
def test_a_customer_changes_seats_and_adds_an_add_on_after_the_preview(
    base_url: str, browser: Any, shots: Path, catalog: None, lang: str, viewport: dict[str, int]
) -> None:
    plans = api(base_url, "GET", "/v1/plans")["data"]
    if not any(p["id"] == "mg-sso" for p in plans):
        sso = {"id": "mg-sso", "name": "SSO", "amount": 500, "currency": "USD", "kind": "addon"}
        api(base_url, "POST", "/v1/plans", sso | {"interval": "month"})
    customer = f"mg-seats-{lang}"
    url = manage_link(base_url, customer, lang)
    context = browser.new_context(viewport=viewport, is_mobile=lang == "ar", locale=lang)
    page = context.new_page()
    try:
        opened = page.goto(url)
        seen = change_seats(page, base_url, customer, shots, lang)
    finally:
        context.close()

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == [] and all(width <= 0 for width in seen["overflow"])
    assert "Basic" in seen["items"]
    assert "items" not in seen["before_confirm"]  # reading the preview changed nothing
    assert seen["changed"]["items"] == [
        {"price": "mg-basic", "quantity": 3},
        {"price": "mg-sso", "quantity": 1},
    ]
    (proration,) = seen["prorations"]
    assert proration["status"] == "paid"
    shown = proration["total"] / 100
    if lang == "en":
        assert seen["dir"] == "ltr" and "Changing to: Basic × 3, SSO × 1" in seen["preview"]
        assert seen["preview_charge"].startswith(f"${shown:.2f} is charged now")
        assert seen["outcome"] == "Done: your seats and add-ons are changed."
    else:
        assert seen["dir"] == "rtl" and "التغيير إلى: Basic × 3, SSO × 1" in seen["preview"]
        assert seen["outcome"] == "تم: تغيّرت المقاعد والإضافات."
    assert len(list(shots.glob(f"seats-{lang}-*.png"))) == 2
