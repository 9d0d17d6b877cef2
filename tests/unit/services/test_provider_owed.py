"""What the provider is owed after Tenure committed: a changed phone sent to the provider's
customer, and a new mandate's registration payment recorded and refunded once, both by the
due work, through outages, refusals, crashes and repeats."""

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import Crash, Shop
from test_new_mandate import razorpay_shop

from tenure.domain.audit import AuditAction
from tenure.domain.due import DueKind
from tenure.domain.errors import ValidationFailedError
from tenure.domain.provider_owed import FIRST_WAIT
from tenure.payments.gateway import PaymentResult, ProviderUnavailableError
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.services import cards, due, new_mandate, privacy, provider_owed, self_service
from tenure.services.context import Services
from tenure.services.customer_updates import CustomerChanges, update_customer
from tenure.services.provider_events import apply_provider_event
from tenure.store import codec
from tenure.views import registration_charge_views
from tenure.webhooks import razorpay_events
from tenure.webhooks.providers import link_namespace

NEW_PHONE = "+919812345678"


def work_customer(shop: Shop, svc: Services | None = None) -> list[DueKind]:
    """The scheduler's run now: the customer's due work, done; the kinds it was."""
    done = []
    for item in shop.repo.due(shop.clock.now()):
        if item.entity_id == "alice":
            done.append(item.kind)
            due.work_due(svc or shop.svc, item)
    return done


def rzp_contact(rzp: RazorpaySandbox, shop: Shop) -> str:
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is not None
    return str(rzp.customers[customer.provider_customer_id].get("contact") or "")


class OutageGateway:
    """The customer's provider, down for its first `down` calls of `method`."""

    def __init__(self, inner: Any, method: str, down: int) -> None:
        self.inner, self.method, self.down = inner, method, down
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)
        if name != self.method:
            return call

        def failing(**kwargs: Any) -> Any:
            if self.down > 0:
                self.down -= 1
                raise ProviderUnavailableError("down", code="503")
            return call(**kwargs)

        return failing


# -- the phone ------------------------------------------------------------------------------------
def test_a_changed_phone_reaches_razorpay_after_the_commit_by_the_due_work(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    before = rzp_contact(rzp, shop)

    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))

    assert rzp_contact(rzp, shop) == before  # not inside the request
    assert work_customer(shop) == [DueKind.PROVIDER_PHONE]
    assert rzp_contact(rzp, shop) == NEW_PHONE
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync is not None
    assert customer.phone_sync.sent_at == shop.clock.now() and customer.next_due() is None
    assert work_customer(shop) == []  # sent once


def test_a_changed_phone_reaches_a_stripe_customer(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    cards.ensure_provider_customer(shop.svc, customer)
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is not None

    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))
    work_customer(shop)
    update_customer(shop.svc, "alice", CustomerChanges({"phone": None}))
    work_customer(shop)

    cus = customer.provider_customer_id
    assert shop.gateway.phone_updates == [(cus, NEW_PHONE), (cus, None)]
    assert shop.gateway.customer(cus).get("phone") is None  # removed there too


def test_a_provider_outage_delays_the_phone_and_never_loses_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    down = OutageGateway(shop.svc.gateways["razorpay"], "update_phone", down=2)
    shop.svc.gateways["razorpay"] = down
    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))

    work_customer(shop)
    assert work_customer(shop) == []  # waits before asking again
    shop.clock.advance(FIRST_WAIT)
    work_customer(shop)
    assert rzp_contact(rzp, shop) != NEW_PHONE
    shop.clock.advance(FIRST_WAIT * 2)
    work_customer(shop)

    assert rzp_contact(rzp, shop) == NEW_PHONE
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync is not None
    assert customer.phone_sync.tries == 2 and not customer.phone_sync.pending


def test_a_phone_the_provider_refuses_is_left_for_a_person(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is not None
    del rzp.customers[customer.provider_customer_id]  # gone at Razorpay: refused for good
    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))

    work_customer(shop)

    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync is not None
    assert customer.phone_sync.failure and customer.next_due() is None


def test_a_phone_given_before_the_provider_customer_exists_is_not_owed(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is None

    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))

    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync is None  # created with it later


def test_a_removed_phone_leaves_razorpays_contact_that_debits_need(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))
    work_customer(shop)

    update_customer(shop.svc, "alice", CustomerChanges({"phone": None}))
    work_customer(shop)

    assert rzp_contact(rzp, shop) == NEW_PHONE
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync is not None
    assert customer.phone_sync.sent_at is not None  # done: Razorpay keeps one


def test_an_erasure_sends_no_phone_still_owed(make_shop: Callable[..., Shop]) -> None:
    shop, rzp = razorpay_shop(make_shop)
    shop.svc.gateways["razorpay"] = OutageGateway(rzp.gateway(), "update_phone", down=1)
    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))
    work_customer(shop)  # the provider was down: still owed
    for sub in shop.repo.list_subscriptions("alice"):
        sub.status = sub.status.CANCELED
        shop.repo.subscriptions[sub.id] = sub

    privacy.erase_customer(shop.svc, "alice", actor="op", note="asked to be forgotten")
    shop.clock.advance(timedelta(hours=1))
    kinds = work_customer(shop)

    assert kinds == [DueKind.PROVIDER_ERASE]
    assert rzp_contact(rzp, shop) != NEW_PHONE  # the erasure's placeholder, never the phone
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync is None and customer.next_due() is None


# -- the registration payment ---------------------------------------------------------------------
def refunds_of(rzp: RazorpaySandbox, payment_id: str) -> list[dict[str, Any]]:
    return [r for r in rzp.refunds.values() if r["payment_id"] == payment_id]


def give_mandate(shop: Shop) -> self_service.CardPage:
    given = new_mandate.give_mandate_in_sandbox(shop.svc, "alice", "success@razorpay", "upi", 50)
    assert isinstance(given, self_service.CardPage)
    return given


def test_the_registration_rupee_is_recorded_then_refunded_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    give_mandate(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    [paid] = customer.registrations
    assert (paid.amount, paid.currency, paid.pending) == (100, "INR", True)
    assert rzp.payments[paid.payment_id]["status"] == "captured"
    assert refunds_of(rzp, paid.payment_id) == []  # not inside the page's request

    assert work_customer(shop) == [DueKind.REGISTRATION_REFUND]
    assert work_customer(shop) == []
    provider_owed.refund_registrations(shop.svc, "alice")  # a duplicate message

    [refund] = refunds_of(rzp, paid.payment_id)
    assert refund["amount"] == 100
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    [view] = registration_charge_views(customer)
    assert view["invoice"] is None and view["purpose"] == "mandate_registration"
    assert view["refund"] == {
        "status": "refunded",
        "provider_refund_id": refund["id"],
        "at": view["at"],
        "tries": 0,
        "failure": None,
    }
    actions = [(e.action, e.entity) for e in shop.repo.list_customer_audit("alice", 50)]
    assert (AuditAction.MANDATE_REGISTERED, paid.charge_id) in actions
    assert (AuditAction.REFUND, paid.charge_id) in actions


def test_a_crash_after_the_registration_is_recorded_still_ends_refunded_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    dying = shop.dying(after_commit=1)

    with pytest.raises(Crash):
        new_mandate.give_mandate_in_sandbox(dying, "alice", "success@razorpay", "upi", 50)

    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method == "token_upi_success"
    [paid] = customer.registrations  # nothing attached, the rupee owed back
    work_customer(shop)
    work_customer(shop)
    assert len(refunds_of(rzp, paid.payment_id)) == 1


def test_a_crash_after_the_refund_is_made_refunds_nothing_more(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    give_mandate(shop)
    dying = shop.dying(before_commit=1)
    with pytest.raises(Crash):
        work_customer(shop, dying)  # refunded at Razorpay, never recorded

    assert work_customer(shop) == [DueKind.REGISTRATION_REFUND]  # still owed: asked again
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    [paid] = customer.registrations
    [refund] = refunds_of(rzp, paid.payment_id)  # the same key: the first refund back
    assert paid.refund_id == refund["id"]


def test_a_refund_razorpay_does_not_answer_is_asked_again_later(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    give_mandate(shop)
    shop.svc.gateways["razorpay"] = OutageGateway(shop.svc.gateways["razorpay"], "refund", 1)

    work_customer(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.registrations[0].tries == 1
    shop.clock.advance(FIRST_WAIT)
    work_customer(shop)

    customer = shop.repo.get_customer("alice")
    assert customer is not None and not customer.registrations[0].pending
    assert len(refunds_of(rzp, customer.registrations[0].payment_id)) == 1


def test_a_refund_razorpay_refuses_is_recorded_as_refused_for_a_person(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    give_mandate(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    rzp.payments[customer.registrations[0].payment_id]["status"] = "failed"  # not refundable

    work_customer(shop)

    customer = shop.repo.get_customer("alice")
    assert customer is not None
    [view] = registration_charge_views(customer)
    assert view["refund"]["status"] == "refused" and view["refund"]["failure"]
    assert customer.next_due() is None
    refused = [
        e for e in shop.repo.list_customer_audit("alice", 50) if e.action is AuditAction.REFUND
    ]
    assert refused and refused[0].after["refund"] == "refused"


def test_a_registration_whose_token_is_refused_is_still_refunded(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    original = rzp._get_token

    def unconfirmed(customer_id: str, token: str, **req: Any) -> tuple[int, dict[str, Any]]:
        status, body = original(customer_id, token, **req)
        return status, body | {"recurring_details": {"status": "rejected"}}

    rzp._get_token = unconfirmed  # type: ignore[method-assign]
    with pytest.raises(ValidationFailedError):
        give_mandate(shop)

    work_customer(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method == "token_upi_success"
    [paid] = customer.registrations
    assert len(refunds_of(rzp, paid.payment_id)) == 1


def test_the_registration_rupee_is_no_revenue(make_shop: Callable[..., Shop]) -> None:
    shop, _ = razorpay_shop(make_shop)
    ledger_before = list(shop.repo.ledger)
    invoices_before = shop.invoices()

    give_mandate(shop)
    work_customer(shop)

    assert shop.invoices() == invoices_before  # no invoice: nothing invoiced or paid
    assert list(shop.repo.ledger) == ledger_before  # no MRR movement
    customer = shop.repo.get_customer("alice")
    assert customer is not None and len(customer.registrations) == 1  # recorded all the same


def test_what_is_owed_at_the_provider_reads_back_from_the_store_as_written(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _ = razorpay_shop(make_shop)
    give_mandate(shop)
    shop.svc.gateways["razorpay"] = OutageGateway(shop.svc.gateways["razorpay"], "refund", 1)
    work_customer(shop)  # the refund waits for a second try
    update_customer(shop.svc, "alice", CustomerChanges({"phone": NEW_PHONE}))
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.phone_sync and customer.registrations

    read = codec.customer_from_attrs(codec.customer_to_attrs(customer))

    assert read.phone_sync == customer.phone_sync
    assert read.registrations == customer.registrations
    assert read.next_due() == customer.next_due()


def test_razorpays_webhooks_of_the_registration_and_its_refund_change_nothing_more(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    rzp.events.clear()
    give_mandate(shop)
    work_customer(shop)
    kinds = [e["type"] for e in rzp.events]
    assert "refund.processed" in kinds and "payment.captured" in kinds
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    before = copy.deepcopy(
        (customer, shop.invoices(), list(shop.repo.ledger), dict(shop.repo.refunds))
    )

    for event in rzp.events:
        body = json.dumps(event["body"]).encode()
        headers = razorpay_events.sign(body, "s", event_id=event["id"])
        parsed = razorpay_events.parse(body, headers)
        apply_provider_event(shop.svc, parsed, link_namespace("razorpay", "sandbox"))

    after = shop.repo.get_customer("alice")
    assert (after, shop.invoices(), list(shop.repo.ledger), dict(shop.repo.refunds)) == before


def test_two_submits_of_one_answer_racing_record_its_rupee_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    offer = new_mandate.begin_new_mandate(shop.svc, "alice", 50, shop.clock.now(), "upi")
    answer = rzp.gateway().checkout_in_sandbox(offer.checkout, "success@razorpay")
    assert not isinstance(answer, PaymentResult)
    verified = rzp.gateway().verify_mandate(
        answer,
        provider_customer_id=offer.checkout.provider_customer_id or "",
        tenure_customer_id="alice",
    )
    other = shop.interleaved(lambda: provider_owed.record_registration(shop.svc, "alice", verified))

    paid = provider_owed.record_registration(other, "alice", verified)

    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.registrations == (paid,)
