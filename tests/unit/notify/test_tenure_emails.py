"""The tenure discount in emails: its line worded in the customer's language, and the
upcoming-renewal email announcing the step the renewal applies for the first time."""

from decimal import Decimal
from typing import Any

import pytest
from sample_renewal import renewal_email_with

from tenure.domain.discounts import TenureDiscount, period_lines
from tenure.domain.invoices import InvoiceLine, LineKind
from tenure.domain.plans import Plan
from tenure.domain.points import points_credit_line
from tenure.notify.lines import line_facts

BASIC = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")
STEP = TenureDiscount(after_months=12, percent_off=Decimal("12.5"))


def test_a_tenure_line_is_read_back_as_its_percent() -> None:
    lines = period_lines(BASIC, 0, "Basic", None, STEP)
    fact = line_facts(lines)[1]
    assert (fact.label, fact.percent, fact.amount) == ("tenure_discount", "12.5", -125)


def renewal(locale: str, announce: bool) -> tuple[str, str]:
    tenure = line_facts(period_lines(BASIC, 0, "Basic", None, STEP))[1]
    step: dict[str, Any] = {"tenure_months": 12, "tenure_percent": "12.5"} if announce else {}
    email = renewal_email_with(tenure, locale, **step)
    return email.html, email.text


@pytest.mark.parametrize(
    ("locale", "line", "announcement"),
    [
        ("en", "Tenure discount, 12.5% off", "staying with us for 12 months"),
        ("ru", "Скидка за стаж подписки: 12,5\xa0%", "ваш стаж подписки — 12 мес."),
        ("ar", "خصم مدة الاشتراك", "شكرًا لبقائك معنا 12 شهرًا"),
    ],
)
def test_the_renewal_email_words_the_line_and_announces_the_step_in_each_language(
    locale: str, line: str, announcement: str
) -> None:
    for part in renewal(locale, announce=True):
        assert line in part
        assert announcement in part
        assert "after 12 months" not in part  # the stored English stays out of the email


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_a_renewal_that_applies_no_new_step_announces_nothing(locale: str) -> None:
    announced, _ = renewal(locale, announce=True)
    html, text = renewal(locale, announce=False)
    assert len(html) < len(announced)
    assert "12 months" not in text and "мес." not in text and "شهرًا" not in text


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", "Loyalty points redeemed: 1,500"),
        ("ru", "Списано бонусных баллов: 1\xa0500"),
        ("ar", "نقاط الولاء المستبدلة"),
    ],
)
def test_a_points_credit_line_is_worded_in_the_customers_language(locale: str, words: str) -> None:
    lines, _ = points_credit_line([InvoiceLine(LineKind.PLAN, "Basic", 2000)], 1500, 1)
    [credit] = line_facts(lines[1:])
    assert (credit.label, credit.points) == ("points_credit", 1500)
    email = renewal_email_with(credit, locale)
    assert words in email.text
    assert "(1500 points)" not in email.text
