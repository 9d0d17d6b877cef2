"""A UPI customer chooses a card mandate instead, on the card page in headless Chromium from
`tenure serve`: the kinds are a radio group reached and changed by keyboard alone, the test
value filled in follows the kind chosen, and the API then shows a new mandate on file that
the page names as a card. English on a desktop, Arabic (right to left) on a phone;
screenshots kept with the test output (pytest's temporary folder, printed)."""

from functools import partial
from pathlib import Path
from typing import Any

import pytest
from page_checks import ARABIC_PHONE, overflow, unlabelled_controls, walk
from razorpay_stack import Served, razorpay_served  # noqa: F401 - the fixture `served`
from test_razorpay_mandate_browser import (
    OLD_MANDATE,
    api,
    monthly,  # noqa: F401 - the fixture
    upi_subscriber,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("razorpay-mandate-kind-screenshots")
    print(f"razorpay mandate kind screenshots: {folder}")
    return folder


def choose_a_card_by_keyboard(page: Any, shots: Path, lang: str) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "legend": page.inner_text("#mandate-kinds legend"),
        "checked_first": page.evaluate(
            "document.querySelector('input[name=mandate_kind]:checked').value"
        ),
        "unlabelled": unlabelled_controls(page),
    }
    page.screenshot(path=str(shots / f"kind-{lang}-1-offered.png"), full_page=True)
    # Tab reaches the radio group at its checked radio; an arrow key moves the choice.
    page.focus("body")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "mandate_kind":
            break
    seen["tabbed_to"] = page.evaluate("document.activeElement.id")
    page.keyboard.press("ArrowDown")
    seen["checked_then"] = page.evaluate(
        "document.querySelector('input[name=mandate_kind]:checked').value"
    )
    seen["pay_with"] = page.input_value("#pay-with")
    page.screenshot(path=str(shots / f"kind-{lang}-2-card-chosen.png"), full_page=True)
    page.focus("#mandate")
    page.keyboard.press("Enter")
    page.wait_for_selector("#outcome")
    seen["outcome"] = page.inner_text("#outcome")
    seen["current"] = page.inner_text("#current-card")
    seen["dir"] = page.get_attribute("html", "dir")
    seen["overflow"] = overflow(page)
    page.screenshot(path=str(shots / f"kind-{lang}-3-saved.png"), full_page=True)
    return seen


def default_method(served: Served, customer: str) -> str:
    return str(api(served.url, "GET", f"/v1/customers/{customer}")["default_payment_method"])


def test_a_upi_customer_chooses_a_card_mandate_by_keyboard_in_english(
    served: Served,
    monthly: str,  # noqa: F811
    browser: Any,
    shots: Path,
) -> None:
    link = upi_subscriber(served, monthly, "rz-kabir", "en")
    choose = partial(choose_a_card_by_keyboard, shots=shots, lang="en")
    opened, seen = walk(browser, link, choose, viewport={"width": 1280, "height": 900})

    assert opened is not None and opened.status == 200
    assert seen["legend"] == "Authorise the mandate on" and seen["unlabelled"] == []
    assert (seen["checked_first"], seen["tabbed_to"]) == ("upi", "kind-upi")
    assert seen["checked_then"] == "card"
    assert seen["pay_with"] == "4100 2800 0000 1007"  # the example follows the kind
    assert seen["outcome"].startswith("Your new mandate is saved")
    assert seen["current"].startswith("Visa") and seen["dir"] == "ltr"
    assert default_method(served, "rz-kabir") not in (OLD_MANDATE, "None")
    assert len(list(shots.glob("kind-en-*.png"))) == 3


def test_the_same_choice_in_arabic_on_a_phone_reads_right_to_left(
    served: Served,
    monthly: str,  # noqa: F811
    browser: Any,
    shots: Path,
) -> None:
    link = upi_subscriber(served, monthly, "rz-layla", "ar")
    choose = partial(choose_a_card_by_keyboard, shots=shots, lang="ar")
    opened, seen = walk(browser, link, choose, **ARABIC_PHONE)

    assert opened is not None and opened.status == 200
    assert seen["legend"] == "إعداد التفويض عبر" and seen["unlabelled"] == []
    assert seen["checked_then"] == "card" and seen["pay_with"] == "4100 2800 0000 1007"
    assert seen["dir"] == "rtl" and seen["overflow"] <= 0
    assert seen["outcome"].startswith("تم حفظ تفويضك الجديد")
    assert default_method(served, "rz-layla") not in (OLD_MANDATE, "None")
    assert len(list(shots.glob("kind-ar-*.png"))) == 3
