"""The outbound webhooks dispatcher's messages: events from the bus become deliveries tried at
once, a delivery not yet due goes back to the queue, a message handled twice loses nothing."""

import json
from datetime import timedelta

import pytest

from tenure.clock import SystemClock
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services import webhooks_out
from tenure.services.context import Services
from tenure.services.webhooks_out import (
    DeliveryDue,
    EventCommitted,
    SendFailedError,
    UnreadableMessageError,
    parse_message,
)
from tenure.webhooks_out_http import NoWebhookQueue

EVENT = {
    "id": "evt_1",
    "type": "SubscriptionRenewed",
    "occurred_at": "2026-03-01T00:00:00Z",
    "entity_id": "sub-1",
    "customer_id": "alice",
    "data": {},
}


def from_the_bus(detail: dict[str, object]) -> dict[str, object]:
    """An EventBridge event as its rule's SQS target receives it."""
    return {
        "version": "0",
        "id": "6a7e8feb",
        "detail-type": detail["type"],
        "source": "tenure",
        "time": "2026-03-01T00:00:00Z",
        "detail": detail,
    }


class Down:
    def __init__(self) -> None:
        self.calls = 0

    def post(self, url: str, headers: dict[str, str], body: str) -> int:
        self.calls += 1
        raise SendFailedError("connection refused")


@pytest.fixture
def svc() -> Services:
    svc = Services(InMemoryRepository(), FixedClock(SystemClock().now()))
    webhooks_out.register_endpoint(
        svc, "https://app.example.com/", ["*"], local=False, addresses=lambda h: ["93.184.215.14"]
    )
    return svc


def test_an_event_from_the_bus_reads_back_with_its_object_version() -> None:
    message = parse_message(from_the_bus(EVENT | {"object_version": 4}))
    assert message == EventCommitted(EVENT, 4)
    assert parse_message(from_the_bus(EVENT)) == EventCommitted(EVENT, None)


@pytest.mark.parametrize(
    "message",
    [
        [],
        {"kind": "webhook_delivery", "delivery_id": "msg_1"},
        {"kind": "webhook_delivery", "delivery_id": "msg_1", "due_at": "soon"},
        from_the_bus(EVENT) | {"source": "elsewhere"},
        from_the_bus({"type": "InvoicePaid"}),
    ],
)
def test_a_message_neither_an_event_nor_a_delivery_is_unreadable(message: object) -> None:
    with pytest.raises(UnreadableMessageError):
        parse_message(message)


def test_a_failed_first_try_hands_the_delivery_back_for_its_retry(svc: Services) -> None:
    queue, down = NoWebhookQueue(), Down()
    [tried] = webhooks_out.dispatch(svc, down, queue, parse_message(from_the_bus(EVENT)))
    assert down.calls == 1
    assert queue.handed_back == [(tried.id, svc.clock.now() + timedelta(seconds=30))]
    # The same bus event again (at least once): no second delivery, no early try.
    webhooks_out.dispatch(svc, down, queue, parse_message(from_the_bus(EVENT)))
    assert down.calls == 1
    assert queue.handed_back[-1] == (tried.id, svc.clock.now() + timedelta(seconds=30))


def test_a_delivery_message_before_its_time_goes_back_to_the_queue_untried(
    svc: Services,
) -> None:
    queue, down = NoWebhookQueue(), Down()
    [tried] = webhooks_out.dispatch(svc, down, queue, parse_message(from_the_bus(EVENT)))
    due = tried.next_attempt_at
    assert due is not None
    message = json.loads(json.dumps(DeliveryDue(tried.id, due).to_message()))
    assert webhooks_out.dispatch(svc, down, queue, parse_message(message)) == []
    assert down.calls == 1 and queue.handed_back[-1] == (tried.id, due)
    assert isinstance(svc.clock, FixedClock)
    svc.clock.set(due)
    [again] = webhooks_out.dispatch(svc, down, queue, parse_message(message))
    assert down.calls == 2 and again.attempts == 2
    assert queue.handed_back[-1] == (tried.id, due + timedelta(seconds=60))
