"""A new mandate on the card page of a Razorpay customer: a registration order opened in
Razorpay Checkout with `recurring: 1` (locally, the sandbox's form standing in for it), whose
answer is verified before its token replaces the mandate on file; and every way a forged,
foreign, replayed or repeated answer is refused without changing anything."""

import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from test_api_pages import Pages, _tamper, pages, signed_form_token  # noqa: F401 - the fixture

from tenure.notify.link_tokens import LinkPurpose
from tenure.payments.gateway import CheckoutAnswer
from tenure.payments.razorpay_gateway import checkout_signature
from tenure.payments.razorpay_sandbox import (
    SANDBOX_KEY,
    RazorpaySandbox,
    SandboxRazorpayGateway,
    method_for,
)
from tenure.services import new_mandate

CHECKOUT_OPTIONS = re.compile(r"Object\.assign\((\{.*?\}), \{", re.S)
OLD_TOKEN = "token_upi_success"


def mandate_customers(pages: Pages, deployed: bool = False) -> RazorpaySandbox:  # noqa: F811
    """Asha and Ravi pay ₹500 a month on UPI mandates. `deployed`: the plain adapter (the
    customer authorises in Checkout, in the browser), not the sandbox's, which plays it."""
    sandbox = pages.with_razorpay(deployed)
    pages.api.plan("monthly-inr", 50_000, currency="INR", name="Monthly")
    for name in ("asha", "ravi"):
        pages.api.customer(name, provider="razorpay")
        pages.card(name, OLD_TOKEN)
        created = pages.api.subscription(f"sub-{name}", customer=name, plan="monthly-inr")
        assert created["subscription"]["status"] == "active"
    return sandbox


def card_link(pages: Pages, customer: str = "asha", **kw: Any) -> str:  # noqa: F811
    return pages.link(LinkPurpose.UPDATE_CARD, customer, customer, **kw)


def default_method(pages: Pages, customer: str = "asha") -> str | None:  # noqa: F811
    found = pages.api.repo.get_customer(customer)
    assert found is not None
    return found.default_payment_method


def authorise_in_checkout(
    pages: Pages,  # noqa: F811
    sandbox: RazorpaySandbox,
    customer: str = "asha",
    pay_with: str = "success@razorpay",
    as_provider_customer: str | None = None,
) -> CheckoutAnswer:
    """The customer authorises their registration order in Checkout (the page never hears
    of it); `as_provider_customer`: Checkout paid by another Razorpay customer."""
    method = method_for(pay_with)
    offer = new_mandate.begin_new_mandate(pages.svc, customer, 50, pages.api.clock.now(), method)
    order = offer.checkout
    if as_provider_customer is not None:
        order = replace(order, provider_customer_id=as_provider_customer)
    player = SandboxRazorpayGateway(*SANDBOX_KEY, transport=sandbox, max_retries=0)
    answer = player.checkout_in_sandbox(order, pay_with)
    assert isinstance(answer, CheckoutAnswer)
    return answer


def post_answer(pages: Pages, token: str, answer: CheckoutAnswer, **override: str) -> Any:  # noqa: F811
    fields = {
        "razorpay_payment_id": answer.payment_id,
        "razorpay_order_id": answer.order_id,
        "razorpay_signature": answer.signature,
    } | override
    return pages.submit("/pages/card", token, signed_form_token(pages, token), **fields)


def provider_customer(pages: Pages, customer: str) -> str:  # noqa: F811
    found = pages.api.repo.get_customer(customer)
    assert found is not None and found.provider_customer_id is not None
    return found.provider_customer_id


# -- the terms ------------------------------------------------------------------------------
def test_the_new_mandates_limit_covers_the_next_debit_with_the_headroom_in_whole_rupees(
    pages: Pages,  # noqa: F811
) -> None:
    mandate_customers(pages)
    limit = new_mandate.mandate_max_amount(pages.svc, "asha", 50)
    assert (limit.amount_minor, limit.currency) == (75_000, "INR")  # ₹500 + 50%
    assert new_mandate.mandate_max_amount(pages.svc, "asha", 33).amount_minor == 66_500
    assert new_mandate.mandate_max_amount(pages.svc, "asha", 0).amount_minor == 50_000


def test_a_customer_with_nothing_to_debit_gets_razorpays_default_limit(
    pages: Pages,  # noqa: F811
) -> None:
    mandate_customers(pages)
    pages.api.customer("meera", provider="razorpay")
    limit = new_mandate.mandate_max_amount(pages.svc, "meera", 50)
    assert limit.amount_minor == new_mandate.DEFAULT_MAX_MINOR


# -- locally: the sandbox's form --------------------------------------------------------------
def test_the_card_page_offers_a_new_mandate_in_the_sandbox_form_with_its_limit(
    pages: Pages,  # noqa: F811
) -> None:
    mandate_customers(pages)
    reply = pages.open("/pages/card", card_link(pages))
    assert reply.status == 200, reply.text
    assert 'name="pay_with"' in reply.text and 'name="card"' not in reply.text
    assert "up to ₹750.00 at a time" in reply.text
    assert "razorpay" not in reply.headers["Content-Security-Policy"]


def test_a_new_mandate_given_in_the_sandbox_replaces_the_old_one_as_the_api_would(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages)
    reply = pages.submit("/pages/card", card_link(pages), pay_with="4100 2800 0000 1007")
    assert reply.status == 200, reply.text
    assert "Your new mandate is saved" in reply.text
    new = default_method(pages)
    assert new is not None and new != OLD_TOKEN and new in sandbox.mandates
    [method] = [m for m in pages.api.repo.list_payment_methods("asha") if m.id == new]
    assert (method.mandate_kind, method.mandate_max_amount) == ("card", 75_000)
    assert sandbox.token_owners[new] == provider_customer(pages, "asha")
    # The API shows the new mandate as the default, as one attached through it.
    listed = pages.api.get("/v1/customers/asha")
    assert listed.status == 200 and listed.json["default_payment_method"] == new
    assert default_method(pages, "ravi") == OLD_TOKEN


def test_a_mandate_that_fails_in_the_sandbox_checkout_attaches_nothing(
    pages: Pages,  # noqa: F811
) -> None:
    mandate_customers(pages)
    before = pages.api.state()
    reply = pages.submit("/pages/card", card_link(pages), pay_with="failure@razorpay")
    assert reply.status == 200
    assert "The mandate was not authorised (payment_failed)" in reply.text
    assert pages.api.state() == before


def test_text_that_is_not_razorpay_test_data_is_refused_and_changes_nothing(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages)
    before, asked = pages.api.state(), len(sandbox.requests)
    reply = pages.submit("/pages/card", card_link(pages), pay_with="someone@bank")
    assert reply.status == 422
    assert pages.api.state() == before
    assert ("POST", "/orders") not in sandbox.requests[asked:]


# -- deployed: Razorpay Checkout ----------------------------------------------------------------
def test_the_card_page_opens_checkout_on_a_registration_order_with_recurring(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    reply = pages.open("/pages/card", card_link(pages))
    assert reply.status == 200, reply.text
    found = CHECKOUT_OPTIONS.search(reply.text)
    assert found is not None
    options = json.loads(found.group(1))
    assert options["recurring"] == "1"
    assert options["customer_id"] == provider_customer(pages, "asha")
    order = sandbox.orders[options["order_id"]]
    assert order["method"] == "upi" and order["customer_id"] == options["customer_id"]
    assert order["token"]["max_amount"] == 75_000
    assert order["token"]["frequency"] == "as_presented"
    assert order["amount"] == options["amount"] == 100
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in csp and "https://checkout.razorpay.com" in csp
    assert "frame-src https://api.razorpay.com" in csp
    # A reload reuses the same unpaid registration.
    again = CHECKOUT_OPTIONS.search(pages.open("/pages/card", card_link(pages)).text)
    assert again is not None and json.loads(again.group(1))["order_id"] == options["order_id"]


def test_a_verified_checkout_answer_attaches_the_new_mandate_once_on_a_double_submit(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(pages, sandbox)
    token = card_link(pages)
    first = post_answer(pages, token, answer)
    state = pages.api.state()
    second = post_answer(pages, token, answer)
    assert (first.status, second.status) == (200, 200), second.text
    assert "Your new mandate is saved" in second.text
    new = default_method(pages)
    assert new == sandbox.payments[answer.payment_id]["token_id"]
    assert pages.api.state() == state  # the second post changed nothing
    assert len(pages.api.repo.list_payment_methods("asha")) == 2


def test_a_forged_signature_is_refused_before_razorpay_is_asked(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(pages, sandbox)
    before = pages.api.state()
    reply = post_answer(pages, card_link(pages), answer, razorpay_signature="0" * 64)
    assert reply.status == 400
    assert "could not verify" in reply.text
    assert pages.api.state() == before and default_method(pages) == OLD_TOKEN
    assert ("GET", f"/payments/{answer.payment_id}") not in sandbox.requests


def test_a_payment_of_another_order_is_refused(pages: Pages) -> None:  # noqa: F811
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(pages, sandbox)
    other = authorise_in_checkout(pages, sandbox, customer="ravi")
    before = pages.api.state()
    # Signed as Razorpay would sign the pair, but the payment is of Ravi's order.
    signature = checkout_signature(SANDBOX_KEY[1], answer.order_id, other.payment_id)
    reply = post_answer(
        pages,
        card_link(pages),
        answer,
        razorpay_payment_id=other.payment_id,
        razorpay_signature=signature,
    )
    assert reply.status == 400
    assert pages.api.state() == before


def test_an_order_that_is_not_a_registration_is_refused(pages: Pages) -> None:  # noqa: F811
    sandbox = mandate_customers(pages, deployed=True)
    # A real, signed answer of an ordinary order (not one Tenure made for a mandate).
    gateway = SandboxRazorpayGateway(*SANDBOX_KEY, transport=sandbox, max_retries=0)
    order = gateway._call("POST", "/orders", {"amount": 100, "currency": "INR", "notes": {}})
    checkout = new_mandate.begin_new_mandate(pages.svc, "asha", 50, pages.api.clock.now()).checkout
    answer = gateway.checkout_in_sandbox(
        replace(checkout, order_id=order["id"]), "success@razorpay"
    )
    assert isinstance(answer, CheckoutAnswer)
    before = pages.api.state()
    reply = post_answer(pages, card_link(pages), answer)
    assert reply.status == 400
    assert pages.api.state() == before


def test_another_customers_registration_is_refused_on_this_customers_link(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    ravis = authorise_in_checkout(pages, sandbox, customer="ravi")
    before = pages.api.state()
    reply = post_answer(pages, card_link(pages, "asha"), ravis)
    assert reply.status == 400
    assert pages.api.state() == before
    assert default_method(pages, "asha") == default_method(pages, "ravi") == OLD_TOKEN


def test_a_token_of_another_razorpay_customer_is_refused(pages: Pages) -> None:  # noqa: F811
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(
        pages, sandbox, as_provider_customer=provider_customer(pages, "ravi")
    )
    before = pages.api.state()
    reply = post_answer(pages, card_link(pages), answer)
    assert reply.status == 400
    assert pages.api.state() == before


def test_an_older_answer_replayed_after_a_newer_mandate_is_refused(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    token = card_link(pages)
    first = authorise_in_checkout(pages, sandbox)
    assert post_answer(pages, token, first).status == 200
    second = authorise_in_checkout(pages, sandbox, pay_with="4100 2800 0000 1007")
    assert second.order_id != first.order_id  # the first registration is paid: a new one
    assert post_answer(pages, token, second).status == 200
    newest, before = default_method(pages), pages.api.state()
    reply = post_answer(pages, token, first)
    assert reply.status == 409
    assert "already used" in reply.text
    assert pages.api.state() == before and default_method(pages) == newest


def test_an_answer_without_the_pages_form_token_is_refused(pages: Pages) -> None:  # noqa: F811
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(pages, sandbox)
    before = pages.api.state()
    fields = {
        "razorpay_payment_id": answer.payment_id,
        "razorpay_order_id": answer.order_id,
        "razorpay_signature": answer.signature,
    }
    missing = pages.post_raw("/pages/card", f"t={card_link(pages)}&" + _form(fields))
    assert missing.status == 403
    assert pages.api.state() == before


def test_bad_links_carry_no_answer_anywhere(pages: Pages) -> None:  # noqa: F811
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(pages, sandbox)
    before = pages.api.state()
    expired = card_link(pages, expires_in=timedelta(seconds=-1))
    foreign = pages.link(LinkPurpose.UPDATE_CARD, "ravi", "asha")  # Ravi, on Asha's link
    for token, status in ((expired, 410), (_tamper(card_link(pages)), 403), (foreign, 403)):
        assert post_answer(pages, token, answer).status == status
    assert pages.api.state() == before


def _form(fields: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


def test_a_token_razorpay_no_longer_holds_is_refused_and_only_its_rupee_is_owed_back(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    answer = authorise_in_checkout(pages, sandbox)
    # Revoked at Razorpay between the authorisation and the answer's arrival.
    del sandbox.mandates[sandbox.payments[answer.payment_id]["token_id"]]
    before = pages.api.state()
    reply = post_answer(pages, card_link(pages), answer)
    assert reply.status == 422
    assert "Razorpay did not confirm this mandate" in reply.text
    after = pages.api.state()
    # The customer paid the registration all the same: that payment is recorded, owed back
    # (with its audit entry), and nothing else was written.
    [paid] = after["customers"]["asha"].registrations
    assert paid.payment_id == answer.payment_id and paid.pending
    after["customers"]["asha"].registrations = ()
    after["customers"]["asha"].version = before["customers"]["asha"].version
    unchanged = ("payment_methods", "subscriptions", "invoices", "events", "ledger", "refunds")
    assert all(after[k] == before[k] for k in unchanged)
    assert after["customers"] == before["customers"] and default_method(pages) == OLD_TOKEN
    assert [e.action for e in after["audit"][len(before["audit"]) :]] == ["mandate_registered"]


def test_deployed_the_card_page_takes_no_sandbox_form(pages: Pages) -> None:  # noqa: F811
    sandbox = mandate_customers(pages, deployed=True)
    token = card_link(pages)
    before, asked = pages.api.state(), len(sandbox.requests)
    reply = pages.submit("/pages/card", token, signed_form_token(pages, token), pay_with="x@y")
    assert reply.status == 405
    assert pages.api.state() == before and len(sandbox.requests) == asked
