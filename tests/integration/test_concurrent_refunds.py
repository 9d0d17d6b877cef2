"""Containers racing to refund the same charge on DynamoDB Local: the charge is refunded
once, one refund is recorded, and every container answers with that refund or a 4xx."""

import threading
from typing import Any

from containers import Containers, customer_with_card, race

from tenure.domain.errors import DomainError
from tenure.payments.sandbox import SandboxGateway
from tenure.services import refunds, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack


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
    sandbox = SandboxGateway()
    containers = Containers(local_stack, fresh_table, OneAtATime(sandbox))
    setup = customer_with_card(containers)
    invoice = subscriptions.subscribe(setup, "sub-1", "alice", "basic").invoice
    assert invoice is not None

    def refund(svc: Services, _: int) -> Any:
        try:
            return refunds.refund_invoice(svc, invoice.id)
        except DomainError as exc:
            return exc

    answers = race(containers, 8, refund)

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
