"""Lambda containers racing over one DynamoDB Local table, and the customer they race for:
alice, with a card that pays, and the monthly `basic` plan."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cards, catalog
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
WAIT_S = 300  # the longest a racing container may take, on a loaded machine


class Containers:
    """Makes one container's services at a time: its own client and repository (and so its
    own read-ahead), over the shared table, clock and provider."""

    def __init__(self, stack: LocalStack, table: str, gateway: Any = None) -> None:
        self.stack, self.table = stack, table
        self.gateway = gateway if gateway is not None else SandboxGateway()
        self.clock = FixedClock(T0)

    def __call__(self) -> Services:
        repo = DynamoRepository(self.stack.dynamodb_client(), self.table)
        return Services(repo, self.clock, gateway=self.gateway)


def a_reader_and_a_writer(
    stack: LocalStack,
) -> tuple[DynamoRepository, DynamoRepository, list[float]]:
    """Two containers on the stack's table, emptied: a reader whose monotonic clock the test
    sets (`ticks[0]`, in seconds), for what it keeps read, and a writer."""
    stack.reset_table()
    client, table = stack.dynamodb_client(), stack.env["TABLE_NAME"]
    ticks = [0.0]
    reader = DynamoRepository(client, table, monotonic=lambda: ticks[0])
    writer = DynamoRepository(client, table)
    return reader, writer, ticks


def customer_with_card(containers: Containers) -> Services:
    """alice with a default card that pays, and the `basic` plan: the setup container."""
    return _alice_with_card(containers())


def _alice_with_card(svc: Services) -> Services:
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(svc, "alice", email="alice@example.com")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    cards.update_payment_method(svc, "alice", visa, provider="sandbox", make_default=True)
    return svc


def race(containers: Containers, count: int, work: Callable[[Services, int], object]) -> list[Any]:
    """Start `count` containers at once on `work`; what each returned or raised, in no order.
    Each container's services are made before the start, as a warm container has them."""
    outcomes: list[Any] = []
    # Bounded waits: a container that fails before the start breaks the barrier for the
    # others, and a stuck one fails the test, instead of the whole run waiting for ever.
    start = threading.Barrier(count, timeout=WAIT_S)

    def run(n: int) -> None:
        try:
            svc = containers()
            start.wait()
            outcomes.append(work(svc, n))
        except BaseException as exc:  # every failure is a finding the test looks at
            start.abort()
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(thread.is_alive() for thread in threads), (
        f"a container still runs after {WAIT_S} s"
    )
    return outcomes


def failures(outcomes: list[Any]) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]


def alice_on_either_store(request: pytest.FixtureRequest) -> Services:
    """alice with a card that pays and the `basic` plan, on DynamoDB Local (a fresh table)
    or the in-memory store, by the fixture's param ("dynamodb" or "memory")."""
    if request.param == "dynamodb":
        stack: LocalStack = request.getfixturevalue("local_stack")
        return customer_with_card(Containers(stack, request.getfixturevalue("fresh_table")))
    return _alice_with_card(
        Services(InMemoryRepository(), FixedClock(T0), gateway=SandboxGateway())
    )
