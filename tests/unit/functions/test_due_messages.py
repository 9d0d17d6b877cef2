"""Due work on the wire: the renewal queue's messages read back as the typed work the
scheduler queued, one dispatcher works them, and the table's stream gives the events
function typed records. The formats are the ones deployed queues and tables hold."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tenure.domain.due import DueKind, InvalidChargeRefError
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.ports import DueItem, DueMessage
from tenure.services.context import Services
from tenure.services.due import work_due
from tenure.services.due_messages import InvalidDueMessageError, due_message_body, parse_due_message
from tenure.services.outbox import bus_entries
from tenure.store.streams import CommittedEvent, committed_events

EVENTS = Path(__file__).resolve().parents[3] / "events"
MAR_1 = datetime(2026, 3, 1, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")


def a_subscription() -> Subscription:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, MAR_1)
    sub.activate(BASIC, MAR_1)
    sub.pull_events()
    return sub


# -- the renewal queue ----------------------------------------------------------------------
def test_a_queued_renewal_reads_back_as_the_work_that_was_queued() -> None:
    # Given a due renewal carrying its subscription
    sub = a_subscription()
    item = DueItem("sub-1", MAR_1, DueKind.RENEWAL, "alice", sub)
    # When it is queued and read back
    body = due_message_body(item)
    message = parse_due_message(body)
    # Then the message holds the fields deployed chargers read, in their order
    assert list(json.loads(body)) == ["id", "due_at", "kind", "customer", "subscription"]
    assert json.loads(body)["kind"] == "renewal"
    # ... and reads back as the same work, with the same subscription
    assert message == DueMessage(DueKind.RENEWAL, "sub-1", "alice")
    assert message.subscription == sub
    assert not message.snapshot_unreadable


def test_a_charge_attempts_work_is_queued_without_customer_or_subscription_when_it_has_none() -> (
    None
):
    item = DueItem("in-1:2", MAR_1, DueKind.RECONCILE)
    body = due_message_body(item)
    assert json.loads(body) == {
        "id": "in-1:2",
        "due_at": "2026-03-01T00:00:00Z",
        "kind": "reconcile",
    }
    assert parse_due_message(body) == DueMessage(DueKind.RECONCILE, "in-1:2")


def test_a_message_queued_before_ids_were_named_id_still_reads() -> None:
    # Given the sample message, which names its subscription `subscription_id`
    sample = json.loads((EVENTS / "renewals" / "sqs-charge.json").read_text())
    # When the charger reads it
    message = parse_due_message(sample["Records"][0]["body"])
    # Then it is that subscription's renewal
    assert message == DueMessage(DueKind.RENEWAL, "sub-example")


@pytest.mark.parametrize(
    "carried",
    [
        pytest.param("not an object", id="not an object"),
        pytest.param({"id": "sub-1"}, id="missing fields"),
        pytest.param("other", id="another subscription"),
    ],
)
def test_an_unreadable_carried_subscription_is_dropped_and_said_so(carried: Any) -> None:
    body = json.loads(
        due_message_body(DueItem("sub-1", MAR_1, DueKind.RENEWAL, "alice", a_subscription()))
    )
    if carried == "other":
        carried = body["subscription"] | {"id": "sub-2"}
    body["subscription"] = carried
    message = parse_due_message(json.dumps(body))
    assert (message.kind, message.entity_id, message.subscription) == (
        DueKind.RENEWAL,
        "sub-1",
        None,
    )
    assert message.snapshot_unreadable


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="not JSON"),
        pytest.param("[1, 2]", id="not an object"),
        pytest.param('{"id": "sub-1"}', id="no kind"),
        pytest.param('{"kind": "renewal"}', id="no id"),
        pytest.param('{"kind": "renewal", "id": 7}', id="id not text"),
        pytest.param('{"kind": "refund_everything", "id": "sub-1"}', id="unknown kind"),
        pytest.param('{"kind": ["renewal"], "id": "sub-1"}', id="kind not text"),
    ],
)
def test_a_message_that_is_not_due_work_is_refused_clearly(body: str) -> None:
    with pytest.raises(InvalidDueMessageError):
        parse_due_message(body)


# -- the dispatcher -------------------------------------------------------------------------
def test_a_reconcile_whose_id_names_no_attempt_is_refused_and_changes_nothing() -> None:
    # Given a store with nothing due
    repo = InMemoryRepository()
    svc = Services(repo=repo, clock=FixedClock(MAR_1))
    before = copy.deepcopy(repo.__dict__)
    # When a reconcile names no charge attempt
    # Then it is refused with a clear error, and nothing was written
    with pytest.raises(InvalidChargeRefError, match="not a charge reference"):
        work_due(svc, DueMessage(DueKind.RECONCILE, "in-1"))
    assert repo.__dict__ == before
    assert svc.commits == 0


@pytest.mark.parametrize("kind", list(DueKind))
def test_work_of_any_kind_that_is_gone_is_already_done(kind: DueKind) -> None:
    # Given a store where the work's subject no longer exists
    svc = Services(repo=InMemoryRepository(), clock=FixedClock(MAR_1))
    entity = "in-gone:1" if kind is DueKind.RECONCILE else "gone"
    # When the work is delivered
    # Then there is nothing to do, and nothing is written
    assert work_due(svc, DueMessage(kind, entity)) is None
    assert svc.commits == 0


# -- the table's stream ---------------------------------------------------------------------
def test_the_stream_gives_the_events_committed_and_nothing_else() -> None:
    # Given the sample stream batch, with an item that is not an event and a removal added
    batch = json.loads((EVENTS / "events" / "stream-insert.json").read_text())
    [inserted] = batch["Records"]
    other = copy.deepcopy(inserted)
    other["dynamodb"]["NewImage"]["entity"] = {"S": "subscription"}
    removed = copy.deepcopy(inserted)
    del removed["dynamodb"]["NewImage"]
    batch["Records"] = [other, inserted, removed]
    # When the events function reads it
    found = committed_events(batch)
    # Then only the committed event, as its public form
    assert found == [
        CommittedEvent(
            "SubscriptionRenewed",
            {
                "id": "evt_example",
                "type": "SubscriptionRenewed",
                "occurred_at": "2026-03-01T00:00:00Z",
                "entity_id": "sub-alice",
                "customer_id": "alice",
                "data": {"period_start": "2026-03-01T00:00:00Z"},
            },
        )
    ]


def test_each_committed_event_becomes_one_bus_entry_with_its_public_form_as_detail() -> None:
    # Given the sample stream batch with a record that is not an event before its event
    batch = json.loads((EVENTS / "events" / "stream-insert.json").read_text())
    [inserted] = batch["Records"]
    other = copy.deepcopy(inserted)
    other["dynamodb"]["NewImage"]["entity"] = {"S": "customer"}
    batch["Records"] = [other, inserted]
    # When the outbox turns it into entries for the bus
    [entry] = bus_entries(batch, "tenure-bus")
    # Then the one entry names its source, type and bus, and carries the event as JSON
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "tenure",
        "SubscriptionRenewed",
        "tenure-bus",
    )
    assert json.loads(entry["Detail"])["entity_id"] == "sub-alice"


def test_an_event_committed_with_its_objects_version_carries_it_to_the_bus() -> None:
    # Given the sample stream record, its event stamped with the version of its subscription
    batch = json.loads((EVENTS / "events" / "stream-insert.json").read_text())
    batch["Records"][0]["dynamodb"]["NewImage"]["object_version"] = {"N": "7"}
    # When it is read and put on the bus
    [committed] = committed_events(batch)
    [entry] = bus_entries(batch, "tenure-bus")
    # Then the version travels beside the event, which is otherwise unchanged
    assert committed.version == 7 and "object_version" not in committed.body
    detail = json.loads(entry["Detail"])
    assert detail == committed.body | {"object_version": 7}
