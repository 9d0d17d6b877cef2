"""Which new subscriptions a commit lists on their customer, and which it leaves unlisted
(tenure.listings): a rule both stores follow."""

from datetime import UTC, datetime

import pytest

from tenure.domain.customers import Contact, Customer, Payer
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.listings import contact_holds, listings
from tenure.ports import Commit

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")
VISA = Payer("alice", "pm_visa", "cus_A")
MASTERCARD = Payer("alice", "pm_mastercard", "cus_A")
BOBS = Payer("bob", "pm_visa", "cus_B")


def new_sub(sub_id: str, payer: Payer = VISA, *, listed: bool = True) -> Subscription:
    sub = Subscription.subscribe(sub_id, payer.customer_id, BASIC, T0)
    sub.copy_payer(payer)
    sub.listed = listed
    return sub


def committing(*subs: Subscription, customers: tuple[Customer, ...] = ()) -> Commit:
    change = Commit(customers=list(customers))
    for sub in subs:
        change.add_subscription(sub)
    return change


def alice(payer: Payer = VISA) -> Customer:
    return Customer(
        "alice",
        "alice@example.com",
        T0,
        default_payment_method=payer.payment_method,
        provider_customer_id=payer.provider_customer_id,
    )


def test_new_listed_subscriptions_join_by_one_update_of_their_customer() -> None:
    first, second = new_sub("sub-1"), new_sub("sub-2")
    found = listings(committing(first, second))
    assert found.by_update == [first, second] and found.with_customer == []
    assert first.listed and second.listed


def test_a_second_new_subscription_with_another_copy_is_left_unlisted() -> None:
    # One update of the customer can hold one condition on their card.
    first, second = new_sub("sub-1"), new_sub("sub-2", MASTERCARD)
    found = listings(committing(first, second))
    assert found.by_update == [first]
    assert first.listed and not second.listed


def test_a_new_subscription_joins_the_customer_its_commit_writes_when_the_copies_agree() -> None:
    sub = new_sub("sub-1")
    found = listings(committing(sub, customers=(alice(),)))
    assert found.with_customer == [sub] and found.by_update == []
    assert sub.listed


def test_a_new_subscription_whose_copy_is_not_the_written_customers_card_is_unlisted() -> None:
    sub = new_sub("sub-1")
    found = listings(committing(sub, customers=(alice(MASTERCARD),)))
    assert (found.with_customer, found.by_update) == ([], [])
    assert not sub.listed


def test_subscriptions_not_new_or_not_made_listed_are_left_as_they_are() -> None:
    stored = new_sub("sub-1")
    stored.version = 3
    plain = new_sub("sub-2", listed=False)
    found = listings(committing(stored, plain))
    assert (found.with_customer, found.by_update) == ([], [])
    assert stored.listed and not plain.listed


def test_a_new_subscription_holds_its_customers_contact_unless_the_commit_writes_the_customer() -> (
    None
):
    sub, written = new_sub("sub-1"), new_sub("sub-2", BOBS)
    sub.contact = written.contact = Contact("alice@example.com")
    assert contact_holds(committing(sub)) == {"alice": Contact("alice@example.com")}
    bob = Customer("bob", "alice@example.com", T0)
    assert contact_holds(committing(written, customers=(bob,))) == {}


def test_two_contacts_held_for_one_customer_are_refused_before_anything_is_written() -> None:
    first, second = new_sub("sub-1"), new_sub("sub-2")
    first.contact, second.contact = Contact("alice@example.com"), Contact("alice@example.org")
    with pytest.raises(ValueError, match="two contacts"):
        contact_holds(committing(first, second))


def test_a_contact_held_where_the_customer_is_also_checked_is_refused() -> None:
    sub = new_sub("sub-1")
    sub.contact = Contact("alice@example.com")
    change = committing(sub)
    change.not_erased.append("alice")
    with pytest.raises(ValueError, match="both checked and held"):
        contact_holds(change)
