"""The card page for a Razorpay customer: Razorpay's mandates are authorised in its own
Checkout, so the page shows the card on file and offers no form, and a posted card is
refused without reaching any provider."""

from typing import Any

from test_api_pages import Pages, pages, signed_form_token  # noqa: F401 - `pages`: the fixture

from tenure.notify.link_tokens import LinkPurpose
from tenure.payments.razorpay_sandbox import RazorpaySandbox


def razorpay_customer(pages: Pages) -> RazorpaySandbox:  # noqa: F811 - the fixture's name
    sandbox = pages.with_razorpay()
    pages.api.customer("asha", provider="razorpay")
    pages.card("asha", "token_upi_success")
    return sandbox


def test_a_razorpay_customers_card_page_shows_the_mandate_and_no_card_form(
    pages: Pages,  # noqa: F811
) -> None:
    razorpay_customer(pages)
    reply: Any = pages.open("/pages/card", pages.link(LinkPurpose.UPDATE_CARD, "asha", "asha"))
    assert reply.status == 200, reply.text
    assert 'name="card"' not in reply.text  # the sandbox's test-card form is the default's
    assert "js.stripe.com" not in reply.text


def test_a_card_posted_for_a_razorpay_customer_is_refused_and_changes_nothing(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = razorpay_customer(pages)
    token = pages.link(LinkPurpose.UPDATE_CARD, "asha", "asha")
    asked_before = len(sandbox.requests)
    # (The page carries no form: the form token is signed as a page's would be.)
    form_token = signed_form_token(pages, token)
    reply = pages.submit("/pages/card", token, form_token, card="4242 4242 4242 4242")
    assert reply.status == 405
    customer = pages.api.repo.get_customer("asha")
    assert customer is not None and customer.default_payment_method == "token_upi_success"
    assert len(sandbox.requests) == asked_before
