"""A coupon's invoice line in emails: read back from the stored English, worded in the
customer's language, with the coupon's own name."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from sample_renewal import renewal_email_with

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms, period_lines
from tenure.domain.notices import LineFact
from tenure.domain.plans import Plan
from tenure.notify.lines import line_facts

T0 = datetime(2026, 1, 31, 9, tzinfo=UTC)
BASIC = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")


def coupon_line(name: str, terms: DiscountTerms) -> LineFact:
    coupon = Coupon(id="c", name=name, terms=terms, duration=CouponDuration.ONCE, created_at=T0)
    lines = period_lines(BASIC, 0, "Basic", coupon.redeem(BASIC, "USD", T0))
    return line_facts(lines)[1]


@pytest.mark.parametrize(
    "terms", [DiscountTerms(percent_off=Decimal(50)), DiscountTerms(amount_off=500, currency="USD")]
)
def test_a_coupon_line_is_read_as_its_coupon_name(terms: DiscountTerms) -> None:
    fact = coupon_line("Spring (returning customers)", terms)
    assert (fact.label, fact.coupon, fact.amount) == (
        "coupon",
        "Spring (returning customers)",
        -500,
    )


@pytest.mark.parametrize(
    ("locale", "words"), [("en", "Coupon SPRING"), ("ru", "Купон SPRING"), ("ar", "قسيمة SPRING")]
)
def test_the_renewal_email_shows_the_coupon_line_in_the_customers_language(
    locale: str, words: str
) -> None:
    coupon = coupon_line("SPRING", DiscountTerms(percent_off=Decimal(15)))
    # The lines add up to the total: shown as they are.
    email = renewal_email_with(replace(coupon, amount=-375), locale)
    for part in (email.html, email.text):
        assert words in part
        assert "(15% off)" not in part  # the stored English stays out of the email
    assert format_currency(Decimal("-3.75"), "USD", locale=locale) in email.text
