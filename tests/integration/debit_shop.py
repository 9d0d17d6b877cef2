"""A shop on DynamoDB Local whose first invoice was paid by a bank debit that settled at the
provider four hours later (its payment_intent.succeeded webhook not delivered yet)."""

from datetime import datetime, timedelta

from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.simulator.webhooks_provider import ProviderSandbox
from tenure_local.stack.local_stack import LocalStack


def a_settled_debit(
    stack: LocalStack, table: str, start: datetime
) -> tuple[Services, str, ProviderSandbox]:
    """The services, the invoice's id and the provider that holds its events."""
    repo = DynamoRepository(stack.dynamodb_client(), table)
    clock = FixedClock(start)
    gateway = ProviderSandbox(clock=clock.now)
    svc = Services(repo=repo, clock=clock, gateway=gateway)
    catalog.create_customer(svc, "alice", "alice@example.com")
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    cards.update_payment_method(svc, "alice", "pm_sandbox_async_succeeds", "sandbox", True)
    outcome = subscriptions.subscribe(svc, "sub-1", "alice", "basic")
    assert outcome.invoice is not None
    clock.advance(timedelta(hours=4))
    gateway.settle_pending()
    return svc, outcome.invoice.id, gateway
