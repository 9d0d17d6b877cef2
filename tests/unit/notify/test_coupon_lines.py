"""A coupon's invoice line in emails: read back from the stored English, worded in the
customer's language, with the coupon's own name."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms, period_lines
from tenure.domain.notices import LineFact, NoticeKind
from tenure.domain.plans import Plan
from tenure.notify.lines import line_facts
from tenure.notify.render import render
from tenure.notify.samples import SAMPLE_TIMEZONE, sample_facts

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
    facts, links = sample_facts(NoticeKind.UPCOMING_RENEWAL)
    coupon = coupon_line("SPRING", DiscountTerms(percent_off=Decimal(15)))
    coupon = replace(coupon, amount=-375)
    lines = (*facts.lines, coupon)
    assert facts.amount is not None and facts.tax is not None
    facts = replace(facts, lines=lines, amount=sum(ln.amount for ln in lines) + facts.tax)
    email = render(
        NoticeKind.UPCOMING_RENEWAL,
        locale,
        facts,
        links,
        timezone=SAMPLE_TIMEZONE,
        business_name="Northwind Coffee Club",
    )
    assert email.warnings == ()  # the lines add up to the total: shown as they are
    for part in (email.html, email.text):
        assert words in part
        assert "(15% off)" not in part  # the stored English stays out of the email
    assert format_currency(Decimal("-3.75"), "USD", locale=locale) in email.text
