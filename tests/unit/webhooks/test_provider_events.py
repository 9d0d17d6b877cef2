"""apply_provider_event: each handled event's effect, once, whatever the timing of delivery."""

import copy
from datetime import timedelta
from typing import Any

import pytest
from webhooks_harness import Shop, StripeEvent, card, event

from tenure.domain.charges import ChargeOutcome, ChargeStatus
from tenure.domain.events import EventType
from tenure.domain.invoices import (
    DisputeStatus,
    InvoiceStatus,
    OwedRefund,
    OwedRefundFailure,
)
from tenure.domain.subscription import SubscriptionStatus
from tenure.payments import stripe_objects
from tenure.ports import Commit
from tenure.services import catalog, charging
from tenure.services.context import Services
from tenure.services.provider_events import Applied

HOUR = timedelta(hours=1)


def renewal_declined_with(shop: Shop, number: str) -> str:
    """Alice pays her first month, then her renewal is declined on `number`."""
    shop.add_card("4242424242424242")
    shop.subscribe()
    shop.add_card(number)
    shop.clock.advance(timedelta(days=31))
    payments_due(shop)
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.status is SubscriptionStatus.PAST_DUE
    invoices = [i for i in shop.repo.list_invoices("sub-1") if i.status is InvoiceStatus.OPEN]
    assert len(invoices) == 1
    return invoices[0].id


def payments_due(shop: Shop) -> None:
    from tenure.services import subscriptions

    for item in shop.repo.due(shop.clock.now()):
        if item.kind == "renewal":
            subscriptions.process_due(shop.svc, item.entity_id)


def events_of(shop: Shop, kind: EventType) -> list[dict[str, Any]]:
    return [e for e in shop.repo.events if e["type"] == str(kind)]


def refunded_from_the_dashboard(shop: Shop, invoice_id: str, amount: int | None, key: str) -> None:
    """The business refunds `amount` (None: the rest) in the provider's dashboard, and the
    provider's webhooks for it reach Tenure."""
    seen = len(shop.events())
    shop.refund(invoice_id, amount, key)
    for e in shop.events()[seen:]:
        shop.deliver(e)


def customer_metadata(shop: Shop) -> dict[str, str]:
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    return customer.metadata


# -- payments ----------------------------------------------------------------------------------
def test_a_bank_debit_settles_when_its_webhook_arrives_dated_by_the_provider(shop: Shop) -> None:
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    charge = shop.repo.get_charge(invoice_id, 1)
    assert charge is not None and charge.outcome is ChargeOutcome.PENDING
    shop.clock.advance(5 * HOUR)  # the debit settled after 4 h; the webhook came an hour late
    shop.gateway.settle_pending()

    assert shop.deliver(shop.last("payment_intent.processing")) is Applied.UNCHANGED
    assert shop.deliver(shop.last("payment_intent.succeeded")) is Applied.APPLIED

    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    assert invoice.paid_at == shop.clock.now() - HOUR
    settled = shop.repo.get_charge(invoice_id, 1)
    assert settled is not None and settled.status is ChargeStatus.SETTLED
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.status is SubscriptionStatus.ACTIVE
    assert shop.deliver(shop.last("payment_intent.succeeded")) is Applied.DUPLICATE


def test_a_failed_bank_debit_settles_as_a_decline(shop: Shop) -> None:
    shop.add_card("sandbox_async_fails")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    assert shop.deliver(shop.last("payment_intent.payment_failed")) is Applied.APPLIED
    charge = shop.repo.get_charge(invoice_id, 1)
    assert charge is not None
    assert (charge.status, charge.outcome, charge.decline_code) == (
        ChargeStatus.SETTLED,
        ChargeOutcome.DECLINED,
        "debit_failed",
    )


def pending_debit_settled(shop: Shop) -> tuple[str, StripeEvent]:
    """Alice's first month by bank debit, settled at the provider; its success event."""
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    return invoice_id, shop.last("payment_intent.succeeded")


def test_a_payment_names_its_invoice_attempt_subscription_and_customer(shop: Shop) -> None:
    _, succeeded = pending_debit_settled(shop)
    assert succeeded["data"]["object"]["metadata"] == stripe_objects.payment_metadata(
        succeeded["data"]["object"]["metadata"]["tenure_invoice_id"], 1, "sub-1", "alice"
    )


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({"tenure_subscription_id": None, "tenure_customer_id": None}, id="older"),
        pytest.param({"tenure_subscription_id": "sub-2"}, id="another-subscription"),
        pytest.param({"tenure_invoice_id": None, "tenure_attempt": None}, id="none-by-link"),
    ],
)
def test_a_payment_whose_metadata_names_less_or_else_settles_the_same(
    shop: Shop, metadata: dict[str, str | None]
) -> None:
    """What the metadata names only chooses what the first read fetches: a payment created
    before Tenure wrote the subscription there, or naming another, or naming nothing (found
    by its provider link), settles its own invoice and activates its own subscription."""
    invoice_id, succeeded = pending_debit_settled(shop)
    shop.subscribe("sub-2")  # another subscription of hers, which the metadata may name
    calm = shop.fork()
    assert calm.deliver(succeeded) is Applied.APPLIED
    written = succeeded["data"]["object"]["metadata"]
    for key, value in metadata.items():
        if value is None:
            written.pop(key)
        else:
            written[key] = value

    assert shop.deliver(succeeded) is Applied.APPLIED
    assert shop.state() == calm.state()
    invoice = shop.repo.get_invoice(invoice_id)
    sub = shop.repo.get_subscription("sub-1")
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    assert sub is not None and sub.status is SubscriptionStatus.ACTIVE
    assert shop.deliver(succeeded) is Applied.DUPLICATE


def test_a_payment_settled_by_the_money_path_is_left_alone(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    shop.subscribe()
    before = shop.repo.commits
    assert shop.deliver(shop.last("payment_intent.succeeded")) is Applied.UNCHANGED
    assert shop.repo.commits == before and not shop.repo.markers  # nothing written at all


def test_a_late_success_overrules_a_settled_failure_because_the_money_moved(shop: Shop) -> None:
    shop.add_card("4000000000009995")  # insufficient funds
    invoice_id = shop.subscribe()
    failed = shop.last("payment_intent.payment_failed")
    succeeded = copy.deepcopy(failed)
    succeeded.update(id="evt_later_success", type="payment_intent.succeeded")
    succeeded["created"] += 60
    intent = succeeded["data"]["object"]
    intent.update(status="succeeded", last_payment_error=None)

    assert shop.deliver(failed) is Applied.UNCHANGED  # already settled as declined
    assert shop.deliver(succeeded) is Applied.APPLIED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    assert shop.deliver(failed) is Applied.UNCHANGED  # a failure never overrules a success


def test_a_claim_whose_collector_may_still_be_at_work_is_not_taken_from_it(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    shop.gateway.fail_next("timeout", on="pay")  # charged, but the answer was lost
    invoice_id = shop.subscribe()
    charge = shop.repo.get_charge(invoice_id, 1)
    assert charge is not None and charge.status is ChargeStatus.CHARGING
    assert charge.payment_id is None  # the answer that carried it was lost
    succeeded = shop.last("payment_intent.succeeded")

    assert shop.deliver(succeeded) is Applied.UNCHANGED  # the lease is still running
    shop.clock.advance(timedelta(minutes=6))
    assert shop.deliver(succeeded) is Applied.APPLIED  # the collector died: ours to settle
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    # The event found the attempt by its metadata, and stored the payment id and the link
    # a later dispute (which names only the payment) finds the attempt by
    payment_id = succeeded["data"]["object"]["id"]
    settled = shop.repo.get_charge(invoice_id, 1)
    assert settled is not None and settled.payment_id == payment_id
    assert shop.repo.find_provider_object("sandbox", payment_id) == f"{invoice_id}:1"


def test_an_event_about_a_payment_tenure_never_made_is_unmatched_and_writes_nothing(
    shop: Shop,
) -> None:
    intent = stripe_objects.payment_intent(
        id="pi_someone_elses",
        amount=500,
        currency="usd",
        customer=None,
        payment_method="pm_card_visa",
        payment_method_type="card",
        metadata={},
        created=0,
    )
    intent["status"] = "succeeded"
    before = shop.repo.commits
    assert shop.deliver(event("payment_intent.succeeded", intent, 0)) is Applied.UNMATCHED
    assert shop.repo.commits == before and not shop.repo.markers


# -- refunds -----------------------------------------------------------------------------------
def test_dashboard_refunds_mark_the_invoice_partly_then_fully_refunded(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    refunded_from_the_dashboard(shop, invoice_id, 400, "dashboard-1")
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None
    assert (invoice.amount_refunded, invoice.refund_status) == (400, "partial")
    assert invoice.status is InvoiceStatus.PAID  # a refund does not unpay the invoice

    shop.clock.advance(HOUR)
    refunded_from_the_dashboard(shop, invoice_id, None, "dashboard-2")
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None
    assert (invoice.amount_refunded, invoice.refund_status) == (1000, "full")
    refunded = events_of(shop, EventType.INVOICE_REFUNDED)
    assert [e["data"]["amount_refunded"] for e in refunded] == [400, 1000]


def test_a_dashboard_refund_is_listed_as_the_webhooks_work_on_its_invoice(shop: Shop) -> None:
    from tenure.domain.audit import SYSTEM_WEBHOOKS
    from tenure.services import timeline

    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    seen = len(shop.events())
    shop.refund(invoice_id, 400, "dashboard-1")
    for e in shop.events()[seen:]:
        shop.deliver(e)
    page, _ = timeline.audit_entries(shop.svc, entity=invoice_id, actor=None, limit=10, after=None)
    assert [e.actor for e in page] == [SYSTEM_WEBHOOKS]
    assert "InvoiceRefunded" in str(page[0].after["events"])
    assert shop.repo.audit == []  # read from the refund's events: no item of its own


def test_a_refund_that_fails_later_gives_the_amount_back(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    shop.refund(invoice_id, 300, "dashboard-1")
    created = shop.last("refund.created")
    failed = copy.deepcopy(created)
    failed.update(id="evt_refund_failed", type="refund.updated", created=created["created"] + 3600)
    failed["data"]["object"]["status"] = "failed"

    for e in (failed, shop.last("charge.refunded"), created):  # in the worst order
        shop.deliver(e)
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 0


def test_a_refund_the_provider_reports_after_the_owed_one_failed_settles_it(shop: Shop) -> None:
    # Given an owed refund of 1000 whose tries failed (kept on the invoice as failed)
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None
    owed = OwedRefund(1, 1000, "full", None, shop.clock.now(), shop.clock.now())
    invoice.refund_owed = owed.given_up(shop.clock.now(), OwedRefundFailure.UNANSWERED)
    shop.repo.commit(Commit(invoices=[invoice]))
    # When the provider reports a partial refund, then the rest
    refunded_from_the_dashboard(shop, invoice_id, 400, "dashboard-1")
    partly = shop.repo.get_invoice(invoice_id)
    assert partly is not None and partly.refund_owed is not None  # 400 of 1000: still owed
    refunded_from_the_dashboard(shop, invoice_id, None, "dashboard-2")
    # Then the failed refund is forgotten only once its whole amount went back
    settled = shop.repo.get_invoice(invoice_id)
    assert settled is not None and settled.refund_owed is None
    assert settled.amount_refunded == 1000


def test_a_refund_whose_metadata_names_another_customers_invoice_refunds_the_one_paid(
    shop: Shop,
) -> None:
    # Given Alice's and Bob's first invoices, each paid by its own payment
    catalog.create_customer(shop.svc, "bob", "bob@example.com")
    shop.add_card("4242424242424242")
    alices = shop.subscribe()
    shop.add_card("4242424242424242", customer="bob")
    bobs = shop.subscribe("sub-2", "bob")
    # When Alice's payment is refunded and its charge's metadata (editable in the provider's
    # dashboard) names Bob's invoice
    seen = len(shop.events())
    shop.refund(alices, 400, "dashboard-1")
    for e in shop.events()[seen:]:
        edited = copy.deepcopy(e)
        metadata = edited["data"]["object"].get("metadata") or {}
        if "tenure_invoice_id" in metadata:
            metadata.update(tenure_invoice_id=bobs, tenure_customer_id="bob")
        shop.deliver(edited)
    # Then the refund is Alice's invoice's, the one the payment paid, as Tenure linked it
    refunded = {i: shop.repo.get_invoice(i) for i in (alices, bobs)}
    assert {i: v.amount_refunded for i, v in refunded.items() if v} == {alices: 400, bobs: 0}


def test_a_refunded_total_in_another_currency_than_the_invoices_is_not_taken(
    shop: Shop,
) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    shop.refund(invoice_id, 400, "dashboard-1")
    charge_refunded = copy.deepcopy(shop.last("charge.refunded"))
    charge_refunded["data"]["object"]["currency"] = "eur"
    charge_refunded["data"]["object"]["refunds"] = {"data": []}

    assert shop.deliver(charge_refunded) is Applied.UNCHANGED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.amount_refunded == 0


# -- disputes ----------------------------------------------------------------------------------
def test_a_lost_dispute_writes_the_invoice_off_and_marks_the_customer(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    dispute_id = shop.gateway.open_dispute(shop.payment_of(invoice_id), "dispute-1")
    assert shop.deliver(shop.last("charge.dispute.created")) is Applied.APPLIED
    assert shop.deliver(shop.last("charge.dispute.funds_withdrawn")) is Applied.IGNORED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.disputed and invoice.dispute_open
    assert customer_metadata(shop)["at_risk"] == "dispute"

    shop.clock.advance(timedelta(days=20))
    shop.gateway.close_dispute(dispute_id, "lost")
    assert shop.deliver(shop.last("charge.dispute.closed")) is Applied.APPLIED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None
    assert (invoice.status, invoice.dispute_status) == (
        InvoiceStatus.UNCOLLECTIBLE,
        DisputeStatus.LOST,
    )
    assert len(events_of(shop, EventType.INVOICE_UNCOLLECTIBLE)) == 1
    assert len(events_of(shop, EventType.CUSTOMER_MARKED_AT_RISK)) == 1


def test_a_won_dispute_leaves_the_invoice_paid(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    dispute_id = shop.gateway.open_dispute(shop.payment_of(invoice_id), "dispute-1")
    shop.gateway.close_dispute(dispute_id, "won")
    for e in shop.events("charge.dispute.closed") + shop.events("charge.dispute.created"):
        shop.deliver(e)  # the close first: it outranks the opening whatever the order
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None
    assert (invoice.status, invoice.dispute_status) == (InvoiceStatus.PAID, DisputeStatus.WON)


def test_an_open_dispute_pauses_dunning_for_its_invoice(shop: Shop) -> None:
    invoice_id = renewal_declined_with(shop, "4000000000009995")
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.next_due() is not None  # a retry is scheduled
    invoice.record_dispute("dp_1", DisputeStatus.NEEDS_RESPONSE, shop.clock.now())
    shop.repo.commit(Commit(invoices=[invoice]))

    paused = shop.repo.get_invoice(invoice_id)
    assert paused is not None and paused.next_due() is None
    assert charging.collect_invoice(shop.svc, invoice_id) is None
    assert invoice_id not in {d.entity_id for d in shop.repo.due(shop.clock.now() + 30 * 24 * HOUR)}

    paused.record_dispute("dp_1", DisputeStatus.WON, shop.clock.now() + HOUR)
    shop.repo.commit(Commit(invoices=[paused]))
    resumed = shop.repo.get_invoice(invoice_id)
    assert resumed is not None and resumed.next_due() is not None


def test_a_dispute_lost_before_its_payment_was_reported_writes_off_on_payment(
    shop: Shop,
) -> None:
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    succeeded = shop.last("payment_intent.succeeded")
    dispute_id = shop.gateway.open_dispute(shop.payment_of(invoice_id), "dispute-1")
    shop.gateway.close_dispute(dispute_id, "lost")

    assert shop.deliver(shop.last("charge.dispute.closed")) is Applied.APPLIED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN
    assert shop.deliver(succeeded) is Applied.APPLIED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.UNCOLLECTIBLE
    assert invoice.paid_at is not None


# -- cards -------------------------------------------------------------------------------------
def test_a_card_updated_by_the_network_retries_a_hard_declined_invoice_at_once(
    shop: Shop,
) -> None:
    invoice_id = renewal_declined_with(shop, "4000000000009979")  # stolen card: hard decline
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.next_attempt_at is None  # waiting for a new card
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method is not None
    shop.clock.advance(HOUR)
    shop.gateway.auto_update_card(
        customer.default_payment_method, customer.provider_customer_id, "4242424242424242"
    )
    updated = shop.last("payment_method.automatically_updated")
    shop.clock.advance(3 * HOUR)  # delivered late

    assert shop.deliver(updated) is Applied.APPLIED
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    retry = shop.repo.get_charge(invoice_id, 2)
    assert retry is not None and retry.outcome is ChargeOutcome.SUCCEEDED
    assert retry.at == shop.clock.now() - 3 * HOUR  # dated by the card's update, not arrival
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.status is SubscriptionStatus.ACTIVE
    assert shop.deliver(updated) is Applied.DUPLICATE
    assert len(shop.repo.list_charges(invoice_id)) == 2


def test_a_card_the_network_replaced_for_one_customer_charges_as_before_for_another(
    shop: Shop,
) -> None:
    """The sandbox names every customer's card by its test token, where Stripe gives each
    customer's card its own id: a replacement behind one customer's card is theirs alone."""
    from tenure.services import catalog

    catalog.create_customer(shop.svc, "bob", "bob@example.com")
    for name in ("alice", "bob"):
        shop.add_card("4242424242424242", customer=name)
        shop.subscribe(f"sub-{name}", customer=name)
    alice = shop.repo.get_customer("alice")
    assert alice is not None and alice.default_payment_method == card("4242424242424242")
    shop.gateway.auto_update_card(
        alice.default_payment_method, alice.provider_customer_id, "4000000000000341"
    )
    shop.clock.advance(timedelta(days=31))
    payments_due(shop)

    outcomes = {}
    for name in ("alice", "bob"):
        (renewal,) = [i for i in shop.repo.list_invoices(f"sub-{name}") if i.kind == "renewal"]
        charge = shop.repo.get_charge(renewal.id, 1)
        assert charge is not None
        outcomes[name] = charge.outcome
    assert outcomes == {"alice": ChargeOutcome.DECLINED, "bob": ChargeOutcome.SUCCEEDED}


def test_a_card_update_older_than_the_last_attempt_adds_no_attempt(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    shop.subscribe()
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method is not None
    shop.gateway.auto_update_card(
        customer.default_payment_method, customer.provider_customer_id, "5555555555554444"
    )
    stale = shop.last("payment_method.automatically_updated")
    invoice_id = renewal_declined_with_existing(shop, "4000000000009995")
    attempts = len(shop.repo.list_charges(invoice_id))
    assert shop.deliver(stale) is Applied.UNCHANGED
    assert len(shop.repo.list_charges(invoice_id)) == attempts


def renewal_declined_with_existing(shop: Shop, number: str) -> str:
    shop.add_card(number)
    shop.clock.advance(timedelta(days=31))
    payments_due(shop)
    invoices = [i for i in shop.repo.list_invoices("sub-1") if i.status is InvoiceStatus.OPEN]
    return invoices[0].id


def test_a_card_added_at_the_provider_while_money_is_owed_becomes_the_default_and_pays(
    shop: Shop,
) -> None:
    invoice_id = renewal_declined_with(shop, "4000000000009987")  # lost card
    shop.clock.advance(HOUR)
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    method = stripe_objects.card_payment_method(
        id=card("5555555555554444"),
        brand="mastercard",
        last4="4444",
        exp_month=12,
        exp_year=2034,
        customer=customer.provider_customer_id,
        created=int(shop.clock.now().timestamp()),
    )
    attached = event("payment_method.attached", method, int(shop.clock.now().timestamp()))
    assert shop.deliver(attached) is Applied.APPLIED
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method == card("5555555555554444")
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID


def test_the_declined_card_told_of_again_by_the_provider_is_not_charged_again(
    shop: Shop,
) -> None:
    # Given the renewal declined hard on the card Tenure recorded (a lost card)
    invoice_id = renewal_declined_with(shop, "4000000000009987")
    attached = shop.last("payment_method.attached")
    assert attached["data"]["object"]["id"] == card("4000000000009987")
    # When the provider tells of that card's attachment again, dated after the decline (the
    # same card given again, or the event sent anew)
    shop.clock.advance(HOUR)
    again = event(
        "payment_method.attached",
        attached["data"]["object"],
        int(shop.clock.now().timestamp()),
        n=7,
    )
    before = shop.repo.list_charges(invoice_id)
    assert shop.deliver(again) is Applied.UNCHANGED
    # Then the card that was declined hard is not charged blindly again
    assert shop.repo.list_charges(invoice_id) == before
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN


def test_a_card_tenure_attached_itself_changes_nothing_when_its_webhook_arrives(
    shop: Shop,
) -> None:
    shop.add_card("4242424242424242")
    shop.subscribe()
    before = shop.repo.commits
    assert shop.deliver(shop.last("payment_method.attached")) is Applied.UNCHANGED
    assert shop.repo.commits == before


def test_detaching_the_default_card_leaves_invoices_waiting_and_older_attaches_stale(
    shop: Shop,
) -> None:
    shop.add_card("4242424242424242")
    shop.subscribe()
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is not None
    attached = shop.last("payment_method.attached")
    method = copy.deepcopy(attached["data"]["object"])
    method["customer"] = None
    detached = event("payment_method.detached", method, attached["created"] + 600)
    detached["data"]["previous_attributes"] = {"customer": customer.provider_customer_id}
    assert shop.deliver(detached) is Applied.APPLIED
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method is None
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.payer == customer.payer  # its copy followed
    assert shop.deliver(attached) is Applied.UNCHANGED  # older than the detach


def test_a_customer_deleted_at_the_provider_loses_its_provider_id_and_card(shop: Shop) -> None:
    shop.add_card("4242424242424242")
    shop.subscribe()
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.provider_customer_id is not None
    created = shop.last("customer.created")["data"]["object"]
    deleted = event("customer.deleted", created, int(shop.clock.now().timestamp()) + 60)
    assert shop.deliver(deleted) is Applied.APPLIED
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    assert (customer.provider_customer_id, customer.default_payment_method) == (None, None)
    assert "provider_customer_deleted" in customer.metadata
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.payer == customer.payer  # its copy followed
    assert shop.deliver(shop.last("payment_method.attached")) is Applied.UNCHANGED


def test_a_second_provider_customer_deleted_later_is_cleared_too(shop: Shop) -> None:
    # Given Alice's provider customer deleted, and a new one made when she gave a card again
    shop.add_card("4242424242424242")
    shop.subscribe()
    first = shop.last("customer.created")["data"]["object"]
    at = int(shop.clock.now().timestamp())
    assert shop.deliver(event("customer.deleted", first, at + 60)) is Applied.APPLIED
    shop.clock.advance(timedelta(days=2))
    shop.add_card("5555555555554444")
    second = shop.last("customer.created")["data"]["object"]
    assert second["id"] != first["id"]
    # When the new one is deleted at the provider too
    later = int(shop.clock.now().timestamp()) + 60
    assert shop.deliver(event("customer.deleted", second, later, n=1)) is Applied.APPLIED
    # Then Tenure forgets it and its card, as it did the first
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    assert (customer.provider_customer_id, customer.default_payment_method) == (None, None)
    # And the first one's deletion, delivered again (its marker long expired), changes nothing
    assert shop.deliver(event("customer.deleted", first, at + 60, n=2)) is Applied.UNCHANGED


def test_a_deleted_provider_customer_whose_metadata_names_another_is_still_its_owners(
    shop: Shop,
) -> None:
    # Given Alice and Bob, each with a provider customer of their own
    catalog.create_customer(shop.svc, "bob", "bob@example.com")
    shop.add_card("4242424242424242", customer="bob")
    bobs_before = shop.repo.get_customer("bob")
    shop.add_card("4242424242424242")
    alices = copy.deepcopy(shop.last("customer.created")["data"]["object"])
    # When Alice's is deleted at the provider, its metadata edited to name Bob
    alices["metadata"] = {"tenure_customer_id": "bob"}
    at = int(shop.clock.now().timestamp()) + 60
    assert shop.deliver(event("customer.deleted", alices, at)) is Applied.APPLIED
    # Then Alice loses her provider customer (Tenure's own link says whose it is), Bob nothing
    alice, bob = shop.repo.get_customer("alice"), shop.repo.get_customer("bob")
    assert alice is not None and bob is not None and bobs_before is not None
    assert (alice.provider_customer_id, alice.default_payment_method) == (None, None)
    assert bob.provider_customer_id == bobs_before.provider_customer_id is not None
    assert "provider_customer_deleted" not in bob.metadata


# -- exactly once, concurrently ----------------------------------------------------------------
class Interleaving:
    """The real repository; just before its first commit, `meanwhile` runs to the end."""

    def __init__(self, repo: Any, meanwhile: Any) -> None:
        self.repo, self.meanwhile, self.ran = repo, meanwhile, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)

    def commit(self, change: Commit) -> None:
        if not self.ran:
            self.ran = True
            self.meanwhile()
        self.repo.commit(change)


def delivered_racing_itself(shop: Shop, event: StripeEvent) -> list[Applied]:
    """`event` delivered, and delivered again just before the first delivery commits: what
    each delivery answered, the inner one's first."""
    results: list[Applied] = []
    racing = Services(
        repo=Interleaving(shop.repo, lambda: results.append(shop.deliver(event))),  # type: ignore[arg-type]
        clock=shop.clock,
        gateway=shop.gateway,
    )
    results.append(shop.deliver(event, svc=racing))
    return results


@pytest.mark.parametrize(
    "make",
    ["refund", "dispute", "debit"],
)
def test_a_concurrent_duplicate_is_a_no_op(shop: Shop, make: str) -> None:
    delivery = prepare(shop, make)
    results = delivered_racing_itself(shop, delivery)
    assert sorted(results) == sorted([Applied.APPLIED, Applied.DUPLICATE])
    assert len([k for k in shop.repo.markers if delivery["id"] in k]) == 1


def prepare(shop: Shop, make: str) -> StripeEvent:
    if make == "debit":
        shop.add_card("sandbox_async_succeeds")
        shop.subscribe()
        shop.clock.advance(4 * HOUR)
        shop.gateway.settle_pending()
        return shop.last("payment_intent.succeeded")
    shop.add_card("4242424242424242")
    invoice_id = shop.subscribe()
    if make == "refund":
        shop.refund(invoice_id, 250, "dashboard-1")
        return shop.last("charge.refunded")
    shop.gateway.open_dispute(shop.payment_of(invoice_id), "dispute-1")
    return shop.last("charge.dispute.created")
