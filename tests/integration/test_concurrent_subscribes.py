"""Twenty containers subscribe one customer at once, on DynamoDB Local: every subscription is
charged exactly once and none reports a conflict (its customer's MRR state is a derived record,
raced for by all of them, and retried inside the commit)."""

from containers import T0, Containers, customer_with_card, failures, race

from tenure.domain.charges import ChargeOutcome
from tenure.domain.subscription import SubscriptionStatus
from tenure.services import subscriptions
from tenure.services.context import Services
from tenure_local.stack.local_stack import LocalStack

CONTAINERS = 20


def test_twenty_concurrent_subscribes_of_one_customer_all_succeed_and_charge_once_each(
    local_stack: LocalStack, fresh_table: str
) -> None:
    containers = Containers(local_stack, fresh_table)
    setup = customer_with_card(containers)

    def subscribe(svc: Services, n: int) -> object:
        return subscriptions.subscribe(svc, f"sub-{n:02d}", "alice", "basic")

    errors = failures(race(containers, CONTAINERS, subscribe))

    assert errors == []
    subs = setup.repo.list_subscriptions("alice")
    assert len(subs) == CONTAINERS
    assert {s.status for s in subs} == {SubscriptionStatus.ACTIVE}
    for sub in subs:
        (invoice,) = setup.repo.list_invoices(sub.id)
        charges = setup.repo.list_charges(invoice.id)
        assert [c.outcome for c in charges] == [ChargeOutcome.SUCCEEDED]
    assert containers.gateway.confirmations == CONTAINERS
    ledger = setup.repo.ledger_between(T0, T0.replace(hour=10))
    assert sorted(e.customer.after for e in ledger if e.customer) == [
        1000 * n for n in range(1, CONTAINERS + 1)
    ]
