"""A subscribe that read its customer just before the customer's erasure committed, on both
stores: the subscribe is refused with nothing written, never an active (charged)
subscription of an erased customer (docs/privacy.md: an erased customer is never charged by
a new action). Seen from outside as two concurrent requests, POST /v1/customers/{id}/erase
and POST /v1/subscriptions, both answering success."""

from collections.abc import Iterator

import pytest
from containers import alice_on_either_store

from tenure.domain.errors import DomainError
from tenure.services import privacy, subscriptions
from tenure.services.context import Services


@pytest.fixture(params=["memory", "dynamodb"])
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    yield alice_on_either_store(request)


def test_a_subscribe_racing_the_customers_erasure_is_refused_and_writes_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_customer = subscriptions.get_customer

    def erased_right_after_the_read(svc: Services, customer_id: str) -> object:
        customer = read_customer(svc, customer_id)
        privacy.erase_customer(services, customer_id, actor="api", note="asked by alice")
        return customer

    monkeypatch.setattr(subscriptions, "get_customer", erased_right_after_the_read)

    with pytest.raises(DomainError):
        subscriptions.subscribe(services, "sub-1", "alice", "basic")

    assert services.repo.get_subscription("sub-1") is None
    assert services.repo.list_invoices("sub-1") == []
    erased = services.repo.get_customer("alice")
    assert erased is not None and erased.erased_at is not None
