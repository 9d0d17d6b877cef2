"""Why a page refused an action is said in the customer's language, as the rest of the page
is: the reason comes from the pages' catalog by what refused the action (the subscription's
or case's state, the field a rule was about), never the domain's English message, which is
written for the API's callers."""

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

import html
import json
import re

import pytest
from test_api_collection_cases import an_open_case
from test_api_pages import VISA, Pages, manage, pages, signed_form_token  # noqa: F401

from tenure.domain.collection_cases import CaseStatus
from tenure.domain.errors import (
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify import pages as page_strings
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import subscriptions

SUB = "/pages/subscription"
CASES = "/pages/collections"
RTL = '<html lang="ar" dir="rtl">'


def refusal(locale: str, reason_key: str) -> str:
    """The refusal as the page shows it (escaped as the template writes it)."""
    strings = page_strings.strings(locale)
    return html.escape(strings["action_failed"].format(reason=strings[reason_key]))


def ended_subscriber(pages: Pages, locale: str) -> Pages:
    """alice, speaking `locale`, whose subscription ended at once."""
    pages.api.customer("alice", locale=locale)
    pages.card("alice", VISA)
    pages.api.subscription()
    subscriptions.cancel(pages.svc, "sub-alice", at_period_end=False, reason="other")
    return pages


def test_a_refused_pause_in_arabic_says_why_in_arabic_right_to_left(pages: Pages) -> None:
    ended_subscriber(pages, "ar")
    before = pages.api.state()

    reply = pages.submit(SUB, manage(pages), action="pause")

    assert reply.status == 409
    assert RTL in reply.text
    assert "لا يمكن تنفيذ ذلك الآن: انتهى الاشتراك" in reply.text
    assert refusal("ar", "reason_subscription_canceled") in reply.text
    assert "cannot pause" not in reply.text and "canceled" not in reply.text
    assert pages.api.state() == before


def test_a_refused_pause_in_russian_says_why_in_russian(pages: Pages) -> None:
    ended_subscriber(pages, "ru")

    reply = pages.submit(SUB, manage(pages), action="pause")

    assert reply.status == 409
    assert "Сейчас это невозможно: подписка завершена" in reply.text
    assert "cannot pause" not in reply.text and 'dir="rtl"' not in reply.text


def test_an_unknown_action_is_refused_in_the_customers_language(pages: Pages) -> None:
    pages.api.customer("alice", locale="ru")
    pages.card("alice", VISA)
    pages.api.subscription()

    reply = pages.submit(SUB, manage(pages), action="delete_everything")

    assert reply.status == 409
    assert refusal("ru", "reason_field_action") in reply.text
    assert "unknown action" not in reply.text


@pytest.mark.parametrize(
    ("locale", "said"),
    [("ar", "خطة السداد سارية بالفعل"), ("ru", "план погашения уже действует")],
)
def test_a_case_already_in_a_plan_is_refused_in_the_customers_language(
    pages: Pages, locale: str, said: str
) -> None:
    pages.api.customer("alice", locale=locale)
    case_id = an_open_case(pages.api)
    token = pages.link(LinkPurpose.COLLECTIONS, case_id)
    assert pages.submit(CASES, token, action="plan", count="2", every="week").status == 200
    form = signed_form_token(pages, token)  # a copy of the form kept from before

    again = pages.submit(CASES, token, form, action="plan", count="4", every="week")

    assert again.status == 409
    assert said in again.text and refusal(locale, "reason_case_in_plan") in again.text
    assert (RTL in again.text) is (locale == "ar")
    assert "cannot" not in again.text


def test_an_english_refusal_reads_from_the_catalog_too(pages: Pages) -> None:
    ended_subscriber(pages, "en")

    reply = pages.submit(SUB, manage(pages), action="pause")

    assert "That cannot be done now: the subscription has ended" in reply.text


def reason_key(exc: DomainError) -> str:
    import api_pages_visit  # the api function's module, on the path once the api is loaded

    key: str = api_pages_visit.reason_key(exc)
    return key


@pytest.mark.usefixtures("api_module")
@pytest.mark.parametrize(
    ("exc", "key"),
    [
        (IllegalTransitionError("pause", "paused"), "reason_subscription_paused"),
        (IllegalTransitionError("pay", "settled", entity="case"), "reason_case_settled"),
        (IllegalTransitionError("pay", "paid", entity="invoice"), "reason_invoice_paid"),
        (IllegalTransitionError("erase", "erased", entity="customer"), "reason_other"),
        (ValidationFailedError("items", "these items cannot be changed now"), "reason_field_items"),
        (ValidationFailedError("no_such_field", "anything"), "reason_other"),
        (NotFoundError("subscription", "sub-1"), "reason_not_found"),
        (DomainError("anything else"), "reason_other"),
    ],
)
def test_each_refusal_is_said_by_a_catalog_key_and_anything_unknown_by_a_general_one(
    exc: DomainError, key: str
) -> None:
    assert reason_key(exc) == key


def test_every_state_an_action_can_meet_has_its_reason_in_every_language() -> None:
    catalog = json.loads((page_strings.PAGES_DIR / "strings.json").read_text())
    states = [f"reason_subscription_{s}" for s in SubscriptionStatus]
    states += [f"reason_case_{s}" for s in CaseStatus]
    states += [f"reason_invoice_{s}" for s in InvoiceStatus]
    reasons = [key for key in catalog["en"] if key.startswith("reason_")]
    assert set(states) <= set(reasons) and "reason_other" in reasons
    for locale in page_strings.LOCALES:
        for key in reasons:
            text = catalog[locale].get(key, "")
            assert text and not re.search(r"\{\w+\}", text), (locale, key)
            if locale != "en":
                assert text != catalog["en"][key], (locale, key)  # translated, not copied
