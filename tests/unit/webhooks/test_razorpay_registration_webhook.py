"""Locally, the Razorpay sandbox's own webhook of a registration paid in its checkout, carried
by the simulator's courier to the real handler, records the rupee the page never heard of;
the courier's duplicates change nothing more."""

from datetime import timedelta

from webhooks_harness import Endpoint, Shop

from tenure.domain.due import DueKind
from tenure.payments.gateway import CheckoutAnswer
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.services import cards, catalog, new_mandate
from tenure_local.simulator.webhooks_provider import RazorpayCourier


def test_the_sandboxs_registration_webhook_through_the_handler_records_the_rupee_once(
    endpoint: Endpoint, shop: Shop
) -> None:
    rzp = RazorpaySandbox(clock=shop.clock.now)
    shop.svc.gateways = {"razorpay": rzp.gateway()}
    catalog.create_customer(shop.svc, "ravi", "ravi@example.com", provider="razorpay")
    customer = shop.repo.get_customer("ravi")
    assert customer is not None
    cards.ensure_provider_customer(shop.svc, customer)
    offer = new_mandate.begin_new_mandate(shop.svc, "ravi", 50, shop.clock.now(), "upi")
    answer = rzp.gateway().checkout_in_sandbox(offer.checkout, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)  # the browser closed before posting it
    answers: list[int] = []

    def send(provider: str, body: bytes, headers: dict[str, str]) -> int:
        status, reply = endpoint.post(body, headers, provider=provider)
        answers.append(status)
        assert reply["result"] in ("applied", "duplicate"), reply
        return status

    until = shop.clock.now() + timedelta(hours=7)
    courier = RazorpayCourier(rzp, "rzp_test_secret", send, until, chaos=True, seed=3)
    courier.collect(shop.clock.now())
    courier.deliver_due(until)

    assert len(answers) > 1 and set(answers) == {200}  # seed 3 sends a duplicate
    found = shop.repo.get_customer("ravi")
    assert found is not None
    assert [r.payment_id for r in found.registrations] == [answer.payment_id]
    assert [d.kind for d in shop.repo.due(shop.clock.now()) if d.entity_id == "ravi"] == [
        DueKind.REGISTRATION_REFUND
    ]
