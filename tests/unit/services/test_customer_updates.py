"""Changing a customer's details: every copy follows, and pending emails move to new hours."""

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import Shop
from test_reminders import REAL, RecordingMailer, customer, run, subscriber

from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.services import catalog
from tenure.services.customer_updates import CustomerChanges, update_customer
from tenure.services.privacy import erase_customer


def update(shop: Shop, customer_id: str = "bob", **given: object) -> None:
    update_customer(shop.svc, customer_id, CustomerChanges(dict(given)))


def pending_reminder(shop: Shop, customer_id: str = "bob") -> Notice:
    [notice] = [
        n
        for n in shop.repo.list_notices(customer_id)
        if n.kind is NoticeKind.UPCOMING_RENEWAL and n.status is NoticeStatus.SCHEDULED
    ]
    return notice


def test_a_pending_reminder_moves_into_the_new_zones_hours(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    subscriber(shop, "bob", zone="Asia/Tokyo")
    planned = pending_reminder(shop).due_at
    assert 9 <= planned.astimezone(ZoneInfo("Asia/Tokyo")).hour < 20
    assert not 9 <= planned.astimezone(ZoneInfo("America/New_York")).hour < 20  # night there

    update(shop, timezone="America/New_York")

    moved = pending_reminder(shop)
    local = moved.due_at.astimezone(ZoneInfo("America/New_York"))
    assert 9 <= local.hour < 20
    assert moved.due_at <= planned  # never later than planned: what it announces stays ahead
    assert moved.contact is not None and moved.contact.timezone == "America/New_York"
    sub = shop.sub("sub-bob")
    assert sub.timezone == "America/New_York"
    assert sub.contact is not None and sub.contact.timezone == "America/New_York"


def test_the_next_email_uses_the_new_locale_and_address(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    subscriber(shop, "bob")
    update(shop, locale="ru", email="robert@example.org", name="Роберт")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=31), mailer, compose=REAL)

    [reminder] = mailer.of(NoticeKind.UPCOMING_RENEWAL, "bob")
    assert reminder.message["To"].addresses[0].addr_spec == "robert@example.org"
    assert reminder.message["Content-Language"] == "ru"
    assert "Роберт" in reminder.message.get_body(("plain",)).get_content()


def test_the_renewals_after_a_move_email_in_the_new_zones_hours(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    subscriber(shop, "bob", zone="Asia/Tokyo")
    update(shop, timezone="America/Los_Angeles")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=70), mailer)
    sent = [s for s in mailer.sent if s.customer_id == "bob"]
    assert len(mailer.of(NoticeKind.UPCOMING_RENEWAL, "bob")) == 2
    for email in sent:
        assert 9 <= email.at.astimezone(ZoneInfo("America/Los_Angeles")).hour < 20, email.kind


def test_a_changed_email_is_found_by_the_console_search_and_the_old_one_is_not(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    customer(shop, "bob")
    update(shop, email="Robert.Smith@Example.org")
    assert catalog.find_customers_by_email(shop.svc, "robert", 10) == [
        ("robert.smith@example.org", "bob")
    ]
    assert catalog.find_customers_by_email(shop.svc, "bob@", 10) == []
    update(shop, email="robert.smith@example.org")  # a change of case only: still found
    assert catalog.find_customers_by_email(shop.svc, "ROBERT", 10) == [
        ("robert.smith@example.org", "bob")
    ]


def test_an_erased_customer_is_no_longer_found_by_email(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    customer(shop, "bob")
    assert catalog.find_customers_by_email(shop.svc, "bob", 10) == [("bob@example.com", "bob")]
    erase_customer(shop.svc, "bob", actor="dpo", note="GDPR request 7")
    assert catalog.find_customers_by_email(shop.svc, "bob", 10) == []
    assert catalog.find_customers_by_email(shop.svc, "customer", 10) == []  # nor its pseudonym


def test_billing_details_are_changed_and_cleared(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    customer(shop, "bob")
    update(shop, billing_name="Bob Ltd", tax_id="DE123456789")
    stored = shop.repo.get_customer("bob")
    assert stored is not None and stored.billing is not None
    assert (stored.billing.name, stored.billing.tax_id) == ("Bob Ltd", "DE123456789")
    update(shop, billing_name=None)
    stored = shop.repo.get_customer("bob")
    assert stored is not None and stored.billing is not None
    assert (stored.billing.name, stored.billing.tax_id) == (None, "DE123456789")


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({}, "body"),
        ({"email": "not an address"}, "email"),
        ({"email": None}, "email"),
        ({"name": "x" * 201}, "name"),
        ({"locale": "fr"}, "locale"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "Europe/Paris", "tax_id": "DE 123 ##"}, "tax_id"),
        ({"billing_address": "line\x00"}, "billing_address"),
        ({"provider": "stripe"}, "provider"),
        ({"plan": "basic"}, "plan"),
    ],
)
def test_bad_details_are_refused_and_change_nothing(
    make_shop: Callable[..., Shop], given: dict[str, object], field: str
) -> None:
    shop = make_shop()
    subscriber(shop, "bob", zone="Asia/Tokyo")
    before = (shop.repo.get_customer("bob"), shop.sub("sub-bob"), pending_reminder(shop))
    commits = shop.svc.commits
    with pytest.raises(ValidationFailedError) as refused:
        update(shop, **given)
    assert refused.value.field == field
    assert (shop.repo.get_customer("bob"), shop.sub("sub-bob"), pending_reminder(shop)) == before
    assert shop.svc.commits == commits


def test_an_unknown_customer_is_not_found(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    with pytest.raises(NotFoundError):
        update(shop, "nobody", name="X")


def test_an_erased_customer_cannot_be_given_new_details(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    customer(shop, "bob")
    erase_customer(shop.svc, "bob", actor="dpo", note="asked by email")
    before = shop.repo.get_customer("bob")
    with pytest.raises(IllegalTransitionError):
        update(shop, email="bob@new.example")
    assert shop.repo.get_customer("bob") == before
