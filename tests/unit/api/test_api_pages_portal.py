"""The customer portal's subscription page beyond cancelling: a pause of one to three months
with the dates it ends on, resumed early at will. Each refused form is a page that says why
and changes nothing."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

from datetime import UTC, datetime

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    Pages,
    manage,
    pages,
    subscribed,
)

from tenure.domain.errors import ValidationFailedError
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import self_service, subscriptions
from tenure.services.self_service import LinkUse

SUB = "/pages/subscription"


# -- pausing for months ---------------------------------------------------------------------------
def test_the_page_offers_a_pause_of_one_to_three_months_with_the_day_each_resumes(
    subscribed: Pages,
) -> None:
    text = subscribed.open(SUB, manage(subscribed)).text

    assert "<legend>Pause for how long?</legend>" in text
    assert '<label for="pause-1">1 month, resuming on May 1, 2026</label>' in text
    assert '<label for="pause-2">2 months, resuming on June 1, 2026</label>' in text
    assert '<label for="pause-3">3 months, resuming on July 1, 2026</label>' in text
    assert 'id="pause-1" aria-describedby="pause-explain" required checked>' in text


@pytest.mark.parametrize(
    ("months", "until"),
    [("1", datetime(2026, 5, 1, tzinfo=UTC)), ("3", datetime(2026, 7, 1, tzinfo=UTC))],
)
def test_a_pause_for_the_chosen_months_ends_on_the_day_the_page_showed(
    subscribed: Pages, months: str, until: datetime
) -> None:
    reply = subscribed.submit(SUB, manage(subscribed), action="pause", months=months)

    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert sub.status is SubscriptionStatus.PAUSED and sub.paused_until == until
    shown = f"{until:%B} {until.day}, {until.year}"
    assert f"Paused until {shown}." in reply.text
    assert 'value="keep"' in reply.text  # "Resume now"
    assert 'id="pause-form"' not in reply.text


def test_a_paused_subscription_resumes_early_from_the_page(subscribed: Pages) -> None:
    token = manage(subscribed)
    subscribed.submit(SUB, token, action="pause", months="2")

    reply = subscribed.submit(SUB, token, action="keep")

    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert sub.status is SubscriptionStatus.ACTIVE and sub.paused_until is None


def test_a_month_pause_follows_the_api_pause_rules_on_an_ended_subscription(
    subscribed: Pages,
) -> None:
    subscriptions.cancel(subscribed.svc, "sub-alice", at_period_end=False, reason="other")
    token = manage(subscribed)
    assert 'id="pause-form"' not in subscribed.open(SUB, token).text
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, token, action="pause", months="1")

    assert reply.status == 409 and "cannot be done now" in reply.text
    assert subscribed.api.state() == before


@pytest.mark.parametrize(
    "months",
    ["0", "4", "-1", "", " 2", "02", "2.0", "٢", "２", "9" * 400, "1e1", "two"],
)
def test_a_pause_length_the_page_does_not_offer_is_refused_and_changes_nothing(
    subscribed: Pages, months: str
) -> None:
    token = manage(subscribed)
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, token, action="pause", months=months)

    assert reply.status == 422, reply.text
    assert "Choose a pause of 1, 2 or 3 months. Nothing was changed." in reply.text
    assert subscribed.api.state() == before


def test_the_pause_choices_read_in_arabic_right_to_left(subscribed: Pages) -> None:
    subscribed.api.customer("bob", locale="ar")
    subscribed.card("bob", "pm_card_visa")
    subscribed.api.subscription("sub-bob", customer="bob")

    text = subscribed.open(
        SUB, subscribed.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-bob", customer="bob")
    ).text

    assert 'dir="rtl"' in text and "ما مدة الإيقاف المؤقت؟" in text
    assert "شهران، ويُستأنف في" in text


@pytest.mark.parametrize("months", [0, 4, 12])
def test_the_service_refuses_a_pause_the_page_does_not_offer_before_reading_anything(
    subscribed: Pages, months: int
) -> None:
    before = subscribed.api.state()
    link = LinkUse("some-link", datetime(2026, 5, 1, tzinfo=UTC))

    with pytest.raises(ValidationFailedError, match="1 to 3 months"):
        self_service.change_subscription(
            subscribed.svc, "alice", "sub-alice", "pause", link, months=months
        )

    assert subscribed.api.state() == before
