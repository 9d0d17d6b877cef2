"""A subscribe racing a change of its customer's contact (PATCH /v1/customers/{id}) on the
in-memory store: the subscribe read the customer, the change committed, then the subscribe
committed. Whichever order the two land in, the new subscription carries the customer's
current contact, and its emails go to the current address."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import Shop
from test_reminders import REAL, RecordingMailer, customer, run

from tenure.domain.customers import Contact, Customer
from tenure.domain.notices import NoticeKind
from tenure.services import subscriptions
from tenure.services.customer_updates import CustomerChanges, update_customer

NEW_CONTACT = {"email": "robert@example.org", "name": "Роберт", "locale": "ru"}


def move_bob(shop: Shop) -> None:
    update_customer(shop.svc, "bob", CustomerChanges(dict(NEW_CONTACT)))


def change_after_the_read(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, change: Callable[[Shop], None]
) -> None:
    """`change` commits right after the next read of bob (the subscribe's), before the
    subscribe commits."""
    get_customer, first = shop.repo.get_customer, [True]

    def read_then_change(customer_id: str) -> Customer | None:
        found = get_customer(customer_id)
        if first[0] and customer_id == "bob":
            first[0] = False
            change(shop)
        return found

    monkeypatch.setattr(shop.repo, "get_customer", read_then_change)


def bobs_contact(shop: Shop) -> Contact:
    stored = shop.repo.get_customer("bob")
    assert stored is not None
    return stored.contact


def test_a_subscribe_that_lands_after_a_contact_change_it_did_not_read_takes_the_new_contact(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop()
    customer(shop, "bob")
    change_after_the_read(shop, monkeypatch, move_bob)

    subscriptions.subscribe(shop.svc, "sub-bob", "bob", "basic")

    sub = shop.sub("sub-bob")
    assert bobs_contact(shop).email == "robert@example.org"  # the change did land
    assert sub.contact == bobs_contact(shop)
    assert "sub-bob" in shop.repo.get_customer("bob").subscription_ids  # type: ignore[union-attr]


def test_a_subscribe_that_lands_before_a_contact_change_is_given_the_new_contact(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    customer(shop, "bob")
    subscriptions.subscribe(shop.svc, "sub-bob", "bob", "basic")

    move_bob(shop)

    assert shop.sub("sub-bob").contact == bobs_contact(shop)


def test_the_reminder_after_the_race_goes_to_the_new_address_in_the_new_language(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop()
    customer(shop, "bob")
    change_after_the_read(shop, monkeypatch, move_bob)
    subscriptions.subscribe(shop.svc, "sub-bob", "bob", "basic")
    mailer = RecordingMailer()

    run(shop, shop.start + timedelta(days=31), mailer, compose=REAL)

    [reminder] = mailer.of(NoticeKind.UPCOMING_RENEWAL, "bob")
    assert reminder.message["To"].addresses[0].addr_spec == "robert@example.org"
    assert reminder.message["Content-Language"] == "ru"
