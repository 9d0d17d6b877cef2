"""Page forms are posted by the page itself or refused: HTML form bodies only, from this
site, with the form token the page was rendered with. Pause and cancel act once per link. A
form whose work was committed never reports failure. Money reads as in the emails."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    ORIGIN,
    Pages,
    manage,
    needs_authentication,
    pages,
    past_due,
    subscribed,
)

from tenure import bootstrap
from tenure.domain.errors import ConcurrencyError
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify.link_tokens import LinkPurpose
from tenure.notify.render import format_money
from tenure.services import cards, charging_settle, subscriptions
from tenure.settings import Settings

SUB = "/pages/subscription"


def assert_refused_page(reply: Any, status: int, words: str) -> None:
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert words in reply.text
    assert "alice" not in reply.text and "<form" not in reply.text


# -- where a form comes from ---------------------------------------------------------------------
def test_a_cross_site_text_plain_post_with_a_valid_link_changes_nothing(subscribed: Pages) -> None:
    token = manage(subscribed)
    before = subscribed.api.state()
    # What <form enctype="text/plain"> on another site sends: "name=value" lines.
    body = f"t={token}\r\naction=cancel\r\n"

    reply = subscribed.post_raw(
        SUB,
        body,
        {
            "content-type": "text/plain",
            "origin": "https://evil.example",
            "sec-fetch-site": "cross-site",
        },
    )

    assert_refused_page(reply, 403, "This form cannot be accepted")
    assert subscribed.api.state() == before
    assert not subscribed.subscription("sub-alice").cancel_at_period_end


def test_a_text_plain_body_is_refused_as_unsupported_even_from_the_page(subscribed: Pages) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    before = subscribed.api.state()

    reply = subscribed.post_raw(
        SUB, f"t={token}&f={form_token}&action=cancel", {"content-type": "text/plain"}
    )

    assert_refused_page(reply, 415, "This request cannot be read")
    assert subscribed.api.state() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "application/json",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        None,
    ],
)
def test_only_an_html_form_body_is_accepted(subscribed: Pages, content_type: str | None) -> None:
    token = manage(subscribed)
    before = subscribed.api.state()

    reply = subscribed.submit(
        SUB, token, headers={"content-type": content_type}, action="cancel", reason="not_using"
    )  # type: ignore[dict-item]

    assert_refused_page(reply, 415, "This request cannot be read")
    assert subscribed.api.state() == before


def test_a_form_from_another_origin_is_refused_even_with_the_right_tokens(
    subscribed: Pages,
) -> None:
    token = manage(subscribed)
    before = subscribed.api.state()

    for headers in (
        {"origin": "https://evil.example", "sec-fetch-site": None},
        {"origin": "http://localhost:3001", "sec-fetch-site": "same-site"},
        {"origin": None, "sec-fetch-site": "cross-site"},
        {"origin": "null", "sec-fetch-site": "cross-site"},
        {"origin": "null", "sec-fetch-site": None},
    ):
        reply = subscribed.submit(SUB, token, headers=headers, action="cancel", reason="not_using")  # type: ignore[arg-type]

        assert_refused_page(reply, 403, "This form cannot be accepted")
    assert subscribed.api.state() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "null", "sec-fetch-site": "same-origin"},  # the page's no-referrer policy
        {"origin": None, "sec-fetch-site": None},  # not a browser: the form token decides
        {"origin": "https://billing.shop.example", "host": "billing.shop.example"},
        {"origin": ORIGIN.upper(), "sec-fetch-site": "same-origin"},
    ],
)
def test_a_form_from_this_site_is_taken(subscribed: Pages, headers: dict[str, str]) -> None:
    reply = subscribed.submit(
        SUB, manage(subscribed), headers=headers, action="cancel", reason="not_using"
    )

    assert reply.status == 200, reply.text
    assert subscribed.subscription("sub-alice").cancel_at_period_end


# -- the form token -------------------------------------------------------------------------------
def test_a_post_without_the_pages_form_token_is_refused(subscribed: Pages) -> None:
    token = manage(subscribed)
    other_link = subscribed.link(
        LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice", expires_in=timedelta(days=3)
    )
    real = subscribed.form_token(SUB, token)
    assert real is not None
    issued, _, mac = real.partition(".")
    before = subscribed.api.state()

    for form_token in (
        "",
        "garbage",
        f"{issued}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # tampered
        f"{int(issued) - 1}.{mac}",  # another issue time
        subscribed.form_token(SUB, other_link),  # another link's
        f"{'١' * len(issued)}.{mac}",  # Arabic-Indic digits
        f"{10**30}.{mac}",
    ):
        reply = subscribed.submit(SUB, token, form_token or "", action="cancel", reason="not_using")

        assert_refused_page(reply, 403, "This form cannot be accepted")
    assert subscribed.api.state() == before


def test_a_page_left_open_too_long_asks_to_open_the_link_again(subscribed: Pages) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    subscribed.api.clock.advance(timedelta(hours=2, seconds=1))
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")

    assert_refused_page(reply, 403, "This page was open too long")
    assert subscribed.api.state() == before


def test_a_form_token_from_the_future_is_forged(subscribed: Pages) -> None:
    token = manage(subscribed)
    subscribed.api.clock.advance(timedelta(minutes=5))
    from_the_future = subscribed.form_token(SUB, token)
    subscribed.api.clock.advance(timedelta(minutes=-5))

    reply = subscribed.submit(SUB, token, from_the_future, action="cancel", reason="not_using")

    assert_refused_page(reply, 403, "This form cannot be accepted")


def test_a_page_rendered_before_a_key_rotation_still_posts(
    subscribed: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    monkeypatch.setenv("TENURE_LINK_SECRET", f"brand-new-key,{bootstrap.settings().link_secret}")
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these

    reply = subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")

    assert reply.status == 200, reply.text


def test_the_form_token_is_never_logged(
    subscribed: Pages, capsys: pytest.CaptureFixture[str]
) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    assert form_token is not None

    subscribed.submit(SUB, token, form_token[:-2] + "xx", action="cancel", reason="not_using")

    captured = capsys.readouterr()
    assert form_token[-20:-2] not in captured.out + captured.err
    assert token not in captured.out + captured.err


# -- bodies that are not a page's form ------------------------------------------------------------
def test_bodies_no_page_sends_are_4xx_pages_that_change_nothing(subscribed: Pages) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    good = urlencode({"t": token, "f": form_token, "action": "cancel"})
    before = subscribed.api.state()
    cases: list[tuple[str, str, bool, int]] = [
        ("repeated field", good + "&action=keep", False, 400),
        ("repeated token", good + f"&t={token}", False, 400),
        ("many fields", good + "".join(f"&x{i}=1" for i in range(50)), False, 400),
        ("percent-encoded non-UTF-8", good + "&card=%FF%FE", False, 400),
        ("raw non-UTF-8", base64.b64encode(good.encode() + b"&card=\xff").decode(), True, 400),
        ("not base64", "%%%not base64%%%", True, 400),
        ("5 KB", good + "&card=" + "4" * 5000, False, 413),
    ]
    for case, body, encoded, status in cases:
        reply = subscribed.post_raw(SUB, body, base64_encoded=encoded)

        assert reply.status == status, case
        assert "This request cannot be read" in reply.text, case
    assert subscribed.api.state() == before


def test_a_megabyte_form_body_is_refused_before_it_is_read(subscribed: Pages) -> None:
    token = manage(subscribed)
    before = subscribed.api.state()

    reply = subscribed.post_raw(SUB, f"t={token}&action=cancel&card=" + "9" * 1_048_576)

    assert reply.status == 413
    assert "This request cannot be read" in reply.text  # a page, as for any refused form
    assert subscribed.api.state() == before


# -- pause and cancel act once per link -----------------------------------------------------------
def test_a_replayed_cancel_link_cannot_cancel_again_after_the_customer_kept(
    subscribed: Pages,
) -> None:
    token = manage(subscribed)
    assert subscribed.submit(SUB, token, action="cancel", reason="not_using").status == 200
    assert subscribed.submit(SUB, token, action="keep").status == 200
    before = subscribed.api.state()

    replay = subscribed.submit(SUB, token, action="cancel", reason="not_using")

    assert replay.status == 409
    assert "already been used to cancel" in replay.text
    assert subscribed.api.state() == before
    assert not subscribed.subscription("sub-alice").cancel_at_period_end
    assert 'value="cancel"' not in subscribed.open(SUB, token).text  # no button to press
    assert 'value="pause"' in subscribed.open(SUB, token).text  # the other action still is


def test_a_link_pauses_once_and_the_next_emails_link_pauses_again(subscribed: Pages) -> None:
    token = manage(subscribed)
    assert subscribed.submit(SUB, token, action="pause").status == 200
    assert subscribed.submit(SUB, token, action="keep").status == 200

    replay = subscribed.submit(SUB, token, action="pause")
    fresh = subscribed.submit(
        SUB,
        subscribed.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice", expires_in=timedelta(days=9)),
        action="pause",
    )

    assert replay.status == 409 and "already been used to pause" in replay.text
    assert fresh.status == 200
    assert subscribed.subscription("sub-alice").status is SubscriptionStatus.PAUSED


def test_a_double_submitted_cancel_is_answered_as_done_and_changes_nothing_more(
    subscribed: Pages,
) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")
    before = subscribed.api.state()

    again = subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")

    assert again.status == 200
    assert "end at the end of the paid period" in again.text
    assert subscribed.api.state() == before


def test_a_refused_pause_does_not_use_up_the_link(subscribed: Pages) -> None:
    token = manage(subscribed)
    subscriptions.pause(subscribed.svc, "sub-alice", None)

    refused = subscribed.submit(SUB, token, action="pause")
    subscriptions.resume(subscribed.svc, "sub-alice")
    taken = subscribed.submit(SUB, token, action="pause")

    assert refused.status == 409 and "cannot be done now" in refused.text
    assert taken.status == 200
    assert subscribed.subscription("sub-alice").status is SubscriptionStatus.PAUSED


def conflicting(pages: Pages, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The next `times` commits fail as if another writer got there first."""
    real, failed = pages.api.repo.commit, [0]

    def commit(change: Any) -> None:
        if failed[0] < times:
            failed[0] += 1
            raise ConcurrencyError("subscription sub-alice changed meanwhile")
        real(change)

    monkeypatch.setattr(pages.api.repo, "commit", commit)
    return failed


def test_a_cancel_that_meets_a_concurrent_change_is_tried_again_in_the_request(
    subscribed: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    failed = conflicting(subscribed, monkeypatch, times=2)

    reply = subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")

    assert failed == [2]
    assert reply.status == 200 and "end at the end of the paid period" in reply.text
    assert subscribed.subscription("sub-alice").cancel_at_period_end


def test_a_cancel_that_keeps_conflicting_writes_neither_the_change_nor_the_claim(
    subscribed: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    conflicting(subscribed, monkeypatch, times=3)
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")

    assert reply.status == 409 and "Nothing was changed" in reply.text
    assert subscribed.api.state() == before
    retried = subscribed.submit(SUB, token, form_token, action="cancel", reason="not_using")
    assert retried.status == 200  # the claim was not written: the link still cancels
    assert subscribed.subscription("sub-alice").cancel_at_period_end


# -- work committed is never reported as failed ---------------------------------------------------
def test_a_card_saved_whose_retry_then_fails_says_the_card_is_saved(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = past_due(pages)
    token = pages.link(LinkPurpose.UPDATE_CARD, "alice")
    form_token = pages.form_token("/pages/card", token)

    def conflict(*_: Any, **__: Any) -> None:
        raise ConcurrencyError("invoice changed meanwhile")

    monkeypatch.setattr(cards, "collect_open_invoices", conflict)

    reply = pages.submit("/pages/card", token, form_token, card="4242424242424242")

    assert reply.status == 200, reply.text
    assert "Your new card is saved" in reply.text and "retry it on your new card" in reply.text
    assert pages.api.repo.get_customer("alice").default_payment_method == "pm_card_visa"  # type: ignore[union-attr]
    assert pages.invoice(invoice_id).status is InvoiceStatus.OPEN  # the schedule retries it


def test_a_confirmed_payment_whose_settling_conflicts_once_is_settled(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = needs_authentication(pages)
    token = pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id)
    form_token = pages.form_token("/pages/confirm", token)
    real, calls = charging_settle.settle_reported_payment, []

    def settle_after_a_conflict(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConcurrencyError("invoice changed meanwhile")
        return real(*args, **kwargs)

    monkeypatch.setattr(charging_settle, "settle_reported_payment", settle_after_a_conflict)

    reply = pages.submit("/pages/confirm", token, form_token)

    assert reply.status == 200 and "Paid — thank you" in reply.text
    assert len(calls) == 2
    assert pages.invoice(invoice_id).status is InvoiceStatus.PAID


def test_a_confirmed_payment_that_cannot_be_recorded_yet_is_not_reported_as_failed(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = needs_authentication(pages)
    token = pages.link(LinkPurpose.CONFIRM_PAYMENT, invoice_id)
    form_token = pages.form_token("/pages/confirm", token)

    def conflict(*_: Any, **__: Any) -> None:
        raise ConcurrencyError("invoice changed meanwhile")

    monkeypatch.setattr(charging_settle, "settle_reported_payment", conflict)

    reply = pages.submit("/pages/confirm", token, form_token)

    assert reply.status == 200, reply.text
    assert "Payment confirmed — thank you" in reply.text
    assert "could not be confirmed" not in reply.text and "Nothing was changed" not in reply.text
    assert "payment_intent.succeeded" in [e["type"] for e in pages.gateway.events]


def test_a_comeback_stored_before_a_later_step_fails_is_welcomed_back(
    subscribed: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions.cancel(subscribed.svc, "sub-alice", at_period_end=False, reason="too_expensive")
    token = manage(subscribed)
    form_token = subscribed.form_token(SUB, token)
    real = subscriptions.subscribe

    def subscribe_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise ConcurrencyError("customer_mrr changed meanwhile")

    monkeypatch.setattr(subscriptions, "subscribe", subscribe_then_fail)

    reply = subscribed.submit(SUB, token, form_token, action="come_back")

    assert reply.status == 200, reply.text
    assert "Welcome back!" in reply.text


# -- money as the emails write it -----------------------------------------------------------------
@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_the_pages_write_money_as_the_emails_do(pages: Pages, locale: str) -> None:
    pages.api.customer("alice", locale=locale)
    pages.card("alice", "pm_card_visa")
    pages.api.subscription()

    reply = pages.open(SUB, manage(pages))

    assert format_money(1000, "USD", locale) in reply.text


def test_the_arabic_page_keeps_the_dollar_sign_whole(pages: Pages) -> None:
    pages.api.customer("alice", locale="ar")
    pages.card("alice", "pm_card_visa")
    pages.api.subscription()

    reply = pages.open(SUB, manage(pages))

    # A left-to-right mark after "US$" keeps right-to-left text from showing it as "$US".
    assert "US$\u200e" in reply.text
