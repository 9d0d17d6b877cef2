"""A Razorpay debit above ₹15,000 in headless Chromium from `tenure serve`: the customer opens
the confirm link the business's app asked for, authenticates the waiting order in the
sandbox's stand-in for Razorpay Checkout, and the invoice is paid, as the API then says.
English on a desktop, Arabic on a phone; screenshots of each step are kept with the test
output (pytest's temporary folder, printed).

The debit is a renewal, a month after subscribing, so each customer's past is written first,
straight into the served stack's table and its shared Razorpay sandbox, by the services
themselves on a clock set a month back; the page is then used in the present."""

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from page_checks import (
    ARABIC_PHONE,
    overflow,
    portal_link,
    press,
    unlabelled_controls,
    walk,
)
from razorpay_stack import TOKEN, Served, razorpay_served  # noqa: F401 - the fixture `served`
from seeded_past import table_client, work_due_until
from serve_process import call_api

from tenure import bootstrap
from tenure.domain.charges import ChargeOutcome
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.services import cards, catalog, subscriptions
from tenure.settings import Settings
from tenure.store.dynamodb import DynamoRepository

pytestmark = pytest.mark.e2e

# ₹20,000 a month: above the ₹15,000 a mandate debits without the customer, within the
# sandbox's lakh@sandbox UPI mandate (₹1,00,000).
PLAN = Plan(id="rz-lakh", name="Studio", amount=2_000_000, currency="INR", interval="month")
MANDATE = "token_upi_lakh"
api = partial(call_api, TOKEN)  # (base_url, method, path, body=None) -> JSON


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("razorpay-confirm-screenshots")
    print(f"razorpay confirm screenshots: {folder}")
    return folder


def awaits_authentication(served: Served, customer: str, locale: str) -> str:
    """`customer` subscribed a month ago on her UPI mandate; her renewal now waits for her to
    authenticate it. Returns the renewal invoice's id."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=31)
    clock = FixedClock(start)
    client = table_client(served.stack)
    settings = Settings(**served.stack, TENURE_SANDBOX_STATE=served.sandbox_state)
    repo = DynamoRepository(client, settings.table_name)
    svc = bootstrap.build(settings, store=repo, clock=clock).services
    if repo.get_plan(PLAN.id) is None:
        catalog.create_plan(svc, PLAN)
    catalog.create_customer(
        svc, customer, f"{customer}@example.com", locale=locale, provider="razorpay"
    )
    cards.update_payment_method(svc, customer, MANDATE, "razorpay", True)
    sub_id = f"{customer}-sub"
    subscriptions.subscribe(svc, sub_id, customer, PLAN.id)
    until = datetime.now(UTC) - timedelta(minutes=5)
    work_due_until(svc, repo, clock, until)
    sub = repo.get_subscription(sub_id)
    assert sub is not None
    [renewal] = [i for i in repo.list_invoices(sub_id) if i.status.value == "open"]
    [charge] = repo.list_charges(renewal.id)
    assert charge.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED
    return renewal.id


def confirm_link(served: Served, customer: str) -> str:
    return portal_link(api, served.url, customer, "confirm_payment", "confirm")


def authenticate(page: Any, shots: Path, lang: str) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "amount": page.inner_text("#amount"),
        "pay_with": page.input_value("#pay-with"),
        "unlabelled": unlabelled_controls(page),
    }
    page.screenshot(path=str(shots / f"razorpay-{lang}-1-confirm.png"), full_page=True)
    press(page, "#confirm")
    page.wait_for_selector("#outcome")
    seen["outcome"] = page.inner_text("#outcome")
    seen["dir"] = page.get_attribute("html", "dir")
    seen["overflow"] = overflow(page)
    page.screenshot(path=str(shots / f"razorpay-{lang}-2-paid.png"), full_page=True)
    return seen


def test_a_customer_authenticates_a_debit_above_15000_rupees_in_english(
    served: Served, browser: Any, shots: Path
) -> None:
    invoice_id = awaits_authentication(served, "rz-asha", "en")
    before = api(served.url, "GET", f"/v1/invoices/{invoice_id}")
    link = confirm_link(served, "rz-asha")
    opened, seen = walk(browser, link, lambda page: authenticate(page, shots, "en"))

    assert opened is not None and opened.status == 200
    csp = opened.headers["content-security-policy"]
    assert "razorpay.com" not in csp  # the sandbox's form: nothing loads from outside
    assert before["status"] == "open"
    assert seen["amount"] == "₹20,000.00" and seen["pay_with"] == "success@razorpay"
    assert seen["unlabelled"] == []
    assert seen["outcome"].startswith("Paid")
    after = api(served.url, "GET", f"/v1/invoices/{invoice_id}")
    assert after["status"] == "paid" and after["total"] == PLAN.amount
    assert seen["dir"] == "ltr"
    assert len(list(shots.glob("razorpay-en-*.png"))) == 2


def test_the_same_in_arabic_on_a_phone_reads_right_to_left(
    served: Served, browser: Any, shots: Path
) -> None:
    invoice_id = awaits_authentication(served, "rz-amal", "ar")
    link = confirm_link(served, "rz-amal")
    opened, seen = walk(browser, link, lambda page: authenticate(page, shots, "ar"), **ARABIC_PHONE)

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == []
    assert seen["dir"] == "rtl" and seen["overflow"] <= 0
    assert api(served.url, "GET", f"/v1/invoices/{invoice_id}")["status"] == "paid"
    assert len(list(shots.glob("razorpay-ar-*.png"))) == 2
