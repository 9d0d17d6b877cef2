"""The sandbox keeps finished payments packed: every answer stays what it was unpacked."""

import copy
import tracemalloc
from datetime import UTC, datetime
from typing import Any

from sandbox_clock import T0, Clock
from sandbox_pay import pay

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.sandbox import SETTLE_AFTER_SECONDS, SandboxGateway


def find(gateway: SandboxGateway, invoice: str, attempt: int = 1) -> Any:
    return gateway.find_payment(
        customer_id="cus_alice",
        invoice_id=invoice,
        attempt=attempt,
        created_from=datetime.fromtimestamp(T0 - 60, UTC),
        created_until=datetime.fromtimestamp(T0 + 3 * SETTLE_AFTER_SECONDS, UTC),
    )


def story(gateway: SandboxGateway, clock: Clock, pack: bool) -> list[Any]:
    """The same calls, with or without packing between them; what each call answered."""
    answers: list[Any] = []

    def step(value: Any) -> None:
        # As it was when answered: the unpacked sandbox goes on changing what it handed out.
        answers.append(copy.deepcopy(value))
        if pack:
            gateway.pack_finished()

    paid = pay(gateway, "4242424242424242", "inv_1").payment_id
    step(paid)
    declined = pay(gateway, "4000000000009995", "inv_2").payment_id
    step(declined)
    debit = pay(gateway, "sandbox_async_succeeds", "inv_3").payment_id
    step(debit)
    step(gateway.retrieve_payment(paid))
    step(gateway.refund(payment_id=paid, amount=Money(300, "USD"), idempotency_key="re:1"))
    step(gateway.charge_for(paid))
    step(find(gateway, "inv_2"))
    step(find(gateway, "inv_2", attempt=2))
    clock.now += SETTLE_AFTER_SECONDS
    step(gateway.settle_pending())
    step(find(gateway, "inv_3"))
    step(gateway.refund(payment_id=paid, amount=None, idempotency_key="re:2"))
    step([gateway.payment_intent(p) for p in (paid, declined, debit)])
    step([gateway.charge_for(p) for p in (paid, declined, debit)])
    step(gateway.payment_authentication(declined))
    step(gateway.confirm_payment(declined, idempotency_key="charge:inv_2:again"))
    step(gateway.events)
    return answers


def test_a_packed_sandbox_answers_every_call_as_an_unpacked_one() -> None:
    plain_clock, packed_clock = Clock(), Clock()
    plain = story(SandboxGateway(clock=plain_clock), plain_clock, pack=False)
    packed = story(SandboxGateway(clock=packed_clock), packed_clock, pack=True)
    assert packed == plain
    assert plain[5]["amount_refunded"] == 300  # the story did refund: the comparison is real


def test_a_payment_waiting_to_settle_stays_unpacked_and_settles_on_time() -> None:
    clock = Clock()
    gateway = SandboxGateway(clock=clock)
    pay(gateway, "4242424242424242", "inv_1")
    debit = pay(gateway, "sandbox_async_fails", "inv_2").payment_id
    assert gateway.pack_finished() == 1
    clock.now += SETTLE_AFTER_SECONDS
    (settled,) = gateway.settle_pending()
    assert (settled.payment_id, settled.outcome) == (debit, ChargeOutcome.DECLINED)
    assert gateway.pack_finished() == 1  # settled, it is finished now
    assert gateway.pack_finished() == 0  # nothing read since: nothing to pack again


def test_a_change_made_to_a_payment_read_again_is_kept_when_it_is_packed_again() -> None:
    gateway = SandboxGateway(clock=Clock())
    paid = pay(gateway, "4242424242424242", "inv_1").payment_id
    gateway.pack_finished()
    charge = gateway.charge_for(paid)
    assert charge is not None
    charge["disputed"] = True  # as the provider's side marks a disputed charge
    assert gateway.pack_finished() == 1
    again = gateway.charge_for(paid)
    assert again is not None and again["disputed"] is True


def test_packed_payments_take_a_fraction_of_the_memory() -> None:
    gateway = SandboxGateway(clock=Clock())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(200):
            pay(gateway, "4242424242424242", f"inv_{n}")
        gateway.events.clear()  # handed over to delivery, as the simulator does
        unpacked = tracemalloc.get_traced_memory()[0] - before
        gateway.pack_finished()
        packed = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert packed < unpacked / 3, (packed, unpacked)


def test_events_about_a_packed_payment_go_on_counting_where_they_were() -> None:
    # The event ids count the events of each type about an object; while a payment is
    # packed its counts are packed with it, and come back when it is read again.
    gateway = SandboxGateway(clock=Clock())
    paid = pay(gateway, "4242424242424242", "inv_1").payment_id
    for n in (1, 2):
        gateway.pack_finished()
        gateway.refund(payment_id=paid, amount=Money(100, "USD"), idempotency_key=f"re:{n}")
    refunded = [e["id"] for e in gateway.events if e["type"] == "charge.refunded"]
    assert len(refunded) == len(set(refunded)) == 2
    assert len({e["id"] for e in gateway.events}) == len(gateway.events)
