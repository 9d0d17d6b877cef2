"""What the browser tests do and read on a page the same way: reach a control by keyboard,
find the controls a screen reader could not name, measure sideways scrolling, and ask the
API for a customer's portal link."""

from collections.abc import Callable
from typing import Any

# A phone in Arabic: the pages must read right to left and fit its width.
ARABIC_PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "locale": "ar",
}


def press(page: Any, selector: str, key: str = "Enter") -> None:
    """Reach `selector` by keyboard focus and press `key`, as a keyboard user would."""
    page.focus(selector)
    assert page.evaluate("document.activeElement.id") == selector.removeprefix("#")
    page.keyboard.press(key)


def unlabelled_controls(page: Any) -> list[str]:
    """Visible form controls a screen reader could not name (no label, no aria-label)."""
    found: list[str] = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(c => c.labels.length === 0 && !c.getAttribute('aria-label'))
             .map(c => c.id || c.name)"""
    )
    return found


def overflow(page: Any) -> int:
    """How much wider than the viewport the page is (0 or less: it fits the screen). Against
    the viewport's configured width, not `innerWidth`: a mobile browser widens its layout
    viewport to the content rather than scroll sideways, so there the two are always equal."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width - int(page.viewport_size["width"])


def portal_link(
    api: Callable[..., Any], base_url: str, customer: str, purpose: str, page: str
) -> str:
    """The signed link to `customer`'s `page` the business's app asks the API for."""
    made = api(base_url, "POST", f"/v1/customers/{customer}/portal-links", {"purpose": purpose})
    assert made["url"].startswith(f"{base_url}/pages/{page}?t=")
    return str(made["url"])


def walk(
    browser: Any, link: str, steps: Callable[[Any], dict[str, Any]], **context: Any
) -> tuple[Any, dict[str, Any]]:
    """Open `link` in a fresh browser context (`context`: its viewport, locale...) and take
    `steps` on the page; returns the response that opened it and what the steps saw. The
    context is closed after, whatever happened."""
    opened_in = browser.new_context(**context)
    try:
        page = opened_in.new_page()
        opened = page.goto(link)
        return opened, steps(page)
    finally:
        opened_in.close()
