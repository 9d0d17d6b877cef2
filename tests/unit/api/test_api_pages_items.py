"""The customer portal's subscription page for seats and add-ons (docs/pages.md): the items
and what each costs, a form to change the seats and tick add-ons, a preview of the
proration before anything changes, and the change made once as the API makes it. Each
refused form is a page that says why and changes nothing."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

import re
from datetime import timedelta
from typing import Any

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    Pages,
    manage,
    pages,
    subscribed,
)

from tenure.domain.invoices import InvoiceStatus
from tenure.notify import pages as page_strings
from tenure.notify.link_tokens import LinkPurpose

SUB = "/pages/subscription"


@pytest.fixture
def seats(subscribed: Pages) -> Pages:
    """Alice on Basic ($10 a month, one seat) halfway through April, with the add-ons SSO
    ($5) and Vault ($3), and two she cannot take: a yearly one and a euro one."""
    subscribed.api.plan("sso", 500, name="SSO", kind="addon")
    subscribed.api.plan("vault", 300, name="Vault", kind="addon")
    subscribed.api.plan("archive", 5000, name="Archive", kind="addon", interval="year")
    subscribed.api.plan("euro-sso", 500, name="Euro SSO", kind="addon", currency="EUR")
    subscribed.api.clock.advance(timedelta(days=15))
    return subscribed


def ask(pages: Pages, token: str, action: str, quantity: str, **addons: str) -> Any:
    """Post the items form: `addons` maps an add-on's id to how many (ticked)."""
    fields = {"action": action, "quantity": quantity}
    for addon, count in addons.items():
        fields[f"addon_{addon}"] = "1"
        fields[f"addon_qty_{addon}"] = count
    return pages.submit(SUB, token, **fields)


def test_the_page_shows_the_items_and_offers_the_add_ons_the_subscription_can_take(
    seats: Pages,
) -> None:
    text = seats.open(SUB, manage(seats)).text

    assert '<h2 id="items-heading">Seats and add-ons</h2>' in text
    row = re.search(r'<tr id="item-1">(.*?)</tr>', text)
    assert row is not None and "Basic" in row.group(1) and row.group(1).count("$10.00") == 2
    assert '<label for="quantity">Seats of Basic (1 to 10000)</label>' in text
    assert 'id="quantity" min="1" max="10000"' in text and 'value="1"' in text
    assert '<label for="addon-sso">SSO: $5.00 each</label>' in text
    assert '<label for="addon-qty-sso">How many of SSO</label>' in text
    assert 'id="addon-vault"' in text
    assert 'id="addon-archive"' not in text  # bills yearly
    assert 'id="addon-euro-sso"' not in text  # another currency


def test_the_preview_of_more_seats_and_an_add_on_shows_the_charge_and_changes_nothing(
    seats: Pages,
) -> None:
    before = seats.api.state()

    reply = ask(seats, manage(seats), "preview_items", "3", sso="1")

    assert reply.status == 200, reply.text
    assert "Changing to: Basic × 3, SSO × 1" in reply.text
    # Half of April is left: $35 of the new items' time less $10 of the old ones'.
    assert '<li id="items-preview-charge">$12.50 is charged now (April 16, 2026)' in reply.text
    assert "Then $35.00 every month; your next renewal is on May 1, 2026." in reply.text
    assert 'name="quantity" value="3"' in reply.text
    assert 'name="addon_sso" value="1"' in reply.text and 'id="confirm_items"' in reply.text
    assert seats.api.state() == before


def test_confirming_charges_exactly_what_the_preview_showed(seats: Pages) -> None:
    token = manage(seats)
    shown = ask(seats, token, "preview_items", "3", sso="1").text
    charged = re.search(r'<li id="items-preview-charge">(\$[\d.]+) is charged', shown)
    assert charged is not None

    reply = ask(seats, token, "change_items", "3", sso="1")

    assert reply.status == 200, reply.text
    assert "Done: your seats and add-ons are changed." in reply.text
    api_view = seats.api.get("/v1/subscriptions/sub-alice").json
    assert api_view["items"] == [
        {"price": "basic", "quantity": 3},
        {"price": "sso", "quantity": 1},
    ]
    (proration,) = [i for i in seats.api.repo.list_invoices("sub-alice") if i.kind == "proration"]
    assert proration.status is InvoiceStatus.PAID
    assert f"${proration.total / 100:.2f}" == charged.group(1) == "$12.50"


def test_fewer_seats_and_an_add_on_dropped_become_credit_for_the_next_invoice(
    seats: Pages,
) -> None:
    token = manage(seats)
    assert ask(seats, token, "change_items", "2", sso="1").status == 200

    shown = ask(seats, token, "preview_items", "1").text
    assert "$7.50 is kept as a credit and taken off your next invoice on May 1, 2026." in shown
    assert 'id="items-preview-charge"' not in shown
    ask(seats, token, "change_items", "1")

    sub = seats.subscription("sub-alice")
    assert sub.items.quantity == 1 and sub.items.addons == () and sub.credit == 750


def test_a_double_submitted_change_changes_and_charges_once(seats: Pages) -> None:
    token = manage(seats)
    form_token = seats.form_token(SUB, token)
    fields = {"action": "change_items", "quantity": "4"}

    first = seats.submit(SUB, token, form_token, **fields)
    again = seats.submit(SUB, token, form_token, **fields)

    assert first.status == 200 and again.status == 200
    assert "Done: your seats and add-ons are changed." in again.text
    kinds = [i.kind for i in seats.api.repo.list_invoices("sub-alice")]
    assert kinds.count("proration") == 1


@pytest.mark.parametrize("action", ["preview_items", "change_items"])
@pytest.mark.parametrize("quantity", ["0", "-1", "", "1.5", "٣", "10001", "9" * 40, "three"])
def test_a_seat_count_out_of_bounds_is_refused_and_changes_nothing(
    seats: Pages, action: str, quantity: str
) -> None:
    before = seats.api.state()

    reply = ask(seats, manage(seats), action, quantity)

    assert reply.status == 422, reply.text
    assert "Enter a whole number from 1 to 10000. Nothing was changed." in reply.text
    assert seats.api.state() == before


def test_an_add_on_quantity_out_of_bounds_is_refused_and_changes_nothing(seats: Pages) -> None:
    before = seats.api.state()

    reply = ask(seats, manage(seats), "change_items", "2", sso="0")

    assert reply.status == 422 and "Enter a whole number from 1 to 10000." in reply.text
    assert seats.api.state() == before


def test_the_items_the_subscription_has_and_add_ons_not_offered_change_nothing(
    seats: Pages,
) -> None:
    token = manage(seats)
    before = seats.api.state()

    same = ask(seats, token, "preview_items", "1")
    # An add-on the page does not offer is not read from the form: it asks for the same.
    foreign = ask(seats, token, "preview_items", "1", archive="1")
    confirmed = ask(seats, token, "change_items", "1", archive="1")

    for reply in (same, foreign):
        assert reply.status == 422
        assert "That is what you have now. Nothing was changed." in reply.text
    assert confirmed.status == 200  # as a double submit is: already so
    assert seats.api.state() == before


def test_a_canceling_subscription_is_offered_no_items_change_and_refuses_one(
    seats: Pages,
) -> None:
    token = manage(seats)
    seats.submit(SUB, token, action="cancel", reason="too_expensive")
    assert 'id="items-form"' not in seats.open(SUB, token).text
    before = seats.api.state()

    reply = ask(seats, token, "change_items", "3")

    assert reply.status == 409 and "cannot be done now" in reply.text
    assert seats.api.state() == before


def test_a_form_without_its_form_token_cannot_change_the_items(seats: Pages) -> None:
    before = seats.api.state()

    reply = seats.post_raw(SUB, f"t={manage(seats)}&action=change_items&quantity=3")

    assert reply.status == 403
    assert seats.api.state() == before


def test_the_items_and_their_preview_read_in_russian_and_in_arabic_right_to_left(
    seats: Pages,
) -> None:
    for customer, locale in (("boris", "ru"), ("layla", "ar")):
        seats.api.customer(customer, locale=locale)
        seats.card(customer, "pm_card_visa")
        seats.api.subscription(f"sub-{customer}", customer=customer)
    boris = seats.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-boris", customer="boris")
    layla = seats.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-layla", customer="layla")

    russian = ask(seats, boris, "preview_items", "2", vault="2")
    arabic = ask(seats, layla, "preview_items", "2", vault="2")

    assert russian.status == 200 and "Новый состав: Basic × 2, Vault × 2" in russian.text
    assert "Места и дополнения" in russian.text
    assert arabic.status == 200 and 'dir="rtl"' in arabic.text
    assert "التغيير إلى: Basic × 2, Vault × 2" in arabic.text
    assert page_strings.money(1600, "USD", "ar") in arabic.text  # $10 × 2 + $3 × 2 a month
