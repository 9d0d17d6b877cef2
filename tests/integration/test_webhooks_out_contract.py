"""Outbound webhook endpoints and deliveries on both repositories: the fake and DynamoDB Local."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.audit import AuditAction, AuditEntry, endpoint_entry
from tenure.domain.errors import ConcurrencyError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.webhooks_out import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenure.fakes import FixedClock
from tenure.ports import Commit, Repository
from tenure.services import catalog
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def an_endpoint(endpoint_id: str = "we_1") -> WebhookEndpoint:
    return WebhookEndpoint(
        id=endpoint_id,
        url="https://app.example.com/hooks",
        events=("InvoicePaid", "PaymentFailed"),
        secret="whsec_c2VjcmV0LWJ5dGVz",
        created_at=T0,
    )


def a_delivery(n: int, endpoint_id: str = "we_1") -> WebhookDelivery:
    at = T0 + timedelta(minutes=n)
    return WebhookDelivery(
        id=f"msg_{endpoint_id}_{n}",
        endpoint_id=endpoint_id,
        event_id=f"evt_{n}",
        event_type="InvoicePaid",
        payload='{"type":"InvoicePaid"}',
        created_at=at,
        window_start=at,
        next_attempt_at=at,
    )


def test_an_endpoint_reads_back_whole_and_its_id_is_never_taken_twice(repo: Repository) -> None:
    repo.add_webhook_endpoint(an_endpoint())
    assert repo.get_webhook_endpoint("we_1") == an_endpoint()
    with pytest.raises(ConcurrencyError):
        repo.add_webhook_endpoint(replace(an_endpoint(), url="https://other.example.com/"))
    assert repo.get_webhook_endpoint("we_1") == an_endpoint()
    assert repo.get_webhook_endpoint("we_2") is None


def test_endpoints_are_listed_and_deleted_once(repo: Repository) -> None:
    repo.add_webhook_endpoint(an_endpoint("we_2"))
    repo.add_webhook_endpoint(an_endpoint("we_1"))
    assert [e.id for e in repo.list_webhook_endpoints()] == ["we_1", "we_2"]
    assert repo.delete_webhook_endpoint("we_1") is True
    assert repo.delete_webhook_endpoint("we_1") is False
    assert [e.id for e in repo.list_webhook_endpoints()] == ["we_2"]


def test_failing_since_is_the_first_failure_and_a_success_clears_it(repo: Repository) -> None:
    repo.add_webhook_endpoint(an_endpoint())
    repo.note_webhook_failure("we_1", T0)
    repo.note_webhook_failure("we_1", T0 + timedelta(hours=1))
    found = repo.get_webhook_endpoint("we_1")
    assert found is not None and found.failing_since == T0
    repo.note_webhook_success("we_1")
    found = repo.get_webhook_endpoint("we_1")
    assert found is not None and found.failing_since is None


def test_an_endpoint_is_disabled_only_while_failing_since_the_moment_named(
    repo: Repository,
) -> None:
    repo.add_webhook_endpoint(an_endpoint())
    assert repo.disable_failing_webhook_endpoint("we_1", T0, "why") is False  # not failing
    repo.note_webhook_failure("we_1", T0 + timedelta(hours=1))
    assert repo.disable_failing_webhook_endpoint("we_1", T0, "why") is False  # a success since
    assert repo.disable_failing_webhook_endpoint("we_1", T0 + timedelta(hours=2), "why") is True
    found = repo.get_webhook_endpoint("we_1")
    assert found is not None and found.status is EndpointStatus.DISABLED
    assert found.disabled_reason == "why"
    assert repo.enable_webhook_endpoint("we_1") is True
    found = repo.get_webhook_endpoint("we_1")
    assert found is not None and found.status is EndpointStatus.ENABLED
    assert found.failing_since is None and found.disabled_reason is None
    assert repo.enable_webhook_endpoint("we_9") is False


def test_a_secret_is_rotated_only_over_the_secret_read_and_its_predecessor_reads_back(
    repo: Repository,
) -> None:
    repo.add_webhook_endpoint(an_endpoint())
    first = repo.get_webhook_endpoint("we_1")
    assert first is not None and first.previous_secret is None
    until = T0 + timedelta(hours=24)
    rotated = replace(
        first, secret="whsec_bmV3", previous_secret=first.secret, previous_secret_until=until
    )
    assert repo.rotate_webhook_secret("we_1", first.secret, rotated) is True
    assert repo.get_webhook_endpoint("we_1") == rotated
    # A rotation from the secret read before the first: refused, nothing written
    late = replace(first, secret="whsec_bGF0ZQ==", previous_secret=None, previous_secret_until=None)
    assert repo.rotate_webhook_secret("we_1", first.secret, late) is False
    assert repo.get_webhook_endpoint("we_1") == rotated
    # A rotation that ends the predecessor at once removes it
    assert repo.rotate_webhook_secret("we_1", rotated.secret, late) is True
    assert repo.get_webhook_endpoint("we_1") == late
    assert repo.rotate_webhook_secret("we_9", "whsec_eA==", late) is False


def test_a_delivery_is_written_once_and_saved_only_from_the_version_read(
    repo: Repository,
) -> None:
    assert repo.add_webhook_delivery(a_delivery(1)) is True
    assert repo.add_webhook_delivery(a_delivery(1)) is False
    stored = repo.get_webhook_delivery("msg_we_1_1")
    assert stored is not None and stored.version == 1
    assert replace(stored, version=0) == a_delivery(1)
    tried = stored.failed(T0 + timedelta(minutes=1), 500, "answered 500")
    saved = repo.save_webhook_delivery(tried, T0)
    assert saved.version == 2 and repo.get_webhook_delivery("msg_we_1_1") == saved
    with pytest.raises(ConcurrencyError):
        repo.save_webhook_delivery(stored.succeeded(T0, 200), T0)
    after = repo.get_webhook_delivery("msg_we_1_1")
    assert after is not None and after.status is DeliveryStatus.PENDING
    assert after.last_status == 500 and after.failures == 1


def test_deliveries_are_listed_per_endpoint_newest_first(repo: Repository) -> None:
    for n in (1, 2, 3):
        repo.add_webhook_delivery(a_delivery(n))
    repo.add_webhook_delivery(a_delivery(4, "we_2"))
    assert [d.event_id for d in repo.list_webhook_deliveries("we_1", 2)] == ["evt_3", "evt_2"]
    assert [d.event_id for d in repo.list_webhook_deliveries("we_2", 10)] == ["evt_4"]
    assert repo.list_webhook_deliveries("we_3", 10) == []


# -- the object's version beside each event (DynamoDB only: the stream's side) ---------------
def test_each_event_is_committed_with_the_version_its_object_was_written_at(
    local_stack: LocalStack,
) -> None:
    local_stack.reset_table()
    repo = DynamoRepository(local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"])
    svc = Services(repo, FixedClock(T0))
    customer = catalog.create_customer(svc, "alice", "alice@example.com")
    customer.timezone = "Europe/Berlin"
    moved = DomainEvent(EventType.CUSTOMER_MARKED_AT_RISK, "alice", "alice", T0, 1, {})
    svc.commit(Commit(customers=[customer], events=[moved]))
    unversioned = DomainEvent(EventType.PROGRAMS_UPDATED, "programs", None, T0, 0, {})
    svc.commit(Commit(events=[unversioned]))
    found = repo.committed_events_between(T0, T0 + timedelta(seconds=1))
    assert sorted((c.type, c.version) for c in found) == [
        ("CustomerCreated", 1),
        ("CustomerMarkedAtRisk", 2),
        ("ProgramsUpdated", None),
    ]
    # The event's own form, as the metrics and the simulator read it, is unchanged.
    assert all("object_version" not in e for e in repo.events_between(T0, T0 + timedelta(1)))


def _entry(action: AuditAction, entity: str, minute: int) -> AuditEntry:
    return endpoint_entry(
        at=T0 + timedelta(minutes=minute), actor="ops-lee", action=action, entity=entity, after={}
    )


def test_an_operators_endpoint_changes_carry_their_entries_and_refusals_none(
    repo: Repository,
) -> None:
    repo.add_webhook_endpoint(an_endpoint(), _entry(AuditAction.ENDPOINT_REGISTERED, "we_1", 0))
    with pytest.raises(ConcurrencyError):  # the id is taken: no second entry either
        repo.add_webhook_endpoint(an_endpoint(), _entry(AuditAction.ENDPOINT_REGISTERED, "we_1", 1))
    assert repo.add_webhook_delivery(a_delivery(1))
    delivery = repo.get_webhook_delivery("msg_we_1_1")
    assert delivery is not None
    repo.save_webhook_delivery(delivery, T0, _entry(AuditAction.DELIVERY_REPLAYED, "msg_we_1_1", 2))
    with pytest.raises(ConcurrencyError):  # a stale version
        repo.save_webhook_delivery(
            delivery, T0, _entry(AuditAction.DELIVERY_REPLAYED, "msg_we_1_1", 3)
        )
    assert repo.enable_webhook_endpoint("we_1", _entry(AuditAction.ENDPOINT_ENABLED, "we_1", 4))
    assert repo.delete_webhook_endpoint("we_1", _entry(AuditAction.ENDPOINT_DELETED, "we_1", 5))
    assert not repo.delete_webhook_endpoint("we_1", _entry(AuditAction.ENDPOINT_DELETED, "we_1", 6))
    assert not repo.enable_webhook_endpoint("we_1", _entry(AuditAction.ENDPOINT_ENABLED, "we_1", 7))

    on_endpoint, _ = repo.list_audit(entity="we_1", limit=10)
    assert [(str(e.action), e.at.minute) for e in on_endpoint] == [
        ("endpoint_registered", 0),
        ("endpoint_enabled", 4),
        ("endpoint_deleted", 5),
    ]
    by_actor, _ = repo.list_audit(actor="ops-lee", limit=10)
    assert [e.at.minute for e in by_actor] == [0, 2, 4, 5]
    assert repo.get_webhook_endpoint("we_1") is None
