"""A container's first subscribe reads its number series' counter with the customer, in one
BatchGetItem (Repository.expect_numbering): POST /v1/subscriptions makes 2 DynamoDB requests
from the first call, and the number is the series' next whoever took the ones before."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from requests_sent import counting

from tenure.domain.numbering import NumberedKind
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.services import catalog, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def a_container(stack: LocalStack, table: str, clock: FixedClock) -> tuple[Services, Any]:
    client = stack.dynamodb_client()
    return Services(repo=DynamoRepository(client, table), clock=clock), client


def number_of(svc: Services, subscription_id: str) -> str | None:
    (invoice,) = svc.repo.list_invoices(subscription_id)
    return invoice.number


def test_a_containers_first_subscribe_reads_the_counter_with_the_customer(
    local_stack: LocalStack, fresh_table: str
) -> None:
    clock = FixedClock(T0)
    other, _ = a_container(local_stack, fresh_table, clock)
    catalog.create_plan(other, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    for name in ("alice", "bob", "carol"):
        catalog.create_customer(other, name, f"{name}@example.com")
    subscriptions.subscribe(other, "sub-alice", "alice", "basic")  # takes INV-2026-000001
    svc, client = a_container(local_stack, fresh_table, clock)
    svc.repo.get_plan("basic")  # plans are kept by a container: read once, not per subscribe
    sent = counting(client)

    subscriptions.subscribe(svc, "sub-bob", "bob", "basic")

    assert sent == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    assert number_of(svc, "sub-bob") == "INV-2026-000002"  # after the other container's
    sent.clear()
    subscriptions.subscribe(svc, "sub-carol", "carol", "basic")  # the counter is known now
    assert sent == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert number_of(svc, "sub-carol") == "INV-2026-000003"


def test_a_series_no_one_numbered_yet_starts_at_one_from_the_read_ahead(
    local_stack: LocalStack, fresh_table: str
) -> None:
    clock = FixedClock(T0 + timedelta(days=365))  # 2027: no number taken that year
    svc, client = a_container(local_stack, fresh_table, clock)
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(svc, "alice", "alice@example.com")
    sent = counting(client)

    subscriptions.subscribe(svc, "sub-alice", "alice", "basic")

    assert sent == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    assert number_of(svc, "sub-alice") == "INV-2027-000001"


def test_a_read_ahead_made_stale_by_another_container_costs_a_retry_not_a_double(
    local_stack: LocalStack, fresh_table: str
) -> None:
    """Another container numbers between the read ahead and the commit: the commit's
    condition on the counter fails, and the number comes from the next series, as when a
    container's own last number is stale (docs/invoices.md)."""
    clock = FixedClock(T0)
    svc, _ = a_container(local_stack, fresh_table, clock)
    other, _ = a_container(local_stack, fresh_table, clock)
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    for name in ("alice", "bob"):
        catalog.create_customer(svc, name, f"{name}@example.com")
    svc.repo.expect_numbering(NumberedKind.INVOICE, T0)
    assert svc.repo.get_customer("alice") is not None  # the counter read with her: none yet
    subscriptions.subscribe(other, "sub-bob", "bob", "basic")  # takes INV-2026-000001

    subscriptions.subscribe(svc, "sub-alice", "alice", "basic")

    numbers = {number_of(svc, "sub-alice"), number_of(svc, "sub-bob")}
    assert len(numbers) == 2 and "INV-2026-000001" in numbers
