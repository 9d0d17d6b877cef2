"""A new mandate's registration rupee that only Razorpay's webhook tells Tenure of (the
customer paid in Checkout, then the answer never reached the card page): recorded and
refunded once, whichever of the page and the webhook comes first, and never for an order
Tenure did not make for that customer."""

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Shop
from test_new_mandate import OLD, razorpay_shop
from test_provider_owed import refunds_of, work_customer

from tenure.domain.audit import SYSTEM_WEBHOOKS, AuditAction
from tenure.domain.due import DueKind
from tenure.domain.money import Money
from tenure.payments.gateway import CheckoutAnswer, CheckoutOrder
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.services import new_mandate, provider_owed
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.services.reported_registrations import Reported, record_reported_registration
from tenure.webhooks import razorpay_events


def authorise_and_close_the_browser(shop: Shop, rzp: RazorpaySandbox) -> CheckoutAnswer:
    """alice authorises a new UPI mandate in Checkout; its answer is what the page would
    have been posted, had the browser not closed."""
    offer = new_mandate.begin_new_mandate(shop.svc, "alice", 50, shop.clock.now(), "upi")
    answer = rzp.gateway().checkout_in_sandbox(offer.checkout, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)
    return answer


def deliver(shop: Shop, rzp: RazorpaySandbox, kind: str, **change: Any) -> list[Applied]:
    """Deliver the sandbox's events of `kind` so far, as the webhook endpoint would
    (`change`: fields to set on the payment in the body, for forged bodies)."""
    applied = []
    for event in [e for e in rzp.events if e["type"] == kind]:
        body = json.loads(json.dumps(event["body"]))
        body["payload"]["payment"]["entity"].update(change)
        raw = json.dumps(body).encode()
        parsed = razorpay_events.parse(raw, razorpay_events.sign(raw, "s", event_id=event["id"]))
        applied.append(apply_provider_event(shop.svc, parsed))
    return applied


def registrations(shop: Shop) -> list[Any]:
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    return list(customer.registrations)


def default_method(shop: Shop) -> str | None:
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    return customer.default_payment_method


def test_the_webhook_alone_records_the_rupee_and_the_due_work_refunds_it_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    answer = authorise_and_close_the_browser(shop, rzp)

    assert deliver(shop, rzp, "payment.captured")[-1] is Applied.APPLIED

    [paid] = registrations(shop)
    assert (paid.payment_id, paid.order_id, paid.amount, paid.currency) == (
        answer.payment_id,
        answer.order_id,
        100,
        "INR",
    )
    [entry] = [
        e
        for e in shop.repo.list_customer_audit("alice", 50)
        if e.action is AuditAction.MANDATE_REGISTERED
    ]
    assert entry.actor == SYSTEM_WEBHOOKS and entry.entity == paid.charge_id
    assert work_customer(shop) == [DueKind.REGISTRATION_REFUND]
    assert deliver(shop, rzp, "payment.captured")[-1] is Applied.DUPLICATE  # a redelivery
    deliver(shop, rzp, "refund.processed")
    assert work_customer(shop) == []
    [refund] = refunds_of(rzp, answer.payment_id)
    assert refund["amount"] == 100
    assert registrations(shop)[0].refund_id == refund["id"]


def test_the_mandate_a_webhook_reports_is_not_made_the_default(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    authorise_and_close_the_browser(shop, rzp)

    deliver(shop, rzp, "payment.captured")

    assert default_method(shop) == OLD  # the card page stays the only way to change it
    assert [m.id for m in shop.repo.list_payment_methods("alice")] == [OLD]


def test_the_page_then_the_webhook_record_and_refund_the_rupee_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    answer = authorise_and_close_the_browser(shop, rzp)
    new_mandate.take_new_mandate(shop.svc, "alice", answer)
    asked = len(rzp.requests)

    assert deliver(shop, rzp, "payment.captured")[-1] is Applied.UNCHANGED

    assert len(rzp.requests) == asked  # known already: Razorpay is asked nothing
    assert len(registrations(shop)) == 1
    work_customer(shop)
    work_customer(shop)
    assert len(refunds_of(rzp, answer.payment_id)) == 1


def test_the_webhook_then_the_page_record_the_rupee_once_and_the_page_attaches_the_mandate(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    answer = authorise_and_close_the_browser(shop, rzp)
    deliver(shop, rzp, "payment.captured")

    page = new_mandate.take_new_mandate(shop.svc, "alice", answer)

    assert page.customer.default_payment_method not in (None, OLD)
    [paid] = registrations(shop)
    assert paid.payment_id == answer.payment_id
    registered = [
        e
        for e in shop.repo.list_customer_audit("alice", 50)
        if e.action is AuditAction.MANDATE_REGISTERED
    ]
    assert len(registered) == 1
    work_customer(shop)
    work_customer(shop)
    assert len(refunds_of(rzp, answer.payment_id)) == 1


def test_the_page_and_the_webhook_racing_record_the_rupee_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    answer = authorise_and_close_the_browser(shop, rzp)
    webhook = shop.interleaved(
        lambda: new_mandate.take_new_mandate(shop.svc, "alice", answer)
    )  # the page commits between the webhook's read and its commit
    webhook.gateways = shop.svc.gateways

    found = record_reported_registration(webhook, "razorpay", answer.payment_id, None)

    assert found is Reported.KNOWN
    assert [r.payment_id for r in registrations(shop)] == [answer.payment_id]


def test_a_payment_razorpay_does_not_know_is_ignored_with_a_clear_log(
    make_shop: Callable[..., Shop], caplog: pytest.LogCaptureFixture
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    authorise_and_close_the_browser(shop, rzp)
    caplog.set_level(logging.WARNING)

    applied = deliver(shop, rzp, "payment.captured", id="pay_forged0000001")

    assert applied[-1] is Applied.UNMATCHED
    assert registrations(shop) == []
    assert "reported registration not recognised" in caplog.text


def test_a_payment_on_an_order_that_is_no_registration_is_ignored_whatever_its_notes_say(
    make_shop: Callable[..., Shop], caplog: pytest.LogCaptureFixture
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    rzp.events.clear()
    gateway = rzp.gateway()
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is not None
    order = gateway._call("POST", "/orders", {"amount": 100, "currency": "INR", "receipt": "x"})
    # Checkout's notes claim a registration; the order, as Razorpay holds it, is none.
    forged = CheckoutOrder(
        key_id="rzp_test_sandbox",
        order_id=str(order["id"]),
        amount=Money(100, "INR"),
        notes={"tenure_customer_id": "alice", "tenure_purpose": "mandate"},
        provider_customer_id=customer.provider_customer_id,
    )
    assert isinstance(gateway.checkout_in_sandbox(forged, "success@razorpay"), CheckoutAnswer)
    caplog.set_level(logging.WARNING)

    assert deliver(shop, rzp, "payment.captured") == [Applied.UNMATCHED]
    assert registrations(shop) == []
    assert "reported registration not recognised" in caplog.text
    assert [getattr(r, "code", None) for r in caplog.records] == ["not_a_registration"]


def test_a_registration_paid_by_another_razorpay_customer_is_not_recorded(
    make_shop: Callable[..., Shop], caplog: pytest.LogCaptureFixture
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    offer = new_mandate.begin_new_mandate(shop.svc, "alice", 50, shop.clock.now(), "upi")
    stranger = rzp.gateway()._call("POST", "/customers", {"name": "Someone", "email": "x@y.z"})
    paid_by_stranger = CheckoutOrder(
        key_id=offer.checkout.key_id,
        order_id=offer.checkout.order_id,
        amount=offer.checkout.amount,
        notes=dict(offer.checkout.notes),
        provider_customer_id=str(stranger["id"]),
    )
    rzp.gateway().checkout_in_sandbox(paid_by_stranger, "success@razorpay")
    caplog.set_level(logging.WARNING)

    assert deliver(shop, rzp, "payment.captured")[-1] is Applied.UNMATCHED
    assert registrations(shop) == []
    assert "reported registration of no customer paying there" in caplog.text


def test_an_ordinary_debits_webhook_is_unaffected_even_if_its_notes_claim_a_registration(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)  # her first debit was made as she subscribed
    asked = len(rzp.requests)
    invoices = shop.invoices()

    plain = deliver(shop, rzp, "payment.captured")
    claimed = deliver(
        shop,
        rzp,
        "payment.captured",
        notes={**_debit_notes(rzp), "tenure_purpose": "mandate", "tenure_customer_id": "alice"},
    )

    assert plain == claimed == [Applied.UNCHANGED]  # settled already, as before
    assert registrations(shop) == [] and shop.invoices() == invoices
    assert len(rzp.requests) == asked  # never read back as a registration


def test_a_registration_whose_rupee_was_already_refunded_at_razorpay_is_not_recorded(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    answer = authorise_and_close_the_browser(shop, rzp)
    rzp.payments[answer.payment_id]["status"] = "refunded"  # the business refunded it itself

    assert deliver(shop, rzp, "payment.captured")[-1] is Applied.UNMATCHED
    assert registrations(shop) == []
    assert provider_owed.refund_registrations(shop.svc, "alice") is None


def _debit_notes(rzp: RazorpaySandbox) -> dict[str, str]:
    [debit] = [e for e in rzp.events if e["type"] == "payment.captured"]
    return dict(debit["body"]["payload"]["payment"]["entity"]["notes"])
