"""Containers racing to refund the same charge on DynamoDB Local: the charge is refunded
once, one refund is recorded, and every container answers with that refund or a 4xx."""

import threading
from datetime import UTC, datetime
from typing import Any

from tenure.domain.errors import DomainError
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import catalog, charging, refunds, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


class OneAtATime:
    """The sandbox, answering one request at a time, as Stripe answers the requests that
    share an idempotency key (the first runs, the others get its saved answer)."""

    def __init__(self, gateway: SandboxGateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._gateway, name)
        if not callable(call):
            return call

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return call(*args, **kwargs)

        return locked


def test_eight_containers_refunding_the_same_charge_refund_it_once(
    local_stack: LocalStack, fresh_table: str
) -> None:
    sandbox, clock = SandboxGateway(), FixedClock(T0)
    gateway: Any = OneAtATime(sandbox)

    def container() -> Services:
        return Services(
            DynamoRepository(local_stack.dynamodb_client(), fresh_table), clock, gateway
        )

    setup = container()
    catalog.create_plan(setup, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(setup, "alice", email="alice@example.com")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    charging.update_payment_method(setup, "alice", visa, provider="sandbox", make_default=True)
    invoice = subscriptions.subscribe(setup, "sub-1", "alice", "basic").invoice
    assert invoice is not None

    answers: list[Any] = []
    start = threading.Barrier(8)

    def refund() -> None:
        svc = container()
        start.wait()
        try:
            answers.append(refunds.refund_invoice(svc, invoice.id))
        except DomainError as exc:
            answers.append(exc)

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    repo = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
    [recorded] = repo.list_refunds(invoice.id)
    made = [a for a in answers if not isinstance(a, Exception)]
    assert made and all(a == recorded for a in made)
    # Late containers read the invoice refunded in full: a 409 that changed nothing.
    assert all("nothing is left" in str(a) for a in answers if isinstance(a, Exception))
    created = [e for e in sandbox.events if e["type"] == "refund.created"]
    assert len(created) == 1 and created[0]["data"]["object"]["amount"] == 1000
    stored = repo.get_invoice(invoice.id)
    assert stored is not None and stored.amount_refunded == 1000
