"""A refund racing a renewal of the same subscription on DynamoDB Local, two threads: the
renewal commits between the refund's reads and its commit (both write the subscription: the
refund takes back the credit the invoice's unused time left on it, the renewal opens the new
period and uses that credit). The refund is recorded in one delivery (or one request), the
credit it takes back counted from what the renewal left."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from containers import T0, Containers, customer_with_card

from tenure.domain.money import Money
from tenure.domain.plans import Plan
from tenure.domain.refunds import Refund
from tenure.payments import stripe_objects
from tenure.services import catalog, refunds, subscriptions
from tenure.services.context import Services
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.store.dynamodb import DynamoRepository
from tenure.webhooks import stripe_events
from tenure_local.simulator.webhooks_provider import ProviderSandbox
from tenure_local.stack.local_stack import LocalStack

UNUSED = round(1000 * 28 / 31)  # basic's unused 28 days of 31, three days in
CREDIT = UNUSED - round(100 * 28 / 31)  # what moving to small leaves as credit


class HeldBeforeCommit:
    """A container's repository whose first commit waits until `go`, having said it got
    there (`ready`): another container commits in between."""

    def __init__(self, repo: DynamoRepository, ready: threading.Event, go: threading.Event):
        self._repo, self._ready, self._go = repo, ready, go
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        self.commits += 1
        if not self._ready.is_set():
            self._ready.set()
            assert self._go.wait(30)
        return self._repo.commit(*args, **kwargs)


def downgraded(containers: Containers) -> tuple[Services, str, str]:
    """sub-1 paid basic (1000) and moved to small three days in, leaving CREDIT kept against
    its first invoice; the clock at its renewal. The setup container, the invoice, and the
    payment it was paid by."""
    setup = customer_with_card(containers)
    catalog.create_plan(setup, Plan(id="small", amount=100, currency="USD", interval="month"))
    invoice = subscriptions.subscribe(setup, "sub-1", "alice", "basic").invoice
    assert invoice is not None
    containers.clock.set(T0 + timedelta(days=3))
    subscriptions.change_plan(setup, "sub-1", "small")
    [charge] = [c for c in setup.repo.list_charges(invoice.id) if c.payment_id]
    containers.clock.set(T0 + timedelta(days=31))
    return setup, invoice.id, charge.payment_id or ""


def raced_by_the_renewal(containers: Containers, refund: Callable[[Services], Any]) -> Any:
    """Run `refund` in its own thread; the renewal commits while it waits to commit."""
    ready, go = threading.Event(), threading.Event()
    answers: list[Any] = []
    held: list[HeldBeforeCommit] = []

    def run() -> None:
        svc = containers()
        repo = HeldBeforeCommit(svc.repo, ready, go)  # type: ignore[arg-type]
        held.append(repo)
        try:
            answers.append(refund(Services(repo, svc.clock, gateway=svc.gateway)))  # type: ignore[arg-type]
        except Exception as exc:  # the finding the test looks at
            answers.append(exc)
        finally:
            ready.set()

    worker = threading.Thread(target=run)
    worker.start()
    assert ready.wait(30)
    renewed = subscriptions.process_due(containers(), "sub-1")
    go.set()
    worker.join(300)
    assert not worker.is_alive(), "the refund never finished"
    assert renewed is not None and renewed.invoice is not None
    assert held[0].commits >= 2  # the renewal did come between: the refund committed again
    [answer] = answers
    return answer


def stored(stack: LocalStack, table: str) -> DynamoRepository:
    return DynamoRepository(stack.dynamodb_client(), table)


def test_a_provider_refund_racing_a_renewal_is_applied_in_one_delivery(
    local_stack: LocalStack, fresh_table: str
) -> None:
    sandbox = ProviderSandbox()
    containers = Containers(local_stack, fresh_table, sandbox)
    _, invoice_id, payment_id = downgraded(containers)
    sandbox.dashboard_refund(payment_id, Money(300, "USD"), "dashboard-1")
    reported = [e for e in sandbox.events if e["type"] == "charge.refunded"][-1]
    event = stripe_events.parse(stripe_objects.event_payload(reported))

    answer = raced_by_the_renewal(
        containers, lambda svc: apply_provider_event(svc, event, link_provider="sandbox")
    )

    assert answer is Applied.APPLIED
    repo = stored(local_stack, fresh_table)
    invoice, sub = repo.get_invoice(invoice_id), repo.get_subscription("sub-1")
    assert invoice is not None and invoice.amount_refunded == 300
    assert sub is not None and sub.credit == CREDIT - 100 - 300  # the renewal used 100


def test_a_refund_through_the_api_racing_a_renewal_is_recorded_in_one_request(
    local_stack: LocalStack, fresh_table: str
) -> None:
    containers = Containers(local_stack, fresh_table, ProviderSandbox())
    _, invoice_id, _ = downgraded(containers)

    answer = raced_by_the_renewal(
        containers, lambda svc: refunds.refund_invoice(svc, invoice_id, amount=300)
    )

    assert isinstance(answer, Refund) and answer.amount == 300
    repo = stored(local_stack, fresh_table)
    sub = repo.get_subscription("sub-1")
    assert [r.amount for r in repo.list_refunds(invoice_id)] == [300]
    assert sub is not None and sub.credit == CREDIT - 100 - 300
