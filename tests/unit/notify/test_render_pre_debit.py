"""The pre-debit email in each language: the amount and the debit's day in the customer's
zone, a link to manage the mandate, and, over the mandate's limit, a request for a new one."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tenure.domain.notices import NoticeKind
from tenure.notify.render import RenderError, render
from tenure.notify.samples import sample_facts

FACTS, LINKS = sample_facts(NoticeKind.PRE_DEBIT)
# 20:30 UTC on 1 March is already 2 March in Kolkata: the day shown is the customer's.
LATE = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "amount", "day"),
    [
        ("en", "₹1,499.00", "March 2, 2026"),
        ("ru", "1 499,00 ₹", "2 марта 2026"),
        ("ar", "1,499.00 ₹", "2 مارس 2026"),
    ],
)
def test_a_pre_debit_email_names_the_amount_and_the_customers_day(
    locale: str, amount: str, day: str
) -> None:
    email = render(
        NoticeKind.PRE_DEBIT,
        locale,
        replace(FACTS, when=LATE),
        LINKS,
        timezone="Asia/Kolkata",
        business_name="Shop",
    )
    assert amount.replace(" ", "\xa0") in email.text or amount in email.text
    assert day in email.text and day in email.subject
    assert LINKS["update_card"] in email.text and LINKS["cancel"] in email.text


def test_an_instalments_pre_debit_email_says_which_instalment() -> None:
    facts = replace(FACTS, installment_number=2, installment_count=4, installment_plan=True)
    email = render(
        NoticeKind.PRE_DEBIT,
        "en",
        facts,
        {"update_card": LINKS["update_card"]},
        timezone="UTC",
        business_name="Shop",
    )
    assert "for instalment 2 of 4 of your payment plan" in email.text
    assert "Cancel subscription" not in email.text


def test_over_the_mandates_limit_the_email_asks_for_a_new_mandate_and_announces_nothing() -> None:
    facts = replace(FACTS, mandate_limit=100000)
    email = render(NoticeKind.PRE_DEBIT, "en", facts, LINKS, timezone="UTC", business_name="Shop")
    assert email.subject == "Please set up a new mandate for ₹1,499.00"
    assert "above your mandate's limit of ₹1,000.00" in email.text
    assert "we will debit" not in email.text


def test_a_pre_debit_email_without_the_link_to_manage_the_mandate_is_not_rendered() -> None:
    with pytest.raises(RenderError, match="update_card"):
        render(NoticeKind.PRE_DEBIT, "en", FACTS, {}, timezone="UTC", business_name="Shop")
