"""A subscribe racing a change of its customer's contact (POST /v1/subscriptions and PATCH
/v1/customers/{id}, email, name, locale, zone), on both stores: whichever order the two land
in, the new subscription carries the customer's current contact, so its reminders are
planned for the address, language and hours the customer has now.

The subscribe that read the customer before the change committed loses its commit (held to
the contact it copied: tenure.listings.contact_holds), writes and charges nothing, and is
made again from a fresh read inside the request."""

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from containers import T0, Containers, alice_on_either_store, customer_with_card

from tenure.domain.customers import Contact, Customer
from tenure.domain.errors import StaleCopyError
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.payments.sandbox import payment_method_for
from tenure.ports import Commit
from tenure.services import cards, subscriptions
from tenure.services.context import Services
from tenure.services.customer_updates import CustomerChanges, update_customer
from tenure_local.stack.local_stack import LocalStack

WAIT = 30  # seconds: far longer than either side needs; a hang fails the test instead
MOVED = {"email": "alice.moreau@example.org", "name": "Алиса", "locale": "ru"}


@pytest.fixture(params=["memory", "dynamodb"])
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    yield alice_on_either_store(request)


def visa() -> dict[str, Any]:
    card = payment_method_for("4242424242424242")
    assert card is not None
    return card


def move(svc: Services, **given: str) -> None:
    update_customer(svc, "alice", CustomerChanges(dict(given or MOVED)))


def new_card(svc: Services) -> None:
    mastercard = payment_method_for("5555555555554444")
    assert mastercard is not None
    cards.update_payment_method(svc, "alice", mastercard, "sandbox", make_default=True)


def after_the_subscribes_read(
    svc: Services, monkeypatch: pytest.MonkeyPatch, *changes: Callable[[Services], None]
) -> None:
    """`changes` commit right after the subscribe's first read of alice, before it commits."""
    read_customer, first = subscriptions.get_customer, [True]

    def read_then_change(svc_: Services, customer_id: str) -> Customer:
        customer = read_customer(svc_, customer_id)
        if first[0]:
            first[0] = False
            for change in changes:
                change(svc)
        return customer

    monkeypatch.setattr(subscriptions, "get_customer", read_then_change)


def alice(svc: Services) -> Customer:
    found = svc.repo.get_customer("alice")
    assert found is not None
    return found


def the_subscription(svc: Services) -> Subscription:
    sub = svc.repo.get_subscription("sub-1")
    assert sub is not None
    return sub


def test_a_subscribe_that_read_the_old_contact_commits_with_the_new_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    after_the_subscribes_read(services, monkeypatch, move)

    subscriptions.subscribe(services, "sub-1", "alice", "basic")

    current = alice(services)
    assert current.email == MOVED["email"]  # the change landed, and was not undone
    sub = the_subscription(services)
    assert sub.contact == current.contact and sub.timezone == current.timezone
    assert "sub-1" in current.subscription_ids and sub.listed
    assert len(services.repo.list_invoices("sub-1")) == 1  # made once, charged once


def test_a_new_zone_committed_after_the_read_is_the_subscriptions_zone(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    after_the_subscribes_read(services, monkeypatch, lambda svc: move(svc, timezone="Asia/Tokyo"))

    subscriptions.subscribe(services, "sub-1", "alice", "basic")

    sub = the_subscription(services)
    assert sub.timezone == "Asia/Tokyo"
    assert sub.contact is not None and sub.contact.timezone == "Asia/Tokyo"


def test_a_new_card_and_a_new_contact_after_the_read_are_both_the_subscriptions(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    after_the_subscribes_read(services, monkeypatch, new_card, move)

    subscriptions.subscribe(services, "sub-1", "alice", "basic")

    sub = the_subscription(services)
    assert sub.contact == alice(services).contact
    assert sub.payer.payment_method == "pm_card_mastercard"


def test_a_new_card_alone_after_the_read_leaves_the_contact_as_it_is(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The card moved, not the contact: the subscription is made unlisted, as before (its
    # charges check the card against the customer), and still commits at once.
    after_the_subscribes_read(services, monkeypatch, new_card)

    subscriptions.subscribe(services, "sub-1", "alice", "basic")

    sub = the_subscription(services)
    assert sub.contact == alice(services).contact
    assert not sub.listed


def test_a_subscribe_before_the_change_is_given_the_new_contact_by_it(
    services: Services,
) -> None:
    subscriptions.subscribe(services, "sub-1", "alice", "basic")

    move(services)

    assert the_subscription(services).contact == alice(services).contact


@pytest.mark.parametrize("listed", [True, False], ids=["listed", "unlisted"])
def test_a_new_subscription_with_a_stale_contact_is_refused_and_nothing_is_written(
    services: Services, listed: bool
) -> None:
    # The store's side of it, listed or not (a listing refused for a card change is made
    # again unlisted, and a contact changed in between must not land either).
    stale = Contact("alice@example.com")
    move(services)
    sub = Subscription.subscribe(
        "sub-1", "alice", Plan(id="basic", amount=1000, currency="USD", interval="month"), T0
    )
    sub.copy_payer(alice(services).payer)
    sub.contact, sub.listed = stale, listed
    change = Commit()
    change.add_subscription(sub)

    with pytest.raises(StaleCopyError) as refused:
        services.repo.commit(change)

    assert refused.value.what == "contact"
    assert services.repo.get_subscription("sub-1") is None
    assert "sub-1" not in alice(services).subscription_ids
    sub.contact = replace(stale, **MOVED)  # the current contact: the same commit lands
    services.repo.commit(change)
    assert the_subscription(services).contact == alice(services).contact


def test_two_containers_a_subscribe_and_a_patch_in_between_end_with_the_new_contact(
    local_stack: LocalStack, fresh_table: str
) -> None:
    # As seen from outside: two Lambda containers, the subscribe's read held until the PATCH
    # in the other container has committed.
    containers = Containers(local_stack, fresh_table)
    customer_with_card(containers)
    subscriber, patcher = containers(), containers()
    read, patched = threading.Event(), threading.Event()
    get_customer, first = subscriber.repo.get_customer, [True]

    def read_then_wait(customer_id: str) -> Customer | None:
        customer = get_customer(customer_id)
        if first[0]:
            first[0] = False
            read.set()
            assert patched.wait(WAIT), "the PATCH never committed"
        return customer

    subscriber.repo.get_customer = read_then_wait  # type: ignore[method-assign]
    outcome: list[Any] = []

    def run_subscribe() -> None:
        try:
            outcome.append(subscriptions.subscribe(subscriber, "sub-1", "alice", "basic"))
        except BaseException as exc:  # the finding the test looks at
            outcome.append(exc)

    thread = threading.Thread(target=run_subscribe)
    thread.start()
    try:
        assert read.wait(WAIT), "the subscribe never read the customer"
        move(patcher)
    finally:
        patched.set()
        thread.join(WAIT)
    assert not thread.is_alive()

    assert not isinstance(outcome[0], BaseException), outcome[0]
    fresh = containers()
    sub = the_subscription(fresh)
    assert sub.contact == alice(fresh).contact
    assert sub.contact is not None and sub.contact.email == MOVED["email"]
