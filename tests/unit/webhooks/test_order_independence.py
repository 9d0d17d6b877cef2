"""Any order, any number of deliveries: a subscription's provider events reach one state."""

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhooks_harness import Shop, StripeEvent, new_shop

from tenure.services.due import work_due
from tenure.services.provider_events import Applied

HOUR = timedelta(hours=1)


def debit_then_refund_and_dispute() -> tuple[Shop, list[StripeEvent]]:
    """Alice pays by bank debit (pending for 4 h); the provider then reports it settled, a
    partial refund made in its dashboard and a dispute: four events, not yet delivered."""
    shop = new_shop()
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    shop.clock.advance(HOUR)
    shop.refund(invoice_id, 300, "dashboard-1")
    shop.clock.advance(HOUR)
    shop.gateway.open_dispute(shop.payment_of(invoice_id), "dispute-1")
    kinds = (
        "payment_intent.processing",
        "payment_intent.succeeded",
        "charge.refunded",
        "charge.dispute.created",
    )
    return shop, [shop.last(kind) for kind in kinds]


def a_day_of_everything() -> tuple[Shop, list[StripeEvent]]:
    """More of the same day: two refunds (one fails later), a dispute that is lost."""
    shop = new_shop()
    shop.add_card("sandbox_async_succeeds")
    invoice_id = shop.subscribe()
    shop.clock.advance(4 * HOUR)
    shop.gateway.settle_pending()
    for n, amount in enumerate((200, 300)):
        shop.clock.advance(HOUR)
        shop.refund(invoice_id, amount, f"dashboard-{n}")
    first_refund = shop.events("refund.created")[0]
    failed = {
        **first_refund,
        "id": "evt_refund_failed",
        "type": "refund.updated",
        "created": first_refund["created"] + 7200,
        "data": {"object": {**first_refund["data"]["object"], "status": "failed"}},
    }
    shop.clock.advance(HOUR)
    dispute_id = shop.gateway.open_dispute(shop.payment_of(invoice_id), "dispute-1")
    shop.clock.advance(HOUR)
    shop.gateway.close_dispute(dispute_id, "lost")
    handled = {
        "payment_intent.processing",
        "payment_intent.succeeded",
        "refund.created",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
    }
    events = [e for e in shop.events() if e["type"] in handled] + [failed]
    return shop, events


def final_state(shop: Shop, events: list[StripeEvent]) -> dict[str, object]:
    fork = shop.fork()
    for e in events:
        assert fork.deliver(e) in (Applied.APPLIED, Applied.UNCHANGED, Applied.DUPLICATE)
    return fork.state()


def test_the_in_order_result_is_the_story_told() -> None:
    shop, events = debit_then_refund_and_dispute()
    state = final_state(shop, events)
    invoice = state["invoices"][0]  # type: ignore[index]
    assert (invoice["status"], invoice["amount_refunded"], invoice["disputed"]) == (
        "paid",
        300,
        True,
    )
    assert state["metadata"] == {"at_risk": "dispute"}


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_every_permutation_of_four_events_reaches_the_same_state(order: tuple[int, ...]) -> None:
    shop, events = debit_then_refund_and_dispute()
    expected = final_state(shop, events)
    assert final_state(shop, [events[i] for i in order]) == expected


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_interleavings_with_duplicates_converge(data: st.DataObject) -> None:
    shop, events = a_day_of_everything()
    expected = final_state(shop, events)
    order = data.draw(st.permutations(range(len(events))))
    repeats = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=6))
    positions = data.draw(st.lists(st.integers(0, len(events)), min_size=len(repeats)))
    delivered = [events[i] for i in order]
    for repeat, at in zip(repeats, positions, strict=False):
        delivered.insert(at, events[repeat])
    assert final_state(shop, delivered) == expected


def test_the_lost_dispute_and_the_failed_refund_are_in_that_state() -> None:
    shop, events = a_day_of_everything()
    invoice = final_state(shop, events)["invoices"][0]  # type: ignore[index]
    assert invoice["status"] == "uncollectible"
    assert (invoice["amount_refunded"], invoice["dispute_status"]) == (300, "lost")


def closed_state(shop: Shop, events: list[StripeEvent]) -> dict[str, object]:
    """The state after `events`, then the next day's close worked from the due index."""
    fork = shop.fork()
    for e in events:
        fork.deliver(e)
    fork.clock.advance(timedelta(days=1))
    for item in fork.repo.due(fork.clock.now()):
        work_due(fork.svc, item)
    return fork.state()


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_the_close_credits_a_dashboard_refund_once_whatever_the_order(
    order: tuple[int, ...],
) -> None:
    shop, events = debit_then_refund_and_dispute()
    expected = closed_state(shop, events)
    assert closed_state(shop, [events[i] for i in order]) == expected
    [note] = expected["credit_notes"]  # type: ignore[misc]
    assert (note["amount"], note["reason"], note["number"]) == (300, "refund", "CN-2026-000001")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_close_credits_the_same_after_any_interleaving_with_duplicates(
    data: st.DataObject,
) -> None:
    shop, events = a_day_of_everything()
    expected = closed_state(shop, events)
    order = data.draw(st.permutations(range(len(events))))
    repeats = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=4))
    delivered = [events[i] for i in order] + [events[i] for i in repeats]
    assert closed_state(shop, delivered) == expected
    # One note, for the refund that stood at the close: the other failed before it.
    [note] = expected["credit_notes"]  # type: ignore[misc]
    assert note["amount"] == 300
