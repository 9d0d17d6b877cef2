"""The subscription page's retention forms: the exit reason a cancel must carry, and
redeeming loyalty points; each refusal a 422 page that changes nothing, in every language."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from test_api_pages import (  # noqa: F401 - `pages` and `subscribed` are the fixtures
    Pages,
    manage,
    pages,
    subscribed,
)

from tenure.domain.offers import EXIT_REASONS
from tenure.domain.points import PointsEntry, PointsKind, PointsMove
from tenure.notify import pages as page_strings
from tenure.ports import Commit

SUB = "/pages/subscription"
LOYALTY = {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 5}


def strings(locale: str) -> dict[str, str]:
    return page_strings.strings(locale)


def with_locale(pages: Pages, locale: str) -> Pages:
    pages.api.customer("alice", locale=locale)
    pages.card("alice", "pm_card_visa")
    pages.api.subscription()
    return pages


@pytest.fixture
def loyal(subscribed: Pages) -> Pages:
    """Alice, subscribed, with the loyalty program on and 40 points (worth $2.00)."""
    reply = subscribed.api.call("PUT", "/v1/programs", {"version": 0, "loyalty": LOYALTY})
    assert reply.status == 200, reply.text
    earn(subscribed, 40)
    return subscribed


def earn(pages: Pages, points: int, customer: str = "alice") -> None:
    at = pages.api.clock.now()
    entry = PointsEntry(customer, at, PointsKind.EARNED, points, "in_1", points * 100)
    pages.api.repo.commit(Commit(points=[PointsMove(customer, balance=points, entry=entry)]))


def balance(pages: Pages) -> int:
    return pages.api.repo.get_points("alice").balance


# -- the exit reason ------------------------------------------------------------------------------
def test_the_cancel_form_asks_why_with_a_labelled_required_choice_for_each_reason(
    subscribed: Pages,
) -> None:
    text = subscribed.open(SUB, manage(subscribed)).text

    assert "<fieldset>" in text and "<legend>Why are you leaving?</legend>" in text
    for code in EXIT_REASONS:
        assert f'id="reason-{code}" required>' in text
        assert f'<label for="reason-{code}">' in text
    assert '<label for="reason_text">' in text and 'maxlength="500"' in text


@pytest.mark.parametrize("reason", EXIT_REASONS)
def test_a_cancel_records_the_reason_the_customer_picked(subscribed: Pages, reason: str) -> None:
    reply = subscribed.submit(SUB, manage(subscribed), action="cancel", reason=reason)

    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert sub.cancel_at_period_end and sub.cancel_reason == reason


@pytest.mark.parametrize("fields", [{}, {"reason": ""}, {"reason": "customer_self_service"}])
@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_a_cancel_without_a_known_reason_is_refused_in_the_customers_language(
    pages: Pages, fields: dict[str, str], locale: str
) -> None:
    with_locale(pages, locale)
    before = pages.api.state()

    reply = pages.submit(SUB, manage(pages), action="cancel", **fields)

    assert reply.status == 422
    assert strings(locale)["exit_reason_missing"] in reply.text
    assert 'name="reason"' in reply.text  # the picker is shown again to choose from
    assert pages.api.state() == before


def test_the_words_given_with_other_are_kept_with_the_offers_they_saw(
    pages: Pages,
) -> None:
    with_locale(pages, "ar")
    pages.api.plan("lite", 500, name="Lite")
    offers = [{"id": "down", "kind": "change_plan", "plan": "lite"}]
    reply = pages.api.call("PUT", "/v1/programs", {"version": 0, "save_offers": offers})
    assert reply.status == 200
    token = manage(pages)

    reply = pages.submit(
        SUB, token, action="cancel", reason="other", reason_text="  السعر\nمرتفع  "
    )

    attempt = pages.api.repo.get_save_attempt("sub-alice")
    assert attempt is not None
    assert (attempt.reason, attempt.reason_text) == ("other", "السعر مرتفع")
    # Declining goes on with the same reason: the page carries it in the decline form.
    hidden = dict(re.findall(r'name="(reason(?:_text)?)" value="([^"]*)"', reply.text))
    assert hidden == {"reason": "other", "reason_text": "السعر مرتفع"}
    declined = pages.submit(SUB, token, action="decline_offers", **hidden)
    assert declined.status == 200
    assert pages.subscription("sub-alice").cancel_reason == "other"


def test_words_given_with_another_reason_are_not_kept(subscribed: Pages) -> None:
    subscribed.api.plan("lite", 500, name="Lite")
    offers = [{"id": "down", "kind": "change_plan", "plan": "lite"}]
    subscribed.api.call("PUT", "/v1/programs", {"version": 0, "save_offers": offers})

    subscribed.submit(
        SUB, manage(subscribed), action="cancel", reason="switched", reason_text="typed first"
    )

    attempt = subscribed.api.repo.get_save_attempt("sub-alice")
    assert attempt is not None and (attempt.reason, attempt.reason_text) == ("switched", None)


def test_words_over_the_limit_are_refused_and_change_nothing(subscribed: Pages) -> None:
    before = subscribed.api.state()

    reply = subscribed.submit(
        SUB, manage(subscribed), action="cancel", reason="other", reason_text="ж" * 501
    )

    assert reply.status == 422
    assert "longer than 500 characters" in reply.text
    assert subscribed.api.state() == before


def test_words_at_the_limit_in_cyrillic_fit_in_the_form(subscribed: Pages) -> None:
    reply = subscribed.submit(
        SUB, manage(subscribed), action="cancel", reason="other", reason_text="ж" * 500
    )
    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert (sub.cancel_reason, sub.cancel_reason_text) == ("other", "ж" * 500)


def test_words_typed_in_arabic_without_offers_are_kept_with_the_cancel(
    subscribed: Pages,
) -> None:
    # A textarea sends its line breaks as CR LF: the page keeps the words on one line.
    reply = subscribed.submit(
        SUB, manage(subscribed), action="cancel", reason="other", reason_text=" السعر\r\nمرتفع "
    )

    assert reply.status == 200, reply.text
    sub = subscribed.subscription("sub-alice")
    assert (sub.cancel_reason, sub.cancel_reason_text) == ("other", "السعر مرتفع")


# -- redeeming points -----------------------------------------------------------------------------
def test_without_a_loyalty_program_the_page_has_no_points_form(subscribed: Pages) -> None:
    text = subscribed.open(SUB, manage(subscribed)).text
    assert 'id="points"' not in text and "redeem_points" not in text


def test_a_redeem_posted_while_the_program_is_off_is_refused_and_changes_nothing(
    subscribed: Pages,
) -> None:
    earn(subscribed, 40)
    before = subscribed.api.state()

    reply = subscribed.submit(SUB, manage(subscribed), action="redeem_points", points="10")

    assert reply.status == 409
    assert "the loyalty program is not running" in reply.text
    assert subscribed.api.state() == before and balance(subscribed) == 40


def test_the_page_shows_the_balance_its_value_and_a_labelled_form(loyal: Pages) -> None:
    text = loyal.open(SUB, manage(loyal)).text

    assert "Your balance: 40 points, worth $2.00." in text
    assert '<label for="points-count">Points to redeem (1 to 40)</label>' in text
    assert 'type="number" name="points" id="points-count" min="1" max="40"' in text
    assert 'name="f" value="' in text.split('id="redeem-form"')[1].split("</form>")[0]


def test_redeeming_within_the_balance_credits_the_next_invoice(loyal: Pages) -> None:
    reply = loyal.submit(SUB, manage(loyal), action="redeem_points", points="15")

    assert reply.status == 200, reply.text
    assert "15 points ($0.75) will be taken off your next invoice" in reply.text
    assert balance(loyal) == 25
    assert loyal.subscription("sub-alice").points_pending == 15
    assert "Your balance: 25 points" in reply.text


def test_a_customer_without_points_sees_the_balance_and_no_form(subscribed: Pages) -> None:
    subscribed.api.call("PUT", "/v1/programs", {"version": 0, "loyalty": LOYALTY})
    text = subscribed.open(SUB, manage(subscribed)).text
    assert "You have no points to redeem yet." in text and "redeem-form" not in text


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_a_customer_owing_points_after_a_refund_is_told_so_and_gets_no_form(
    pages: Pages, locale: str
) -> None:
    with_locale(pages, locale)
    pages.api.call("PUT", "/v1/programs", {"version": 0, "loyalty": LOYALTY})
    at = pages.api.clock.now()
    taken = PointsEntry("alice", at, PointsKind.REVERSED, -12, "in_1", 1200)
    pages.api.repo.commit(Commit(points=[PointsMove("alice", balance=-12, entry=taken)]))

    text = pages.open(SUB, manage(pages)).text

    assert strings(locale)["points_owed"].format(points=12) in text
    assert "redeem-form" not in text and "-12" not in text


@pytest.mark.parametrize(
    ("points", "says"),
    [
        ("41", "Your balance is 40 points: enter 40 or fewer."),
        ("9" * 9, "Your balance is 40 points"),
        ("9" * 3000, "Your balance is 40 points"),  # never turned into a number
        ("0", "Enter at least 1 point."),
        ("000", "Enter at least 1 point."),
        ("", "Enter a whole number of points"),
        ("-5", "Enter a whole number of points"),
        ("2.5", "Enter a whole number of points"),
        ("1e3", "Enter a whole number of points"),
        ("٣", "Enter a whole number of points"),  # Arabic-Indic three: int() would take it
        ("１０", "Enter a whole number of points"),  # fullwidth digits
        ("²", "Enter a whole number of points"),  # a digit to isdigit(), not to int()
        ("ten", "Enter a whole number of points"),
    ],
)
def test_a_redeem_outside_the_balance_or_not_a_whole_number_is_refused(
    loyal: Pages, points: str, says: str
) -> None:
    before = loyal.api.state()

    reply = loyal.submit(SUB, manage(loyal), action="redeem_points", points=points)

    assert reply.status == 422
    assert says in reply.text and "Nothing was changed." in reply.text
    assert loyal.api.state() == before and balance(loyal) == 40


def test_a_redeem_form_without_the_points_field_is_refused(loyal: Pages) -> None:
    before = loyal.api.state()
    reply = loyal.submit(SUB, manage(loyal), action="redeem_points")
    assert reply.status == 422 and "whole number" in reply.text
    assert loyal.api.state() == before


def test_a_redeem_with_many_fields_or_the_points_twice_is_refused_unread(loyal: Pages) -> None:
    token = manage(loyal)
    form_token = loyal.form_token(SUB, token)
    before = loyal.api.state()
    base = {"t": token, "f": form_token, "action": "redeem_points"}
    many = urlencode(base | {"points": "1"} | {f"x{n}": "1" for n in range(20)})
    twice = urlencode(base) + "&points=1&points=40"

    assert loyal.post_raw(SUB, many).status == 400
    assert loyal.post_raw(SUB, twice).status == 400
    assert loyal.api.state() == before


def test_a_redeem_without_the_form_token_is_refused(loyal: Pages) -> None:
    before = loyal.api.state()
    body = urlencode({"t": manage(loyal), "action": "redeem_points", "points": "10"})
    reply = loyal.post_raw(SUB, body)
    assert reply.status == 403
    assert loyal.api.state() == before


def test_a_redeem_with_nothing_to_invoice_is_refused_and_changes_nothing(loyal: Pages) -> None:
    token = manage(loyal)
    loyal.submit(SUB, token, action="cancel", reason="switched")
    before = loyal.api.state()

    reply = loyal.submit(SUB, token, action="redeem_points", points="10")

    assert reply.status == 409
    assert "there is no upcoming invoice" in reply.text
    assert loyal.api.state() == before and balance(loyal) == 40


@pytest.mark.parametrize("locale", ["ru", "ar"])
def test_the_points_form_speaks_the_customers_language(pages: Pages, locale: str) -> None:
    with_locale(pages, locale)
    pages.api.call("PUT", "/v1/programs", {"version": 0, "loyalty": LOYALTY})
    earn(pages, 40)
    token = manage(pages)

    shown = pages.open(SUB, token).text
    refused = pages.submit(SUB, token, action="redeem_points", points="٣")
    done = pages.submit(SUB, token, action="redeem_points", points="3")

    words = strings(locale)
    assert words["points_heading"] in shown and words["redeem_points"] in shown
    assert f'dir="{"rtl" if locale == "ar" else "ltr"}"' in shown
    assert words["points_not_a_number"] in refused.text
    assert done.status == 200 and words["points_done"].split("{")[0] in done.text
    assert balance(pages) == 37


def test_a_double_submitted_redeem_form_redeems_once_and_is_answered_as_done(
    loyal: Pages,
) -> None:
    token = manage(loyal)
    form_token = loyal.form_token(SUB, token)

    first = loyal.submit(SUB, token, form_token, action="redeem_points", points="10")
    again = loyal.submit(SUB, token, form_token, action="redeem_points", points="10")

    assert first.status == again.status == 200
    assert "10 points ($0.50) will be taken off" in again.text
    assert balance(loyal) == 30 and loyal.subscription("sub-alice").points_pending == 10


def test_the_next_page_redeems_again(loyal: Pages) -> None:
    token = manage(loyal)
    loyal.submit(SUB, token, action="redeem_points", points="10")
    loyal.api.clock.advance(timedelta(seconds=5))  # another page, another form

    reply = loyal.submit(SUB, token, action="redeem_points", points="10")

    assert reply.status == 200 and balance(loyal) == 20
