"""The collections page in headless Chromium from `tenure serve`, as a customer who fell
behind would use it with a keyboard: open the signed link the business's app asked for, read
what the balance is made of, then choose a repayment plan, or pay it all at once. Every
result is checked through the API. English on a desktop, Arabic on a phone; screenshots of
each step are kept with the test output (pytest's temporary folder, printed).

Falling into collections takes weeks of dunning, so each customer's past is written first,
straight into the served stack's table, by the services themselves on a clock set two months
back; the page is then used in the present, as the customer would."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from page_checks import ARABIC_PHONE, overflow, portal_link, press, unlabelled_controls
from seeded_past import table_client, work_due_until
from serve_process import call_api, serving

from tenure import bootstrap
from tenure.domain.plans import Plan
from tenure.domain.subscription import SubscriptionStatus
from tenure.fakes import FixedClock
from tenure.notify.render import format_money
from tenure.payments.sandbox import SandboxGateway
from tenure.services import cards, catalog, collections, subscriptions
from tenure.settings import Settings
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

pytestmark = pytest.mark.e2e

TOKEN = "e2e-collections-token"
LINK_KEY = "e2e-collections-link-key"
PLAN = Plan(id="cl-basic", name="Basic", amount=1250, currency="USD", interval="month")
INSUFFICIENT_FUNDS = "pm_card_chargeDeclinedInsufficientFunds"
api = partial(call_api, TOKEN)  # (base_url, method, path, body=None) -> JSON


@dataclass(frozen=True)
class Served:
    url: str
    stack: dict[str, str]  # the served stack's env: its endpoints and table


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve-collections")
    state = folder / "stack.json"
    env = {
        "TENURE_API_TOKEN": TOKEN,
        "TENURE_LINK_SECRET": LINK_KEY,
        "TENURE_STACK_STATE": str(state),
    }
    # No schedules: the served stack must not work the seeded past at today's time.
    with serving(folder, env, ("--no-schedules",)) as (url, _log):
        stack = LocalStack.attach(state)
        assert stack is not None, "the served stack did not record itself"
        yield Served(url, stack)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("collections-screenshots")
    print(f"collections page screenshots: {folder}")
    return folder


class PaysThenDeclines:
    """The sandbox as the customer's past saw it: the first month paid, then every renewal
    declined for lack of funds, whatever the card on file (funds a payday brings later)."""

    def __init__(self, inner: SandboxGateway) -> None:
        self.inner = inner
        self.declining = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create_and_confirm_payment(self, **request: Any) -> Any:
        request["payment_method"] = INSUFFICIENT_FUNDS if self.declining else "pm_card_visa"
        return self.inner.create_and_confirm_payment(**request)


def fell_behind(served: Served, customer: str, locale: str, card: str) -> str:
    """`customer` subscribed two months ago with `card`; the renewal a month later was
    declined through all of dunning, so a collections case opened. Returns the case's id."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)
    clock = FixedClock(start)
    client = table_client(served.stack)
    gateway = PaysThenDeclines(SandboxGateway(clock=clock.now))
    settings = Settings(**served.stack)
    repo = DynamoRepository(client, settings.table_name)
    wired = bootstrap.build(settings, store=repo, clock=clock, gateway=gateway)  # type: ignore[arg-type]
    svc = wired.services
    if repo.get_plan(PLAN.id) is None:
        catalog.create_plan(svc, PLAN)
    catalog.create_customer(svc, customer, f"{customer}@example.com", locale=locale)
    cards.update_payment_method(svc, customer, card, "sandbox", True)
    sub_id = f"{customer}-sub"
    subscriptions.subscribe(svc, sub_id, customer, PLAN.id)
    gateway.declining = True
    until = start + timedelta(days=55)
    work_due_until(svc, repo, clock, until)
    sub = repo.get_subscription(sub_id)
    assert sub is not None and sub.status is SubscriptionStatus.UNPAID
    [case] = collections.list_cases(svc, customer)
    return case.id


def collections_link(served: Served, customer: str) -> str:
    return portal_link(api, served.url, customer, "collections", "collections")


def read_balance(page: Any) -> dict[str, Any]:
    """What the page says the balance is made of: each line's words and amount, the total."""
    rows = page.evaluate(
        """[...document.querySelectorAll('#case-lines tbody tr')]
             .map(r => [...r.cells].map(c => c.innerText.trim()))"""
    )
    return {
        "rows": rows,
        "balance": page.inner_text("#balance"),
        "status": page.inner_text("#status"),
        "unlabelled": unlabelled_controls(page),
        "dir": page.get_attribute("html", "dir"),
        "line_dir": page.evaluate(
            "getComputedStyle(document.querySelector('#case-lines tbody td')).direction"
        ),
        "overflow": overflow(page),
    }


def test_a_customer_reads_the_balance_and_chooses_three_fortnightly_instalments_in_english(
    served: Served, browser: Any, shots: Path
) -> None:
    case_id = fell_behind(served, "cl-erin", "en", "pm_card_visa")
    owed = api(served.url, "GET", f"/v1/collection-cases/{case_id}")
    page = browser.new_page()
    try:
        opened = page.goto(collections_link(served, "cl-erin"))
        seen = read_balance(page)
        page.screenshot(path=str(shots / "collections-en-1-balance.png"), full_page=True)
        page.focus("#count")
        page.keyboard.press("ArrowDown")  # 2 -> 3
        page.focus("#every")
        page.select_option("#every", "two_weeks")
        press(page, "#choose-plan")
        page.wait_for_selector("#outcome")
        outcome = page.inner_text("#outcome")
        plan_items = page.locator("#plan li").all_inner_texts()
        page.screenshot(path=str(shots / "collections-en-2-plan.png"), full_page=True)
    finally:
        page.close()
    after = api(served.url, "GET", f"/v1/collection-cases/{case_id}")

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == [] and seen["dir"] == seen["line_dir"] == "ltr"
    # Every line is worded, none is an internal id, and the lines add up to the balance.
    assert len(seen["rows"]) >= 1
    assert all(label and case_id not in label for label, _ in seen["rows"])
    assert any("Basic" in label for label, _ in seen["rows"])
    assert seen["balance"] == format_money(owed["balance"], "USD", "en") == "$12.50"
    assert seen["status"] == "Waiting for your choice"
    assert outcome == "Done: your repayment plan is set. Thank you."
    assert after["status"] == "in_plan"
    assert (after["plan"]["count"], after["plan"]["every"]) == (3, "two_weeks")
    assert [i["amount"] for i in after["plan"]["instalments"]] == [418, 416, 416]
    assert plan_items[0].startswith("Instalment 1 of 3: $4.18")
    assert len(plan_items) == 3


def test_an_arabic_customer_on_a_phone_pays_the_whole_balance_and_the_subscription_returns(
    served: Served, browser: Any, shots: Path
) -> None:
    case_id = fell_behind(served, "cl-amal", "ar", "pm_card_visa")
    context = browser.new_context(**ARABIC_PHONE)
    page = context.new_page()
    try:
        opened = page.goto(collections_link(served, "cl-amal"))
        seen = read_balance(page)
        pay_label = page.inner_text("#pay")
        page.screenshot(path=str(shots / "collections-ar-1-balance.png"), full_page=True)
        press(page, "#pay")
        page.wait_for_selector("#outcome")
        outcome = page.inner_text("#outcome")
        status_after = page.inner_text("#status")
        offers_left = page.locator("#pay, #choose-plan").count()
        page.screenshot(path=str(shots / "collections-ar-2-paid.png"), full_page=True)
    finally:
        context.close()
    after = api(served.url, "GET", f"/v1/collection-cases/{case_id}")
    sub = api(served.url, "GET", "/v1/subscriptions/cl-amal-sub")

    assert opened is not None and opened.status == 200
    assert seen["unlabelled"] == []
    assert seen["dir"] == "rtl" and seen["overflow"] <= 0
    # A line naming the plan ("Basic") first still reads right to left, as its dates do.
    assert seen["line_dir"] == "rtl"
    assert seen["balance"] == format_money(1250, "USD", "ar")
    assert pay_label == f"ادفع {seen['balance']} الآن"
    assert seen["status"] == "بانتظار اختيارك"
    assert outcome == "تم الدفع — شكرًا لك"
    assert status_after == "تمت التسوية" and offers_left == 0
    assert (after["status"], after["balance"], after["recovered"]) == ("settled", 0, 1250)
    assert sub["status"] == "active"  # paying the case off brings the subscription back
    assert sorted(p.name for p in shots.glob("collections-ar-*.png")) == [
        "collections-ar-1-balance.png",
        "collections-ar-2-paid.png",
    ]


def test_paying_in_full_when_the_bank_asks_for_3ds_leads_on_to_the_confirm_page(
    served: Served, browser: Any, shots: Path
) -> None:
    case_id = fell_behind(served, "cl-omar", "en", "pm_card_authenticationRequired")
    page = browser.new_page()
    try:
        page.goto(collections_link(served, "cl-omar"))
        press(page, "#pay")
        page.wait_for_selector("#outcome")
        asked = page.inner_text("#outcome")
        waiting = api(served.url, "GET", f"/v1/collection-cases/{case_id}")
        page.screenshot(path=str(shots / "collections-en-3-confirm-asked.png"), full_page=True)
        press(page, "#confirm-link")
        page.wait_for_url("**/pages/confirm?t=*")
        confirm_page_text = page.inner_text("main")
        page.screenshot(path=str(shots / "collections-en-4-confirm-page.png"), full_page=True)
        press(page, "#confirm")
        page.wait_for_selector("#outcome")
        confirmed = page.inner_text("#outcome")
    finally:
        page.close()
    after = api(served.url, "GET", f"/v1/collection-cases/{case_id}")

    assert asked.startswith("Your bank asks you to confirm this payment")
    assert waiting["status"] == "in_plan" and waiting["balance"] == 1250
    assert "$12.50" in confirm_page_text
    assert confirmed == "Paid — thank you"
    assert (after["status"], after["balance"]) == ("settled", 0)
