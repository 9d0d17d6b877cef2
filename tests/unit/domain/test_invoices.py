"""Invoices: itemized lines whose sum is the total, tax split out, credit capped, statuses."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.errors import IllegalTransitionError
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    apply_credit,
    plan_lines,
    with_tax,
)
from tenure.domain.money import Money, charge_step
from tenure.domain.plans import IntroPhase, Plan, TaxBehavior, tax_included_in, tax_on

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
FEB_28 = datetime(2026, 2, 28, 9, tzinfo=UTC)


def a_plan(**overrides: Any) -> Plan:
    fields: dict[str, Any] = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    fields.update(overrides)
    return Plan(**fields)


def an_invoice(
    lines: list[InvoiceLine] | None = None, status: InvoiceStatus = InvoiceStatus.OPEN
) -> Invoice:
    return Invoice(
        id="in_sub-1_first_20260131T090000Z",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.FIRST,
        period_start=JAN_31,
        period_end=FEB_28,
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)] if lines is None else lines,
        status=status,
        created_at=JAN_31,
    )


def billed(plan: Plan, period: int = 0, credit: int = 0) -> tuple[list[InvoiceLine], int]:
    """The lines of one full period of `plan`, the way the services build them."""
    return apply_credit(with_tax(plan_lines(plan, period, "Basic"), plan), credit)


def amounts(lines: list[InvoiceLine]) -> list[tuple[LineKind, int]]:
    return [(line.kind, line.amount) for line in lines]


# --- lines and totals -----------------------------------------------------------------------


def test_a_plain_plan_bills_one_plan_line() -> None:
    lines, used = billed(a_plan())

    assert amounts(lines) == [(LineKind.PLAN, 1000)]
    assert used == 0
    assert an_invoice(lines).total == 1000


def test_an_intro_period_bills_the_full_price_and_a_discount_line() -> None:
    plan = a_plan(intro=[IntroPhase(periods=3, percent_off=Decimal(50))])

    lines, _ = billed(plan, period=0)

    assert amounts(lines) == [(LineKind.PLAN, 1000), (LineKind.DISCOUNT, -500)]
    assert lines[1].description == "Introductory 50% off"
    assert an_invoice(lines).total == 500


def test_after_the_intro_the_discount_line_is_gone() -> None:
    plan = a_plan(intro=[IntroPhase(periods=3, percent_off=Decimal(50))])

    lines, _ = billed(plan, period=3)

    assert amounts(lines) == [(LineKind.PLAN, 1000)]


def test_exclusive_tax_adds_a_tax_line_rounded_half_up() -> None:
    plan = a_plan(amount=1005, tax_rate=Decimal(10))

    lines, _ = billed(plan)

    assert amounts(lines) == [(LineKind.PLAN, 1005), (LineKind.TAX, 101)]  # 100.5 -> 101
    assert lines[1].description == "Tax 10%"
    assert an_invoice(lines).total == 1106


def test_exclusive_tax_is_charged_on_the_discounted_amount() -> None:
    plan = a_plan(tax_rate=Decimal(20), intro=[IntroPhase(periods=1, percent_off=Decimal(50))])

    lines, _ = billed(plan)

    assert amounts(lines) == [(LineKind.PLAN, 1000), (LineKind.DISCOUNT, -500), (LineKind.TAX, 100)]


def test_inclusive_tax_is_split_out_and_the_total_stays_the_price() -> None:
    plan = a_plan(amount=1200, tax_rate=Decimal(20), tax_behavior=TaxBehavior.INCLUSIVE)

    lines, _ = billed(plan)

    assert amounts(lines) == [(LineKind.PLAN, 1000), (LineKind.TAX, 200)]
    assert lines[1].description == "Tax 20% (included)"
    assert an_invoice(lines).total == 1200


def test_inclusive_tax_with_an_intro_discount_keeps_the_total_at_the_discounted_price() -> None:
    plan = a_plan(
        amount=1200,
        tax_rate=Decimal(20),
        tax_behavior=TaxBehavior.INCLUSIVE,
        intro=[IntroPhase(periods=1, percent_off=Decimal(50))],
    )

    lines, _ = billed(plan)

    assert an_invoice(lines).total == 600
    assert [line.amount for line in lines if line.kind is LineKind.TAX] == [100]


def test_a_zero_tax_rate_adds_no_tax_line() -> None:
    lines, _ = billed(a_plan(tax_rate=Decimal(0)))
    assert [line.kind for line in lines] == [LineKind.PLAN]


def test_the_total_is_also_available_as_money_in_the_invoice_currency() -> None:
    assert an_invoice().total_money == Money(1000, "USD")


# --- credit ---------------------------------------------------------------------------------


def test_credit_smaller_than_the_total_is_used_in_full() -> None:
    lines, used = billed(a_plan(), credit=300)

    assert used == 300
    assert amounts(lines) == [(LineKind.PLAN, 1000), (LineKind.CREDIT, -300)]
    assert an_invoice(lines).total == 700


def test_credit_larger_than_the_total_is_capped_at_the_total() -> None:
    lines, used = billed(a_plan(tax_rate=Decimal(10)), credit=5000)

    assert used == 1100
    assert an_invoice(lines).total == 0


@pytest.mark.parametrize("credit", [0, -100])
def test_no_credit_or_negative_credit_adds_no_credit_line(credit: int) -> None:
    lines, used = billed(a_plan(), credit=credit)

    assert used == 0
    assert [line.kind for line in lines] == [LineKind.PLAN]


def test_credit_is_not_used_against_a_total_that_is_already_negative() -> None:
    lines = [InvoiceLine(LineKind.PRORATION, "Unused time", -500)]

    after, used = apply_credit(lines, 1000)

    assert used == 0
    assert after == lines


currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])
rates = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
intro_phases = st.lists(
    st.builds(
        IntroPhase,
        periods=st.integers(1, 3),
        percent_off=st.decimals(min_value=Decimal("0.0001"), max_value=100, places=4),
    ),
    max_size=2,
)


@given(
    amount=st.integers(0, 10**9),
    currency=currencies,
    rate=rates,
    behavior=st.sampled_from(TaxBehavior),
    intro=intro_phases,
    period=st.integers(0, 6),
    credit=st.integers(-(10**6), 2 * 10**9),
)
def test_an_invoice_total_is_the_price_plus_exclusive_tax_minus_credit_and_the_sum_of_its_lines(
    amount: int,
    currency: str,
    rate: Decimal,
    behavior: TaxBehavior,
    intro: list[IntroPhase],
    period: int,
    credit: int,
) -> None:
    plan = a_plan(
        amount=amount, currency=currency, tax_rate=rate, tax_behavior=behavior, intro=intro
    )
    net = plan.price_for_period(period).amount_minor
    step = charge_step(currency)  # tax in three-decimal currencies rounds to 10
    gross = net + tax_on(net, rate, step) if behavior is TaxBehavior.EXCLUSIVE else net
    expected_credit = min(max(credit, 0), gross)

    lines, used = billed(plan, period, credit)
    invoice = an_invoice(lines)

    assert used == expected_credit
    assert invoice.total == gross - expected_credit
    assert invoice.total == sum(line.amount for line in lines)
    assert 0 <= invoice.total <= gross
    tax = sum(line.amount for line in lines if line.kind is LineKind.TAX)
    expected_tax = (
        tax_on(net, rate, step)
        if behavior is TaxBehavior.EXCLUSIVE
        else tax_included_in(net, rate, step)
    )
    assert tax == expected_tax
    assert sum(line.amount for line in lines if line.kind is not LineKind.CREDIT) == gross


# --- status ---------------------------------------------------------------------------------


def test_an_open_invoice_can_be_paid_and_remembers_when() -> None:
    invoice = an_invoice(status=InvoiceStatus.OPEN)

    invoice.mark_paid(FEB_28)

    assert invoice.status is InvoiceStatus.PAID
    assert invoice.paid_at == FEB_28


@pytest.mark.parametrize("status", sorted(set(InvoiceStatus) - {InvoiceStatus.OPEN}))
def test_only_an_open_invoice_can_be_paid(status: InvoiceStatus) -> None:
    invoice = an_invoice(status=status)

    with pytest.raises(IllegalTransitionError):
        invoice.mark_paid(FEB_28)

    assert invoice.status is status
    assert invoice.paid_at is None


@pytest.mark.parametrize("status", [InvoiceStatus.DRAFT, InvoiceStatus.OPEN])
def test_a_draft_or_open_invoice_can_be_voided(status: InvoiceStatus) -> None:
    invoice = an_invoice(status=status)

    invoice.void()

    assert invoice.status is InvoiceStatus.VOID


@pytest.mark.parametrize(
    "status", [InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE]
)
def test_a_paid_void_or_uncollectible_invoice_cannot_be_voided(status: InvoiceStatus) -> None:
    invoice = an_invoice(status=status)

    with pytest.raises(IllegalTransitionError):
        invoice.void()

    assert invoice.status is status


def test_the_refusal_to_pay_an_invoice_talks_about_the_invoice_not_a_subscription() -> None:
    invoice = an_invoice(status=InvoiceStatus.PAID)

    with pytest.raises(IllegalTransitionError) as refused:
        invoice.mark_paid(FEB_28)

    assert "subscription" not in str(refused.value)
    assert "invoice" in str(refused.value)
