"""The sandbox forgets an idempotency key 24 hours after its first request, as Stripe prunes
its keys: within them the same request gets the first answer; after them it is a new request
(https://docs.stripe.com/api/idempotent_requests)."""

import pytest
from sandbox_clock import T0, Clock
from sandbox_pay import pay

from tenure.domain.money import Money
from tenure.payments.gateway import IdempotencyConflictError
from tenure.payments.sandbox import KEY_KEPT_SECONDS, SandboxGateway


def test_a_request_replayed_just_within_24_hours_gets_the_first_answer() -> None:
    clock = Clock()
    gateway = SandboxGateway(clock=clock)
    first = pay(gateway)
    clock.now += KEY_KEPT_SECONDS - 1
    assert pay(gateway) == first
    assert gateway.confirmations == 1
    assert gateway.calls == {first.payment_id: 2}


def test_a_request_replayed_after_24_hours_makes_and_charges_a_new_payment() -> None:
    clock = Clock()
    gateway = SandboxGateway(clock=clock)
    first = pay(gateway)
    clock.now += KEY_KEPT_SECONDS
    again = pay(gateway)
    assert again.payment_id != first.payment_id  # what Stripe does: the money moves twice
    assert gateway.confirmations == 2
    assert gateway.payment_intent(first.payment_id)["status"] == "succeeded"
    assert gateway.payment_intent(again.payment_id)["created"] == T0 + KEY_KEPT_SECONDS
    assert gateway.calls == {first.payment_id: 1, again.payment_id: 1}
    clock.now += 60
    assert pay(gateway) == again  # the new request's key is kept in its turn
    clock.now += KEY_KEPT_SECONDS
    third = pay(gateway)
    assert len({first.payment_id, again.payment_id, third.payment_id}) == 3


def test_a_forgotten_key_may_be_used_with_other_parameters() -> None:
    clock = Clock()
    gateway = SandboxGateway(clock=clock)
    pay(gateway)
    with pytest.raises(IdempotencyConflictError):
        pay(gateway, "5555555555554444")
    clock.now += KEY_KEPT_SECONDS
    other = pay(gateway, "5555555555554444")
    assert gateway.payment_intent(other.payment_id)["payment_method"] == "pm_card_mastercard"
    assert gateway.confirmations == 2


def test_a_refund_replayed_after_24_hours_is_a_new_refund() -> None:
    clock = Clock()
    gateway = SandboxGateway(clock=clock)
    paid = pay(gateway).payment_id
    part = Money(300, "USD")
    first = gateway.refund(payment_id=paid, amount=part, idempotency_key="re:1")
    assert gateway.refund(payment_id=paid, amount=part, idempotency_key="re:1") == first
    clock.now += KEY_KEPT_SECONDS
    second = gateway.refund(payment_id=paid, amount=part, idempotency_key="re:1")
    assert second != first
    charge = gateway.charge_for(paid)
    assert charge is not None and charge["amount_refunded"] == 600


def test_a_customer_created_again_after_24_hours_is_a_new_customer() -> None:
    clock = Clock()
    gateway = SandboxGateway(clock=clock)
    made = [
        gateway.create_customer(
            customer_id="alice", email="a@example.com", name=None, idempotency_key="cus:alice"
        )
        for clock.now in (T0, T0 + 60, T0 + KEY_KEPT_SECONDS + 60)
    ]
    assert made[0] == made[1] != made[2]


def test_without_a_clock_keys_are_never_forgotten() -> None:
    gateway = SandboxGateway()
    first = pay(gateway)
    assert pay(gateway) == first and gateway.confirmations == 1
