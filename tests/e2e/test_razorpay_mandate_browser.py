"""A UPI customer gives a new mandate on the card page in headless Chromium from `tenure
serve`: the business's app asks for the card link, the customer authorises the registration
in the sandbox's stand-in for Razorpay Checkout by keyboard, and the API then shows the new
mandate as their payment method, with the limit the page stated. English on a desktop,
Arabic on a phone; screenshots of each step are kept with the test output (pytest's
temporary folder, printed)."""

from functools import partial
from pathlib import Path
from typing import Any

import pytest
from page_checks import ARABIC_PHONE, overflow, portal_link, unlabelled_controls, walk
from razorpay_stack import TOKEN, Served, razorpay_served  # noqa: F401 - the fixture `served`
from serve_process import call_api

pytestmark = pytest.mark.e2e

PLAN = {"id": "rz-monthly", "name": "Monthly", "amount": 50_000, "currency": "INR"}
OLD_MANDATE = "token_upi_success"
api = partial(call_api, TOKEN)  # (base_url, method, path, body=None) -> JSON


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("razorpay-mandate-screenshots")
    print(f"razorpay mandate screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def monthly(served: Served) -> str:
    api(served.url, "POST", "/v1/plans", PLAN | {"interval": "month"})
    return str(PLAN["id"])


def upi_subscriber(served: Served, plan: str, customer: str, locale: str) -> str:
    """`customer` pays ₹500 a month on a UPI mandate, all through the API; returns the card
    page's link, as the business's app would ask for it."""
    body = {
        "id": customer,
        "email": f"{customer}@example.com",
        "locale": locale,
        "provider": "razorpay",
    }
    api(served.url, "POST", "/v1/customers", body)
    path = f"/v1/customers/{customer}/payment-methods"
    api(served.url, "POST", path, {"payment_method": OLD_MANDATE, "default": True})
    sub = {"id": f"{customer}-sub", "customer": customer, "plan": plan}
    api(served.url, "POST", "/v1/subscriptions", sub)
    return portal_link(api, served.url, customer, "update_card", "card")


def give_mandate(page: Any, shots: Path, lang: str) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "explain": page.inner_text("#mandate-explain"),
        "pay_with": page.input_value("#pay-with"),
        "unlabelled": unlabelled_controls(page),
    }
    page.screenshot(path=str(shots / f"mandate-{lang}-1-card.png"), full_page=True)
    page.focus("#mandate")
    assert page.evaluate("document.activeElement.id") == "mandate"
    page.keyboard.press("Enter")
    page.wait_for_selector("#outcome")
    seen["outcome"] = page.inner_text("#outcome")
    seen["dir"] = page.get_attribute("html", "dir")
    seen["overflow"] = overflow(page)
    page.screenshot(path=str(shots / f"mandate-{lang}-2-saved.png"), full_page=True)
    return seen


def the_new_mandate(served: Served, customer: str) -> dict[str, Any]:
    found = api(served.url, "GET", f"/v1/customers/{customer}")
    default = found["default_payment_method"]
    assert default != OLD_MANDATE
    return {"default": default, "customer": found}


def test_a_upi_customer_gives_a_new_mandate_in_english_on_a_desktop(
    served: Served, monthly: str, browser: Any, shots: Path
) -> None:
    link = upi_subscriber(served, monthly, "rz-meera", "en")
    opened, seen = walk(
        browser,
        link,
        lambda page: give_mandate(page, shots, "en"),
        viewport={"width": 1280, "height": 900},
    )

    assert opened is not None and opened.status == 200
    assert "razorpay.com" not in opened.headers["content-security-policy"]  # the sandbox form
    assert "up to ₹750.00 at a time" in seen["explain"]  # ₹500 and 50% headroom
    assert seen["pay_with"] == "success@razorpay" and seen["unlabelled"] == []
    assert seen["outcome"].startswith("Your new mandate is saved")
    assert seen["dir"] == "ltr"
    new = the_new_mandate(served, "rz-meera")
    assert new["default"].startswith("token_")
    assert len(list(shots.glob("mandate-en-*.png"))) == 2


def test_the_same_in_arabic_on_a_phone_reads_right_to_left(
    served: Served, monthly: str, browser: Any, shots: Path
) -> None:
    link = upi_subscriber(served, monthly, "rz-amira", "ar")
    opened, seen = walk(browser, link, lambda page: give_mandate(page, shots, "ar"), **ARABIC_PHONE)

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == []
    assert seen["dir"] == "rtl" and seen["overflow"] <= 0
    assert seen["outcome"].startswith("تم حفظ تفويضك الجديد")
    the_new_mandate(served, "rz-amira")
    assert len(list(shots.glob("mandate-ar-*.png"))) == 2
