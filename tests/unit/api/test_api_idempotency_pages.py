"""Idempotency-Keys sent with a customer page's POST are that customer's own: kept under the
customer the signed link acts for and the link's purpose, never under the administrator's
keys nor another customer's, so a page caller can neither be answered with, nor block, nor
probe anyone else's request by picking the same key."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

from urllib.parse import urlencode

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    VISA,
    Pages,
    manage,
    pages,
    subscribed,
)

from tenure.domain.subscription import SubscriptionStatus
from tenure.notify.link_tokens import LinkPurpose

SUB = "/pages/subscription"
KEY = {"Idempotency-Key": "retry-1"}
PAGE_RECORD = "page@alice/manage_subscription:retry-1"


@pytest.fixture
def two_subscribers(subscribed: Pages) -> Pages:
    """alice (from `subscribed`) and bob, each with a subscription that pays."""
    subscribed.api.customer("bob")
    subscribed.card("bob", VISA)
    subscribed.api.subscription("sub-bob", customer="bob")
    return subscribed


def pause(pages: Pages, sub_id: str = "sub-alice", headers: dict[str, str] = KEY) -> object:
    return pages.submit(SUB, manage(pages, sub_id), headers=headers, action="pause")


def status(pages: Pages, sub_id: str) -> SubscriptionStatus:
    return pages.subscription(sub_id).status


def records(pages: Pages) -> set[str]:
    return set(pages.api.repo.idempotency)


def test_a_page_post_after_the_admins_request_with_the_same_key_runs_as_its_own(
    subscribed: Pages,
) -> None:
    admin = subscribed.api.post(
        "/v1/customers", {"id": "carol", "email": "carol@example.com"}, headers=KEY
    )

    page = pause(subscribed)

    assert admin.status == 201
    # Before, the page was answered with the admin's record: a JSON 422 that told it the key
    # was taken, and the pause never ran.
    assert page.status == 200 and "Idempotent-Replayed" not in page.headers
    assert status(subscribed, "sub-alice") is SubscriptionStatus.PAUSED
    assert records(subscribed) == {"api:retry-1", PAGE_RECORD}


def test_a_page_post_cannot_take_a_key_from_the_admin(subscribed: Pages) -> None:
    pause(subscribed)

    admin = subscribed.api.post(
        "/v1/customers", {"id": "carol", "email": "carol@example.com"}, headers=KEY
    )

    assert admin.status == 201 and "Idempotent-Replayed" not in admin.headers
    assert subscribed.api.repo.get_customer("carol") is not None


def test_two_customers_pages_with_the_same_key_each_run(two_subscribers: Pages) -> None:
    alice = pause(two_subscribers, "sub-alice")
    bob = two_subscribers.submit(
        SUB,
        two_subscribers.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-bob", "bob"),
        headers=KEY,
        action="pause",
    )

    assert (alice.status, bob.status) == (200, 200)
    assert "Idempotent-Replayed" not in bob.headers
    assert status(two_subscribers, "sub-bob") is SubscriptionStatus.PAUSED
    assert "page@bob/manage_subscription:retry-1" in records(two_subscribers)


def test_a_page_retry_with_its_key_replays_its_own_answer_once(subscribed: Pages) -> None:
    token = manage(subscribed)
    form = {"t": token, "f": subscribed.form_token(SUB, token) or "", "action": "pause"}
    body = urlencode(form)

    first = subscribed.post_raw(SUB, body, headers=KEY)
    again = subscribed.post_raw(SUB, body, headers=KEY)

    assert first.status == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.text == first.text
    assert subscribed.api.repo.idempotency_customers[PAGE_RECORD] == "alice"  # erased with her


def test_a_page_post_whose_link_does_not_hold_claims_no_key(subscribed: Pages) -> None:
    forged = manage(subscribed)[:-2] + "xx"

    refused = subscribed.submit(SUB, forged, form_token="", headers=KEY, action="pause")

    assert refused.status == 403
    assert records(subscribed) == set()  # nobody's key is taken, nor read
    assert status(subscribed, "sub-alice") is SubscriptionStatus.ACTIVE


def test_a_page_replay_is_the_first_answer_with_its_content_type_and_security_headers(
    subscribed: Pages,
) -> None:
    token = manage(subscribed)
    form = {"t": token, "f": subscribed.form_token(SUB, token) or "", "action": "pause"}
    body = urlencode(form)
    first = subscribed.post_raw(SUB, body, headers=KEY)

    again = subscribed.post_raw(SUB, body, headers=KEY)

    assert first.headers["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in first.headers
    # Before, the page came back as JSON, without its policy, framing and caching headers.
    assert again.headers == first.headers | {"Idempotent-Replayed": "true"}
    assert again.text == first.text  # the policy's nonce is the one the page's styles carry


def test_a_page_answer_stored_before_headers_were_kept_replays_as_json_as_before(
    subscribed: Pages,
) -> None:
    token = manage(subscribed)
    form = {"t": token, "f": subscribed.form_token(SUB, token) or "", "action": "pause"}
    body = urlencode(form)
    first = subscribed.post_raw(SUB, body, headers=KEY)
    stored = subscribed.api.repo.idempotency[PAGE_RECORD].response
    assert stored is not None
    del stored["headers"]  # the record's shape until headers were kept

    again = subscribed.post_raw(SUB, body, headers=KEY)

    assert again.status == first.status and again.text == first.text
    assert again.headers == {"Content-Type": "application/json", "Idempotent-Replayed": "true"}
