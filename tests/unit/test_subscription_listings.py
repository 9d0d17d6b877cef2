"""Which new subscriptions a commit lists on their customer, and which it leaves unlisted
(tenure.listings): a rule both stores follow."""

from datetime import UTC, datetime

from tenure.domain.customers import Customer, Payer
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.listings import listings
from tenure.ports import Commit

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")
VISA = Payer("alice", "pm_visa", "cus_A")
MASTERCARD = Payer("alice", "pm_mastercard", "cus_A")


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
