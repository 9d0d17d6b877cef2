"""The collections page a signed link opens: the balance line by line, pay in full or choose
a repayment plan through the API's own services; every refused form changes nothing."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

import re
from typing import Any

import pytest
from test_api_collection_cases import an_open_case
from test_api_pages import Pages, _tamper, pages, signed_form_token  # noqa: F401 - `pages` is the fixture

from tenure.domain.collection_cases import CaseStatus
from tenure.notify.link_tokens import LinkPurpose

PAGE = "/pages/collections"


@pytest.fixture
def owing(pages: Pages) -> tuple[Pages, str]:
    pages.api.customer("alice")
    pages.api.customer("bob")
    return pages, an_open_case(pages.api)


def test_the_page_shows_each_line_the_balance_and_both_ways_to_settle(
    owing: tuple[Pages, str],
) -> None:
    pages, case_id = owing
    reply = pages.open(PAGE, pages.link(LinkPurpose.COLLECTIONS, case_id))
    assert reply.status == 200, reply.text
    # The line as the emails word it: the plan and the period it paid for.
    line = r'<td>Basic, [^<]+2026</td><td class="amount">\$10\.01</td>'
    assert re.search(line, reply.text)
    assert '<dd id="balance">$10.01</dd>' in reply.text
    assert "Pay $10.01 now" in reply.text
    assert 'id="intro"' in reply.text
    assert '<option value="6">6</option>' in reply.text
    assert '<option value="7">' not in reply.text  # beyond the default bounds


def test_choosing_a_plan_on_the_page_puts_the_case_in_that_plan(owing: tuple[Pages, str]) -> None:
    pages, case_id = owing
    token = pages.link(LinkPurpose.COLLECTIONS, case_id)
    reply = pages.submit(PAGE, token, action="plan", count="3", every="two_weeks")
    assert reply.status == 200, reply.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.IN_PLAN
    plan = pages.api.repo.get_installment_plan(str(case.plan_id))
    assert plan is not None and (plan.count, str(plan.every)) == (3, "two_weeks")
    assert "Instalment 1 of 3" in reply.text


def pay_in_full(pages: Pages, case_id: str, method: str) -> Any:
    """Alice gives `method` as her card, then presses "pay it all" on the case's page."""
    pages.card("alice", method)
    return pages.submit(PAGE, pages.link(LinkPurpose.COLLECTIONS, case_id), action="pay")


def test_paying_in_full_on_the_page_settles_the_case(owing: tuple[Pages, str]) -> None:
    pages, case_id = owing
    reply = pay_in_full(pages, case_id, "pm_card_visa")
    assert reply.status == 200, reply.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.SETTLED and case.balance == 0
    assert "Paid" in reply.text
    assert 'id="intro"' not in reply.text  # no choice is left to invite


def test_paying_in_full_with_a_declined_card_says_so_and_the_case_waits_in_its_plan(
    owing: tuple[Pages, str],
) -> None:
    pages, case_id = owing
    reply = pay_in_full(pages, case_id, "pm_card_chargeDeclinedInsufficientFunds")
    assert reply.status == 200, reply.text
    assert "The payment did not go through" in reply.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.IN_PLAN and case.balance == 1001
    assert 'id="pay"' not in reply.text  # no second charge offered while this one is dunned


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "plan", "count": "7", "every": "week"},
        {"action": "plan", "count": "1", "every": "week"},
        {"action": "plan", "count": "03", "every": "week"},
        {"action": "plan", "count": " 3", "every": "week"},
        {"action": "plan", "count": "٣", "every": "week"},
        {"action": "plan", "count": "3", "every": "month"},
        {"action": "plan", "count": "3"},
        {"action": "plan", "every": "week"},
        {"action": "settle_for_nothing"},
        {},
    ],
)
def test_a_plan_form_outside_the_choices_is_a_422_that_changes_nothing(
    owing: tuple[Pages, str], fields: dict[str, str]
) -> None:
    pages, case_id = owing
    reply = pages.submit(PAGE, pages.link(LinkPurpose.COLLECTIONS, case_id), **fields)
    assert reply.status == 422, reply.text
    assert "Nothing was changed" in reply.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.OPEN and case.plan_id is None


def test_a_case_already_in_a_plan_is_refused_with_409(owing: tuple[Pages, str]) -> None:
    pages, case_id = owing
    token = pages.link(LinkPurpose.COLLECTIONS, case_id)
    assert pages.submit(PAGE, token, action="plan", count="2", every="week").status == 200
    # The page no longer offers the form; a copy of it kept from before is refused.
    form = signed_form_token(pages, token)
    again = pages.submit(PAGE, token, form, action="plan", count="4", every="week")
    assert again.status == 409, again.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.plans_made == 1


def test_pay_in_full_posted_twice_is_answered_as_paid_and_charges_once(
    owing: tuple[Pages, str],
) -> None:
    # A double click: the second post finds the case settled by the first, which is what
    # the customer asked for; the page must not tell them it "cannot be done".
    pages, case_id = owing
    pages.card("alice", "pm_card_visa")
    token = pages.link(LinkPurpose.COLLECTIONS, case_id)
    form = signed_form_token(pages, token)
    first = pages.submit(PAGE, token, form, action="pay")
    paid = pages.api.repo.commits
    second = pages.submit(PAGE, token, form, action="pay")
    assert (first.status, second.status) == (200, 200), second.text
    assert "Paid" in second.text and "cannot be done" not in second.text
    assert pages.api.repo.commits == paid  # nothing more written, nothing charged again


def test_the_same_plan_posted_twice_is_answered_as_chosen_and_made_once(
    owing: tuple[Pages, str],
) -> None:
    pages, case_id = owing
    token = pages.link(LinkPurpose.COLLECTIONS, case_id)
    form = signed_form_token(pages, token)
    first = pages.submit(PAGE, token, form, action="plan", count="3", every="week")
    second = pages.submit(PAGE, token, form, action="plan", count="3", every="week")
    assert (first.status, second.status) == (200, 200), second.text
    assert "Done: your repayment plan is set" in second.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.plans_made == 1


def test_a_form_posted_from_another_site_is_refused_and_changes_nothing(
    owing: tuple[Pages, str],
) -> None:
    pages, case_id = owing
    token = pages.link(LinkPurpose.COLLECTIONS, case_id)
    reply = pages.submit(
        PAGE,
        token,
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
        action="pay",
    )
    assert reply.status == 403
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.OPEN


def test_another_customers_tampered_or_expired_link_is_refused(owing: tuple[Pages, str]) -> None:
    from datetime import timedelta

    pages, case_id = owing
    bobs = pages.link(LinkPurpose.COLLECTIONS, case_id, customer="bob")
    assert pages.open(PAGE, bobs).status == 403
    good = pages.link(LinkPurpose.COLLECTIONS, case_id)
    assert pages.open(PAGE, _tamper(good)).status == 403
    old = pages.link(LinkPurpose.COLLECTIONS, case_id, expires_in=timedelta(seconds=-1))
    assert pages.open(PAGE, old).status == 410
    manage = pages.link(LinkPurpose.MANAGE_SUBSCRIPTION, case_id)
    assert pages.open(PAGE, manage).status == 403


def test_the_page_speaks_arabic_right_to_left(owing: tuple[Pages, str]) -> None:
    pages, case_id = owing
    customer = pages.api.repo.get_customer("alice")
    assert customer is not None
    customer.locale = "ar"
    from tenure.ports import Commit

    pages.api.repo.commit(Commit(customers=[customer]))
    reply = pages.open(PAGE, pages.link(LinkPurpose.COLLECTIONS, case_id))
    assert reply.status == 200
    assert 'dir="rtl"' in reply.text and "الرصيد" in reply.text


def test_a_portal_link_for_collections_opens_the_open_case(owing: tuple[Pages, str]) -> None:
    pages, _ = owing
    reply = pages.api.post("/v1/customers/alice/portal-links", {"purpose": "collections"})
    assert reply.status == 200, reply.text
    assert "/pages/collections?t=" in reply.json["url"]
    token = reply.json["url"].split("t=", 1)[1]
    from urllib.parse import unquote

    assert pages.open(PAGE, unquote(token)).status == 200


def test_a_portal_link_for_collections_without_an_open_case_is_a_409(pages: Pages) -> None:
    pages.api.customer("carol")
    reply = pages.api.post("/v1/customers/carol/portal-links", {"purpose": "collections"})
    assert reply.status == 409, reply.text


def link_token(reply_text: str, link_id: str, page: str) -> str:
    """The token of the signed link the page offers as `link_id`, which must open `page`."""
    found = re.search(rf'href="http://localhost:3000{page}\?t=([^"&]+)" id="{link_id}"', reply_text)
    assert found, f"no {link_id} to {page}"
    return found.group(1)


def test_paying_in_full_with_a_card_that_needs_3ds_links_to_the_confirm_page_which_settles_it(
    owing: tuple[Pages, str],
) -> None:
    pages, case_id = owing
    reply = pay_in_full(pages, case_id, "pm_card_authenticationRequired")
    assert reply.status == 200, reply.text
    assert "Your bank asks you to confirm this payment" in reply.text
    assert "did not go through" not in reply.text
    waiting = pages.api.repo.get_collection_case(case_id)
    assert waiting is not None and waiting.status is CaseStatus.IN_PLAN
    # The link opens the confirm page for the case's payment, which confirms it once.
    token = link_token(reply.text, "confirm-link", "/pages/confirm")
    shown = pages.open("/pages/confirm", token)
    assert shown.status == 200 and "$10.01" in shown.text
    confirmed = pages.submit("/pages/confirm", token)
    assert confirmed.status == 200, confirmed.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.SETTLED and case.balance == 0


def test_a_declined_pay_in_full_offers_the_card_page_it_speaks_of(
    owing: tuple[Pages, str],
) -> None:
    pages, case_id = owing
    reply = pay_in_full(pages, case_id, "pm_card_chargeDeclinedInsufficientFunds")
    token = link_token(reply.text, "card-link", "/pages/card")
    assert 'id="confirm-link"' not in reply.text
    card_page = pages.open("/pages/card", token)
    # The card page names the instalment still owed, and a card that pays settles the case.
    assert card_page.status == 200 and "$10.01" in card_page.text
    assert "Nothing is owed" not in card_page.text
    saved = pages.submit("/pages/card", token, card="4242424242424242")
    assert saved.status == 200 and "Paid" in saved.text, saved.text
    case = pages.api.repo.get_collection_case(case_id)
    assert case is not None and case.status is CaseStatus.SETTLED and case.balance == 0
