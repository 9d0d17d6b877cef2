"""Twenty containers subscribe one customer at once, on DynamoDB Local: every subscription is
charged exactly once and none reports a conflict (its customer's MRR state is a derived record,
raced for by all of them, and retried inside the commit)."""

import threading
from datetime import UTC, datetime

from tenure.domain.charges import ChargeOutcome
from tenure.domain.plans import Plan
from tenure.domain.subscription import SubscriptionStatus
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import catalog, charging, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CONTAINERS = 20


def test_twenty_concurrent_subscribes_of_one_customer_all_succeed_and_charge_once_each(
    local_stack: LocalStack, fresh_table: str
) -> None:
    gateway, clock = SandboxGateway(), FixedClock(T0)

    def container() -> Services:
        # Each Lambda container has its own client and repository (and its own read-ahead).
        repo = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
        return Services(repo, clock, gateway=gateway)

    setup = container()
    catalog.create_plan(setup, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(setup, "alice", email="alice@example.com")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    charging.update_payment_method(setup, "alice", visa, provider="sandbox", make_default=True)

    errors: list[BaseException] = []
    start = threading.Barrier(CONTAINERS)

    def subscribe(n: int) -> None:
        svc = container()
        start.wait()
        try:
            subscriptions.subscribe(svc, f"sub-{n:02d}", "alice", "basic")
        except BaseException as exc:  # every failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(CONTAINERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    subs = setup.repo.list_subscriptions("alice")
    assert len(subs) == CONTAINERS
    assert {s.status for s in subs} == {SubscriptionStatus.ACTIVE}
    for sub in subs:
        (invoice,) = setup.repo.list_invoices(sub.id)
        charges = setup.repo.list_charges(invoice.id)
        assert [c.outcome for c in charges] == [ChargeOutcome.SUCCEEDED]
    assert gateway.confirmations == CONTAINERS
    ledger = setup.repo.ledger_between(T0, T0.replace(hour=10))
    assert sorted(e.customer.after for e in ledger if e.customer) == [
        1000 * n for n in range(1, CONTAINERS + 1)
    ]
