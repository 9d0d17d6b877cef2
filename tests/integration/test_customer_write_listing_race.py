"""A customer write racing a new plan or subscription of the same customer, on DynamoDB Local:
the write (PATCH customer, a card change) read the customer before the new plan or
subscription joined the customer's lists, and its put, held to the lists it read, fails. What
raced it changed nothing the write depends on, so the write is made again from a fresh read
inside the request and never answers 409 (docs/api.md, "Errors").

Two containers, two threads: the write reads alice, waits until the other container's plan
(or subscription) is committed, then commits."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from containers import T0, Containers, customer_with_card, failures, race

from tenure.domain.customers import Customer
from tenure.domain.errors import ConcurrencyError
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cards, catalog, installments, self_service, subscriptions
from tenure.services.context import Services
from tenure.services.customer_updates import CustomerChanges, update_customer
from tenure_local.stack.local_stack import LocalStack

WAIT = 30  # seconds: far longer than either side needs; a hang fails the test instead


@pytest.fixture
def containers(local_stack: LocalStack, fresh_table: str) -> Containers:
    made = Containers(local_stack, fresh_table)
    customer_with_card(made)
    return made


def new_plan(svc: Services, plan_id: str = "ipl-1") -> object:
    return installments.create_installment_plan(
        svc, "alice", plan_id, 30000, "USD", 3, "month", "Sofa, in three parts"
    )


def new_subscription(svc: Services) -> object:
    return subscriptions.subscribe(svc, "sub-1", "alice", "basic")


def rename(svc: Services) -> object:
    return update_customer(svc, "alice", CustomerChanges({"name": "Alice Moreau"}))


def new_card(svc: Services) -> object:
    mastercard = payment_method_for("5555555555554444")
    assert mastercard is not None
    return cards.update_payment_method(svc, "alice", mastercard, "sandbox", make_default=True)


def interleaved(
    containers: Containers,
    write: Callable[[Services], object],
    other: Callable[[Services], object],
) -> object:
    """`write` in one container reads alice; `other`, in another, commits; then `write`
    commits. What `write` returned (or raised)."""
    writer, maker = containers(), containers()
    read, made = threading.Event(), threading.Event()
    get_customer = writer.repo.get_customer
    first = [True]

    def read_then_wait(customer_id: str) -> Customer | None:
        customer = get_customer(customer_id)
        if first[0]:
            first[0] = False
            read.set()
            assert made.wait(WAIT), "the other container never committed"
        return customer

    writer.repo.get_customer = read_then_wait  # type: ignore[method-assign]
    outcome: list[Any] = []

    def run_write() -> None:
        try:
            outcome.append(write(writer))
        except BaseException as exc:  # the finding the test looks at
            outcome.append(exc)

    thread = threading.Thread(target=run_write)
    thread.start()
    try:
        assert read.wait(WAIT), "the write never read the customer"
        other(maker)
    finally:
        made.set()
        thread.join(WAIT)
    assert not thread.is_alive()
    return outcome[0]


def alice(containers: Containers) -> Customer:
    found = containers().repo.get_customer("alice")
    assert found is not None
    return found


def test_a_patch_racing_a_new_installment_plan_is_made_again_and_keeps_the_plan(
    containers: Containers,
) -> None:
    outcome = interleaved(containers, rename, new_plan)

    assert not isinstance(outcome, BaseException), outcome
    stored = alice(containers)
    assert stored.name == "Alice Moreau"
    assert stored.installment_plan_ids == frozenset({"ipl-1"})


def test_a_patch_racing_a_new_subscription_is_made_again_and_gives_it_the_new_name(
    containers: Containers,
) -> None:
    outcome = interleaved(containers, rename, new_subscription)

    assert not isinstance(outcome, BaseException), outcome
    stored = alice(containers)
    assert stored.name == "Alice Moreau" and "sub-1" in stored.subscription_ids
    sub = containers().repo.get_subscription("sub-1")
    assert sub is not None and sub.contact is not None
    assert sub.contact.name == "Alice Moreau"


def test_a_card_change_racing_a_new_installment_plan_is_made_again(
    containers: Containers,
) -> None:
    outcome = interleaved(containers, new_card, new_plan)

    assert not isinstance(outcome, BaseException), outcome
    stored = alice(containers)
    assert stored.default_payment_method == "pm_card_mastercard"
    assert stored.installment_plan_ids == frozenset({"ipl-1"})


def test_a_card_change_racing_a_new_subscription_gives_it_the_new_card(
    containers: Containers,
) -> None:
    outcome = interleaved(containers, new_card, new_subscription)

    assert not isinstance(outcome, BaseException), outcome
    stored = alice(containers)
    assert stored.default_payment_method == "pm_card_mastercard"
    sub = containers().repo.get_subscription("sub-1")
    assert sub is not None and sub.payer.payment_method == "pm_card_mastercard"


def test_a_patch_racing_another_patch_still_answers_409(containers: Containers) -> None:
    # The customer itself changed (its version moved): the write depended on it, and is
    # refused as before, nothing written.
    def other_name(svc: Services) -> object:
        return update_customer(svc, "alice", CustomerChanges({"name": "A. Moreau"}))

    outcome = interleaved(containers, rename, other_name)

    assert isinstance(outcome, ConcurrencyError)
    assert alice(containers).name == "A. Moreau"


def test_a_patch_and_a_card_change_among_twelve_new_plans_at_once_all_succeed(
    containers: Containers,
) -> None:
    def plan_or_write(svc: Services, n: int) -> object:
        if n == 0:
            return rename(svc)
        if n == 1:
            return new_card(svc)
        return new_plan(svc, f"ipl-{n:02d}")

    outcomes = race(containers, 14, plan_or_write)

    # The patch and the card change may race each other too: then one of them is made
    # again after the other only when the customer's version did not move, so at most one
    # of the two may be refused, and nothing else is.
    errors = failures(outcomes)
    assert len(errors) <= 1 and all(isinstance(e, ConcurrencyError) for e in errors)
    assert len(alice(containers).installment_plan_ids) == 12


@pytest.mark.parametrize(
    ("write", "other"),
    [(rename, new_plan), (rename, new_subscription), (new_card, new_plan)],
    ids=["patch-plan", "patch-subscription", "card-plan"],
)
def test_the_in_memory_store_makes_the_write_again_the_same(
    write: Callable[[Services], object],
    other: Callable[[Services], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = Services(InMemoryRepository(), FixedClock(T0), gateway=SandboxGateway())
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(svc, "alice", email="alice@example.com")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    cards.update_payment_method(svc, "alice", visa, "sandbox", make_default=True)
    get_customer, first = svc.repo.get_customer, [True]

    def read_then_other(customer_id: str) -> Customer | None:
        customer = get_customer(customer_id)
        if first[0]:
            first[0] = False
            other(svc)
        return customer

    monkeypatch.setattr(svc.repo, "get_customer", read_then_other)

    write(svc)

    stored = get_customer("alice")
    assert stored is not None
    assert stored.installment_plan_ids | stored.subscription_ids  # what raced it kept its place


def test_a_card_page_racing_a_new_plan_is_made_again_and_keeps_the_plan(
    local_stack: LocalStack, fresh_table: str
) -> None:
    # carl never gave a card: opening the card page makes and stores his provider customer.
    containers = Containers(local_stack, fresh_table)
    catalog.create_customer(containers(), "carl", email="carl@example.com")

    def card_page(svc: Services) -> object:
        return self_service.begin_card_setup(svc, "carl", T0)

    def carls_plan(svc: Services) -> object:
        return installments.create_installment_plan(
            svc, "carl", "ipl-1", 30000, "USD", 3, "month", "Sofa, in three parts"
        )

    outcome = interleaved(containers, card_page, carls_plan)

    assert isinstance(outcome, str), outcome  # the setup's client secret
    stored = containers().repo.get_customer("carl")
    assert stored is not None and stored.provider_customer_id is not None
    assert stored.installment_plan_ids == frozenset({"ipl-1"})
