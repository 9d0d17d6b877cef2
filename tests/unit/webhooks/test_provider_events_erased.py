"""Card events from the provider about a customer Tenure erased (their record there keeps
living under the pseudonym: a card added on the provider's page, the card network's update
of the card): nothing personal is recorded after the erasure (brand, last four digits), and
the erased customer is never charged by it (docs/privacy.md)."""

from datetime import timedelta

from test_provider_events import HOUR, events_of, renewal_declined_with
from webhooks_harness import Shop, card, event

from tenure.domain.events import EventType
from tenure.domain.invoices import InvoiceStatus
from tenure.payments import stripe_objects
from tenure.services import cancellation, privacy
from tenure.services.provider_events import Applied


def erased_while_owing(shop: Shop) -> str:
    """alice's renewal hard-declined (waiting for a new card), her subscription canceled
    and alice erased: the renewal stays open (docs/privacy.md). Its id."""
    invoice_id = renewal_declined_with(shop, "4000000000009979")  # stolen card: hard decline
    cancellation.request_cancel(shop.svc, "sub-1", reason="unpaid")
    privacy.erase_customer(shop.svc, "alice", actor="dpo", note="asked by alice")
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN
    shop.clock.advance(HOUR)
    return invoice_id


def test_a_card_added_at_the_provider_after_the_erasure_is_not_recorded_nor_charged(
    shop: Shop,
) -> None:
    invoice_id = erased_while_owing(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    methods, attempts = shop.repo.list_payment_methods("alice"), shop.gateway.confirmations
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

    assert shop.deliver(attached) is Applied.UNCHANGED

    assert shop.repo.list_payment_methods("alice") == methods
    assert shop.gateway.confirmations == attempts
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN
    assert [e for e in events_of(shop, EventType.PAYMENT_METHOD_ATTACHED) if "4444" in str(e)] == []


def test_a_card_the_network_updated_after_the_erasure_is_not_recorded_nor_charged(
    shop: Shop,
) -> None:
    invoice_id = erased_while_owing(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method is not None
    attempts = shop.gateway.confirmations
    shop.gateway.auto_update_card(
        customer.default_payment_method, customer.provider_customer_id, "4242424242424242"
    )
    shop.clock.advance(timedelta(minutes=5))

    assert shop.deliver(shop.last("payment_method.automatically_updated")) is Applied.UNCHANGED

    assert shop.gateway.confirmations == attempts
    assert events_of(shop, EventType.PAYMENT_METHOD_UPDATED) == []
    invoice = shop.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.OPEN
