"""An erasure racing a new installment plan (or reading an index that lags), on both stores:
an erased customer is never left with an active plan that charges them, nor with a live
subscription the erasure did not see (docs/privacy.md). Seen from outside as two concurrent
requests, POST /v1/customers/{id}/erase and POST /v1/installment-plans, both answering
success.

A DynamoDB index (GSI1, the customer's plans and subscriptions) may lag behind a commit: the
tests that need it make the erasure's reads of it return what a lagging index returns."""

from collections.abc import Iterator

import pytest
from containers import alice_on_either_store

from tenure.domain.customers import Customer
from tenure.domain.errors import DomainError
from tenure.domain.installments import PlanStatus
from tenure.payments.sandbox import payment_method_for
from tenure.services import cards, catalog, installments, privacy, subscriptions
from tenure.services.context import Services


@pytest.fixture(params=["memory", "dynamodb"])
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    yield alice_on_either_store(request)


def new_plan(svc: Services, plan_id: str = "ipl-1") -> None:
    installments.create_installment_plan(
        svc, "alice", plan_id, 30000, "USD", 3, "month", "Sofa, in three parts"
    )


def lagging_indexes(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer's plans and subscriptions, as an index that has not caught up shows
    them: none."""
    monkeypatch.setattr(svc.repo, "list_installment_plans", lambda customer_id: [])
    monkeypatch.setattr(svc.repo, "list_subscriptions", lambda customer_id: [])


def erase(svc: Services) -> privacy.Erased:
    return privacy.erase_customer(svc, "alice", actor="api", note="asked by alice")


def erased(svc: Services) -> bool:
    customer = svc.repo.get_customer("alice")
    assert customer is not None
    return customer.erased_at is not None


def test_a_plan_racing_the_customers_erasure_is_refused_and_writes_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_customer = installments.get_customer

    def erased_right_after_the_read(svc: Services, customer_id: str) -> Customer:
        customer = read_customer(svc, customer_id)
        erase(services)
        return customer

    monkeypatch.setattr(installments, "get_customer", erased_right_after_the_read)

    with pytest.raises(DomainError):
        new_plan(services)

    assert services.repo.get_installment_plan("ipl-1") is None
    assert services.repo.list_installment_plans("alice") == []
    assert erased(services)


def test_an_erasure_that_read_the_customer_before_a_plan_was_made_is_refused(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plan is made between the erasure's read of alice and its commit, and the index
    # of her plans has not caught up with it.
    read_customer = privacy._customer
    made = []

    def plan_made_right_after_the_read(svc: Services, customer_id: str) -> Customer:
        customer = read_customer(svc, customer_id)
        if not made:
            new_plan(services)
            made.append(True)
        return customer

    monkeypatch.setattr(privacy, "_customer", plan_made_right_after_the_read)
    lagging_indexes(services, monkeypatch)

    with pytest.raises(DomainError):
        erase(services)

    assert not erased(services)
    plan = services.repo.get_installment_plan("ipl-1")
    assert plan is not None and plan.status is PlanStatus.ACTIVE


def test_an_erasure_finds_a_plan_the_index_does_not_show_yet_and_is_refused(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_plan(services)
    lagging_indexes(services, monkeypatch)

    with pytest.raises(DomainError, match="ipl-1"):
        erase(services)

    assert not erased(services)


def test_an_erasure_finds_a_subscription_the_index_does_not_show_yet_and_is_refused(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions.subscribe(services, "sub-1", "alice", "basic")
    lagging_indexes(services, monkeypatch)

    with pytest.raises(DomainError, match="sub-1"):
        erase(services)

    assert not erased(services)


def test_an_erasure_after_the_plan_ended_reads_it_once_and_erases(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_plan(services)
    installments.cancel_installment_plan(services, "ipl-1")

    done = erase(services)

    assert done.audit is not None and erased(services)
    assert [p.id for p in privacy.customer_records(services, "alice").installment_plans] == [
        "ipl-1"
    ]


@pytest.mark.parametrize("make_default", [False, True])
def test_a_card_added_racing_the_customers_erasure_is_refused_and_writes_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch, make_default: bool
) -> None:
    # alice's second card, read before her erasure committed and committed after it: its
    # brand and last four digits (and its event) must not outlive the erasure.
    refuse = catalog.refuse_erased

    def erased_right_after_the_check(customer: Customer, action: str) -> None:
        refuse(customer, action)
        erase(services)

    monkeypatch.setattr(catalog, "refuse_erased", erased_right_after_the_check)
    mastercard = payment_method_for("5555555555554444")
    assert mastercard is not None

    with pytest.raises(DomainError):
        cards.update_payment_method(
            services, "alice", mastercard, provider="sandbox", make_default=make_default
        )

    assert [m.id for m in services.repo.list_payment_methods("alice")] == ["pm_card_visa"]
    assert erased(services)
    records = privacy.customer_records(services, "alice")
    assert not any("mastercard" in str(e) for e in records.events)
