"""The confirm page for a Razorpay debit above ₹15,000: the customer pays the waiting order
in Razorpay Checkout (locally, the sandbox's stand-in for it), the page's server verifies
Checkout's answer before believing it, and the invoice is settled once whether the page or
the `payment.captured` webhook comes first."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from test_api_pages import Pages, pages, signed_form_token  # noqa: F401 - `pages`: the fixture

from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import InvoiceStatus
from tenure.notify.link_tokens import LinkPurpose
from tenure.payments.gateway import CheckoutAnswer
from tenure.payments.razorpay_gateway import RazorpayGateway
from tenure.payments.razorpay_sandbox import SANDBOX_KEY, RazorpaySandbox, SandboxRazorpayGateway
from tenure.services import subscriptions
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.webhooks import razorpay_events

CHECKOUT_OPTIONS = re.compile(r"Object\.assign\((\{.*?\}), \{", re.S)


def waiting_debit(pages: Pages, deployed: bool = False) -> tuple[RazorpaySandbox, str]:  # noqa: F811
    """Asha pays by her ₹1,00,000 UPI mandate; her ₹20,000 subscription's May renewal
    waits for her to authenticate it (the first payment was the one she authorised while
    subscribing). `deployed`: the gateway is the plain adapter (Checkout in the browser),
    not the sandbox's (which can play Checkout itself)."""
    sandbox = pages.with_razorpay(deployed)
    pages.api.plan("lakh", 2_000_000, currency="INR", name="Lakh")
    pages.api.customer("asha", provider="razorpay")
    pages.card("asha", "token_upi_lakh")
    created = pages.api.subscription("sub-asha", customer="asha", plan="lakh")
    assert created["subscription"]["status"] == "active"
    pages.api.clock.set(datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC))
    outcome = subscriptions.process_due(pages.svc, "sub-asha")
    assert outcome is not None and outcome.invoice is not None
    invoice_id = outcome.invoice.id
    [charge] = pages.api.repo.list_charges(invoice_id)
    assert charge.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED
    assert charge.payment_id is not None and charge.payment_id.startswith("order_")
    return sandbox, invoice_id


def link(pages: Pages, invoice_id: str) -> str:  # noqa: F811
    return pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id, "asha")


def deliver_last_event(pages: Pages, sandbox: RazorpaySandbox) -> Applied:  # noqa: F811
    body = json.dumps(sandbox.events[-1]["body"]).encode()
    event = razorpay_events.parse(body, {"x-razorpay-event-id": sandbox.events[-1]["id"]})
    return apply_provider_event(pages.svc, event)


def succeeded(pages: Pages, invoice_id: str) -> list[Any]:  # noqa: F811
    return [
        c for c in pages.api.repo.list_charges(invoice_id) if c.outcome is ChargeOutcome.SUCCEEDED
    ]


def pay_in_checkout(pages: Pages, invoice_id: str, notes: bool = True) -> CheckoutAnswer:  # noqa: F811
    """The customer pays the waiting order in Checkout (the page never hears of it)."""
    view_charge = pages.api.repo.list_charges(invoice_id)[-1]
    gateway = pages.svc.gateway_for(view_charge)
    assert isinstance(gateway, RazorpayGateway)
    auth = gateway.payment_authentication(str(view_charge.payment_id))
    assert auth.checkout is not None
    checkout = auth.checkout if notes else replace(auth.checkout, notes={})
    player = SandboxRazorpayGateway(*SANDBOX_KEY, transport=gateway._transport, max_retries=0)
    answer = player.checkout_in_sandbox(checkout, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)
    return answer


def post_answer(pages: Pages, token: str, answer: CheckoutAnswer, **override: str) -> Any:  # noqa: F811
    """Post Checkout's answer as the page's handler does, with the form token the page was
    rendered with (signed here: once paid, the page shows no form to take it from)."""
    form_token = signed_form_token(pages, token)
    fields = {
        "razorpay_payment_id": answer.payment_id,
        "razorpay_order_id": answer.order_id,
        "razorpay_signature": answer.signature,
    } | override
    return pages.submit("/pages/confirm", token, form_token, **fields)


# -- locally: the sandbox's checkout ------------------------------------------------------------
def test_the_confirm_page_of_a_debit_above_15000_rupees_offers_the_sandbox_checkout(
    pages: Pages,  # noqa: F811
) -> None:
    _, invoice_id = waiting_debit(pages)

    reply = pages.open("/pages/confirm", link(pages, invoice_id))

    assert reply.status == 200, reply.text
    assert 'name="pay_with"' in reply.text and "₹20,000.00" in reply.text
    csp = reply.headers["Content-Security-Policy"]
    assert "razorpay" not in csp and "stripe" not in csp  # nothing loads from outside


def test_authenticating_in_the_sandbox_checkout_pays_the_invoice_once_with_the_webhook_after(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox, invoice_id = waiting_debit(pages)

    reply = pages.submit("/pages/confirm", link(pages, invoice_id), pay_with="success@razorpay")

    assert reply.status == 200, reply.text
    assert "Paid — thank you" in reply.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID
    assert pages.subscription("sub-asha").status.value == "active"
    # Then Razorpay's payment.captured arrives: the attempt is settled already.
    assert sandbox.events[-1]["type"] == "payment.captured"
    assert deliver_last_event(pages, sandbox) is Applied.UNCHANGED
    assert len(succeeded(pages, invoice_id)) == 1
    [charge] = succeeded(pages, invoice_id)
    order = sandbox.payments[charge.payment_id]["order_id"]
    assert [p["status"] for p in sandbox.payments.values() if p["order_id"] == order] == [
        "captured"
    ]


def test_a_failing_test_upi_id_in_the_sandbox_checkout_leaves_the_payment_waiting(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox, invoice_id = waiting_debit(pages)

    reply = pages.submit("/pages/confirm", link(pages, invoice_id), pay_with="failure@razorpay")

    assert reply.status == 200
    assert "could not be confirmed (payment_failed)" in reply.text
    assert 'name="pay_with"' in reply.text  # still on offer: the order still waits
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN
    # Razorpay's payment.failed for a payment in Checkout does not fail the attempt either.
    assert deliver_last_event(pages, sandbox) is Applied.UNCHANGED
    [charge] = pages.api.repo.list_charges(invoice_id)
    assert charge.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED


def test_something_not_razorpay_test_data_is_refused_and_pays_nothing(
    pages: Pages,  # noqa: F811
) -> None:
    sandbox, invoice_id = waiting_debit(pages)

    reply = pages.submit("/pages/confirm", link(pages, invoice_id), pay_with="4242424242424242")

    assert reply.status == 422
    assert "not one of the Razorpay test UPI ids or cards" in reply.text
    assert len(sandbox.payments) == 1  # the first month's, nothing since
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN


# -- Checkout's answer, verified ----------------------------------------------------------------
@pytest.mark.parametrize(
    "tampered",
    [
        pytest.param({"razorpay_signature": "0" * 64}, id="a forged signature"),
        pytest.param({"razorpay_payment_id": "pay_x"}, id="its payment id tampered"),
        pytest.param({"razorpay_order_id": "order_other"}, id="an answer for another order"),
    ],
)
def test_an_answer_that_does_not_check_out_is_refused_and_settles_nothing(
    pages: Pages,  # noqa: F811
    tampered: dict[str, str],
) -> None:
    _, invoice_id = waiting_debit(pages)
    answer = pay_in_checkout(pages, invoice_id)

    reply = post_answer(pages, link(pages, invoice_id), answer, **tampered)

    assert reply.status == 400
    assert "could not verify this payment" in reply.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN
    assert succeeded(pages, invoice_id) == []


def test_a_verified_answer_pays_the_invoice_and_a_second_post_changes_nothing(
    pages: Pages,  # noqa: F811
) -> None:
    _, invoice_id = waiting_debit(pages)
    answer = pay_in_checkout(pages, invoice_id)
    token = link(pages, invoice_id)

    first = post_answer(pages, token, answer)
    again = post_answer(pages, token, answer)

    assert first.status == 200 and "Paid — thank you" in first.text
    assert again.status == 200 and "does not need your confirmation" in again.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID
    assert len(succeeded(pages, invoice_id)) == 1


def test_the_webhook_before_the_page_pays_the_invoice_once(pages: Pages) -> None:  # noqa: F811
    sandbox, invoice_id = waiting_debit(pages)
    answer = pay_in_checkout(pages, invoice_id)

    assert deliver_last_event(pages, sandbox) is Applied.APPLIED
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID
    reply = post_answer(pages, link(pages, invoice_id), answer)

    assert reply.status == 200 and "does not need your confirmation" in reply.text
    [paid] = succeeded(pages, invoice_id)
    assert paid.payment_id == answer.payment_id


def test_a_webhook_without_tenures_notes_is_matched_by_the_waiting_order(
    pages: Pages,  # noqa: F811
) -> None:
    # The business's own app opened Checkout without passing the notes on.
    sandbox, invoice_id = waiting_debit(pages)
    pay_in_checkout(pages, invoice_id, notes=False)

    assert deliver_last_event(pages, sandbox) is Applied.APPLIED
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID


# -- deployed: Razorpay Checkout in the browser -------------------------------------------------
def test_deployed_the_confirm_page_opens_razorpay_checkout_for_the_waiting_order(
    pages: Pages,  # noqa: F811
) -> None:
    _, invoice_id = waiting_debit(pages, deployed=True)
    [charge] = pages.api.repo.list_charges(invoice_id)

    reply = pages.open("/pages/confirm", link(pages, invoice_id))

    assert reply.status == 200, reply.text
    assert '<script src="https://checkout.razorpay.com/v1/checkout.js"></script>' in reply.text
    assert 'name="pay_with"' not in reply.text
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in csp and " https://checkout.razorpay.com;" in csp
    assert "frame-src https://api.razorpay.com" in csp and "stripe" not in csp
    found = CHECKOUT_OPTIONS.search(reply.text)
    assert found is not None
    options = json.loads(found.group(1))
    assert options["key"] == SANDBOX_KEY[0] and options["order_id"] == charge.payment_id
    assert (options["amount"], options["currency"]) == (2_000_000, "INR")
    assert options["prefill"]["email"] == "asha@example.com"
    assert options["notes"]["tenure_invoice_id"] == invoice_id
    assert "token_upi_lakh" not in reply.text  # the mandate's token stays on the server


def test_deployed_checkouts_verified_answer_pays_the_invoice(pages: Pages) -> None:  # noqa: F811
    _, invoice_id = waiting_debit(pages, deployed=True)
    answer = pay_in_checkout(pages, invoice_id)

    reply = post_answer(pages, link(pages, invoice_id), answer)

    assert reply.status == 200 and "Paid — thank you" in reply.text
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID


def test_deployed_the_page_will_not_play_the_customers_checkout(pages: Pages) -> None:  # noqa: F811
    sandbox, invoice_id = waiting_debit(pages, deployed=True)
    token = link(pages, invoice_id)
    form_token = pages.form_token("/pages/confirm", token)

    reply = pages.submit("/pages/confirm", token, form_token, pay_with="success@razorpay")

    assert reply.status == 405
    assert len(sandbox.payments) == 1  # the first month's, nothing since


def test_other_pages_do_not_allow_razorpays_checkout(pages: Pages) -> None:  # noqa: F811
    # (The card page does: a new mandate is authorised in Checkout there.)
    waiting_debit(pages, deployed=True)
    reply = pages.open(
        "/pages/subscription", pages.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-asha", "asha")
    )
    assert reply.status == 200
    assert "razorpay.com" not in reply.headers["Content-Security-Policy"]
