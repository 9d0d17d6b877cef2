"""The kind of a new mandate on the card page: the customer chooses UPI or a card in a radio
group (the kind on file, else UPI, chosen first), locally in the sandbox's form and deployed
before Razorpay Checkout opens; the server takes only the kinds it offers, and a forged kind
or a test value of the other kind is refused without anything made or written."""

import json

from test_api_pages import Pages, pages, signed_form_token  # noqa: F401 - the fixture
from test_api_pages_razorpay_mandate import (
    CHECKOUT_OPTIONS,
    OLD_TOKEN,
    card_link,
    default_method,
    mandate_customers,
)

from tenure.payments.razorpay_sandbox import RazorpaySandbox


def choose(pages: Pages, **fields: str) -> object:  # noqa: F811
    token = card_link(pages)
    return pages.submit("/pages/card", token, signed_form_token(pages, token), **fields)


def checked_kind(html: str) -> str:
    [kind] = [k for k in ("upi", "card") if f'value="{k}" id="kind-{k}" required checked' in html]
    return kind


def opens_at_once(html: str) -> bool:
    """Whether the page's script opens Checkout as it loads (its last statement)."""
    return "start();</script>" in html.replace("\n", "").replace(" ", "")


def registration_orders(sandbox: RazorpaySandbox) -> list[dict[str, object]]:
    return [o for o in sandbox.orders.values() if "token" in o]


# -- locally: the sandbox's form --------------------------------------------------------------
def test_the_sandbox_form_offers_upi_or_a_card_with_the_kind_on_file_chosen(
    pages: Pages,  # noqa: F811
) -> None:
    mandate_customers(pages)
    reply = pages.open("/pages/card", card_link(pages))
    assert reply.status == 200, reply.text
    assert '<fieldset id="mandate-kinds">' in reply.text and "<legend>" in reply.text
    assert 'type="radio" name="mandate_kind" value="card"' in reply.text
    assert checked_kind(reply.text) == "upi"  # her mandate on file is UPI
    assert '<label for="kind-card">' in reply.text  # each radio named by its label
    assert "₹1.00" in reply.text and "refund" in reply.text  # the registration's rupee said


def test_a_card_mandate_chosen_in_the_sandbox_replaces_the_upi_one(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages)

    reply = choose(pages, mandate_kind="card", pay_with="4100 2800 0000 1007")

    assert reply.status == 200, reply.text
    new = default_method(pages)
    assert new is not None and new != OLD_TOKEN
    [order] = registration_orders(sandbox)
    assert order["method"] == "card"
    methods = pages.api.repo.list_payment_methods("asha")
    assert [m.mandate_kind for m in methods if m.id == new] == ["card"]
    assert checked_kind(reply.text) == "card"  # the page now offers the kind on file


def test_a_test_value_of_the_other_kind_is_refused_and_nothing_is_made(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages)
    before = pages.api.state()

    reply = choose(pages, mandate_kind="card", pay_with="success@razorpay")

    assert reply.status == 422
    assert "does not authorise a card mandate" in reply.text and "Nothing changed" in reply.text
    assert checked_kind(reply.text) == "card"  # the choice is kept for the next try
    assert pages.api.state() == before and registration_orders(sandbox) == []


def test_a_forged_kind_in_the_sandbox_form_is_refused_and_nothing_is_made(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages)
    before = pages.api.state()

    reply = choose(pages, mandate_kind="netbanking", pay_with="success@razorpay")

    assert reply.status == 422
    assert "Choose UPI or a card for the mandate. Nothing changed." in reply.text
    assert pages.api.state() == before and registration_orders(sandbox) == []
    assert default_method(pages) == OLD_TOKEN


# -- deployed: before Checkout ------------------------------------------------------------------
def test_deployed_the_kind_on_file_is_offered_first_with_its_order(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    reply = pages.open("/pages/card", card_link(pages))
    assert reply.status == 200, reply.text
    assert '<form method="post" action="/pages/card" id="mandate-kind">' in reply.text
    assert checked_kind(reply.text) == "upi"
    [order] = registration_orders(sandbox)
    assert order["method"] == "upi"
    assert not opens_at_once(reply.text)  # Checkout waits for the customer's click


def test_deployed_choosing_a_card_makes_its_registration_and_opens_checkout(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    pages.open("/pages/card", card_link(pages))
    before = pages.api.state()

    reply = choose(pages, mandate_kind="card")

    assert reply.status == 200, reply.text
    card_orders = [o for o in registration_orders(sandbox) if o["method"] == "card"]
    assert len(card_orders) == 1
    match = CHECKOUT_OPTIONS.search(reply.text)
    assert match is not None
    options = json.loads(match.group(1))
    assert options["order_id"] == card_orders[0]["id"] and options["recurring"] == "1"
    assert checked_kind(reply.text) == "card"
    assert opens_at_once(reply.text)
    assert pages.api.state() == before  # nothing of Tenure's until Checkout answers


def test_deployed_a_forged_kind_is_refused_before_anything_is_asked_of_razorpay(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox = mandate_customers(pages, deployed=True)
    pages.open("/pages/card", card_link(pages))
    orders = dict(sandbox.orders)
    before = pages.api.state()

    reply = choose(pages, mandate_kind="card<script>")

    assert reply.status == 422
    assert "Choose UPI or a card for the mandate. Nothing changed." in reply.text
    assert "card<script>" not in reply.text
    assert sandbox.orders == orders and pages.api.state() == before
