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

import boto3
import pytest
from razorpay_stack import TOKEN, Served, razorpay_served  # noqa: F401 - the fixture `served`
from serve_process import call_api

from tenure import bootstrap
from tenure.domain.charges import ChargeOutcome
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.services import catalog, charging, subscriptions
from tenure.services.due import work_due
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
    client = boto3.client(
        "dynamodb",
        endpoint_url=served.stack["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=served.stack["AWS_REGION"],
        aws_access_key_id=served.stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=served.stack["AWS_SECRET_ACCESS_KEY"],
    )
    settings = Settings(**served.stack, TENURE_SANDBOX_STATE=served.sandbox_state)
    repo = DynamoRepository(client, settings.table_name)
    svc = bootstrap.build(settings, store=repo, clock=clock).services
    if repo.get_plan(PLAN.id) is None:
        catalog.create_plan(svc, PLAN)
    catalog.create_customer(
        svc, customer, f"{customer}@example.com", locale=locale, provider="razorpay"
    )
    charging.update_payment_method(svc, customer, MANDATE, "razorpay", True)
    sub_id = f"{customer}-sub"
    subscriptions.subscribe(svc, sub_id, customer, PLAN.id)
    until = datetime.now(UTC) - timedelta(minutes=5)
    while (due_at := repo.next_due_at()) is not None and due_at <= until:
        clock.set(max(due_at, clock.now()))
        for item in repo.due(clock.now()):
            work_due(svc, item)
        clock.advance(timedelta(minutes=15))  # the scheduler's next tick
    sub = repo.get_subscription(sub_id)
    assert sub is not None
    [renewal] = [i for i in repo.list_invoices(sub_id) if i.status.value == "open"]
    [charge] = repo.list_charges(renewal.id)
    assert charge.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED
    return renewal.id


def confirm_link(served: Served, customer: str) -> str:
    path = f"/v1/customers/{customer}/portal-links"
    made = api(served.url, "POST", path, {"purpose": "confirm_payment"})
    assert made["url"].startswith(f"{served.url}/pages/confirm?t=")
    return str(made["url"])


def press(page: Any, selector: str, key: str = "Enter") -> None:
    """Reach `selector` by keyboard focus and press `key`, as a keyboard user would."""
    page.focus(selector)
    assert page.evaluate("document.activeElement.id") == selector.removeprefix("#")
    page.keyboard.press(key)


def authenticate(page: Any, shots: Path, lang: str) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "amount": page.inner_text("#amount"),
        "pay_with": page.input_value("#pay-with"),
        "unlabelled": page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden])')]
                 .filter(c => c.labels.length === 0).map(c => c.id || c.name)"""
        ),
    }
    page.screenshot(path=str(shots / f"razorpay-{lang}-1-confirm.png"), full_page=True)
    press(page, "#confirm")
    page.wait_for_selector("#outcome")
    seen["outcome"] = page.inner_text("#outcome")
    seen["dir"] = page.get_attribute("html", "dir")
    seen["overflow"] = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(shots / f"razorpay-{lang}-2-paid.png"), full_page=True)
    return seen


def test_a_customer_authenticates_a_debit_above_15000_rupees_in_english(
    served: Served, browser: Any, shots: Path
) -> None:
    invoice_id = awaits_authentication(served, "rz-asha", "en")
    before = api(served.url, "GET", f"/v1/invoices/{invoice_id}")
    page = browser.new_page()
    try:
        opened = page.goto(confirm_link(served, "rz-asha"))
        seen = authenticate(page, shots, "en")
    finally:
        page.close()

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
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="ar"
    )
    page = context.new_page()
    try:
        opened = page.goto(confirm_link(served, "rz-amal"))
        seen = authenticate(page, shots, "ar")
    finally:
        context.close()

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == []
    assert seen["dir"] == "rtl" and seen["overflow"] <= 0
    assert api(served.url, "GET", f"/v1/invoices/{invoice_id}")["status"] == "paid"
    assert len(list(shots.glob("razorpay-ar-*.png"))) == 2
