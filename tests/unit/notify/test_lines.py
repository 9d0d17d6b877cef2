"""Invoice lines read back from what the domain stores, and periods as each locale writes
them: the words an invoice is named by in emails and pages."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

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
from tenure.domain.notices import LineFact
from tenure.domain.plans import IntroPhase, Plan
from tenure.domain.subscription import Subscription
from tenure.notify import pages
from tenure.notify.lines import case_line_facts, invoice_plan, line_fact, line_facts
from tenure.notify.render import RenderError, format_percent_off, format_period

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
FEB_28 = datetime(2026, 2, 28, 9, tzinfo=UTC)
BASIC = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")
PRO = Plan(id="pro", name="Pro", amount=2000, currency="USD", interval="month")
STARTER = Plan(
    id="starter",
    name="Starter",
    amount=3000,
    currency="USD",
    interval="month",
    intro=(IntroPhase(3, Decimal("12.5")),),
    tax_rate=Decimal("8.25"),
)


def test_a_period_plan_line_is_read_as_its_plan_and_period_not_its_iso_text() -> None:
    (line,) = plan_lines(BASIC, 0, "Basic (2026-01-31T09:00:00Z – 2026-02-28T09:00:00Z)")
    fact = line_fact(line)
    assert (fact.label, fact.plan, fact.start, fact.end) == ("plan", "Basic", JAN_31, FEB_28)


def test_a_plan_line_without_a_period_takes_the_invoices() -> None:
    (line,) = plan_lines(BASIC, 0, "Basic")
    fact = line_fact(line, JAN_31, FEB_28)
    assert (fact.label, fact.plan, fact.start, fact.end) == ("plan", "Basic", JAN_31, FEB_28)


def test_a_plan_named_like_a_period_with_a_broken_date_keeps_its_whole_name() -> None:
    (line,) = plan_lines(BASIC, 0, "Gold (2026-13-40 – later)")
    fact = line_fact(line)
    assert (fact.label, fact.plan, fact.start) == ("plan", "Gold (2026-13-40 – later)", None)


def test_intro_discount_tax_and_credit_lines_are_read_from_the_domains_own_wording() -> None:
    lines = with_tax(plan_lines(STARTER, 0, "Starter"), STARTER)
    lines, _ = apply_credit(lines, 100)
    facts = line_facts(lines)
    assert [(f.label, f.percent) for f in facts] == [
        ("plan", None),
        ("intro_discount", "12.5"),
        ("credit_applied", None),
    ]  # tax is a fact of its own, never an itemized line
    assert [f.amount for f in facts] == [3000, -375, -100]


def test_a_plan_change_reads_as_unused_and_remaining_time_on_each_plan() -> None:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, JAN_31)
    sub.activate(BASIC, JAN_31)
    proration = sub.change_plan(BASIC, PRO, datetime(2026, 2, 10, tzinfo=UTC))
    assert proration is not None
    facts = line_facts(proration.lines)
    assert [(f.label, f.plan) for f in facts] == [
        ("unused_time", "Basic"),
        ("remaining_time", "Pro"),
    ]
    assert invoice_plan(facts) == "Pro"


def test_a_downgrade_carries_the_difference_to_credit_in_words() -> None:
    sub = Subscription.subscribe("sub-1", "alice", PRO, JAN_31)
    sub.activate(PRO, JAN_31)
    proration = sub.change_plan(PRO, BASIC, datetime(2026, 2, 10, tzinfo=UTC))
    assert proration is not None
    assert line_facts(proration.lines)[-1].label == "credit_carried"


def test_a_line_no_label_fits_keeps_its_text_and_no_label() -> None:
    fact = line_fact(InvoiceLine(LineKind.DISCOUNT, "Loyalty reward", -100))
    assert fact == LineFact("Loyalty reward", -100)
    assert invoice_plan([fact]) is None


@pytest.mark.parametrize(
    ("locale", "start", "end", "shown"),
    [
        ("en", date(2026, 1, 31), date(2026, 2, 28), "January 31\u2009–\u2009February 28, 2026"),
        ("en", date(2026, 3, 1), date(2026, 3, 31), "March 1\u2009–\u200931, 2026"),
        (
            "en",
            date(2026, 12, 15),
            date(2027, 1, 15),
            "December 15, 2026\u2009–\u2009January 15, 2027",
        ),
        ("ru", date(2026, 1, 31), date(2026, 2, 28), "31 января — 28 февраля 2026\u202fг."),
        ("ar", date(2026, 1, 31), date(2026, 2, 28), "31 يناير – 28 فبراير 2026"),
        ("en", date(2026, 3, 1), date(2026, 3, 1), "March 1, 2026"),
    ],
)
def test_a_period_is_written_with_full_months_and_the_shared_year_once(
    locale: str, start: date, end: date, shown: str
) -> None:
    assert format_period(start, end, locale) == shown


def test_a_period_that_ends_before_it_starts_is_an_error() -> None:
    with pytest.raises(RenderError, match="before it starts"):
        format_period(date(2026, 3, 2), date(2026, 3, 1), "en")


def test_a_percent_is_written_as_the_locale_writes_it_and_a_non_number_is_an_error() -> None:
    assert format_percent_off("12.5", "en") == "12.5%"
    assert format_percent_off("12.5", "ru") == "12,5\xa0%"
    with pytest.raises(RenderError, match="not a number"):
        format_percent_off("half", "en")


def _invoice(lines: list[InvoiceLine], start: datetime, end: datetime) -> Invoice:
    return Invoice(
        id="in_sub-1_renewal_20260331T160000Z",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=start,
        period_end=end,
        currency="USD",
        lines=lines,
        status=InvoiceStatus.OPEN,
        created_at=start,
    )


def test_a_page_names_an_invoice_by_plan_and_period_in_the_customers_time_zone() -> None:
    start, end = datetime(2026, 3, 31, 16, tzinfo=UTC), datetime(2026, 4, 30, 16, tzinfo=UTC)
    invoice = _invoice(plan_lines(BASIC, 1, "Basic"), start, end)
    assert pages.invoice_name(invoice, "en", "Asia/Tokyo") == (
        "Basic, April 1\u2009–\u2009May 1, 2026"
    )
    assert pages.invoice_name(invoice, "en", "America/Los_Angeles") == (
        "Basic, March 31\u2009–\u2009April 30, 2026"
    )
    assert pages.invoice_name(invoice, "ar", "UTC") == "Basic، 31 مارس – 30 أبريل 2026"


def test_a_page_names_an_invoice_without_a_plan_line_by_its_period_alone() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    invoice = _invoice([InvoiceLine(LineKind.CREDIT, "Goodwill", -100)], start, end)
    assert pages.invoice_name(invoice, "ru", "UTC") == "1 марта — 1 апреля 2026\u202fг."


def _owed(invoice_id: str, start: datetime, end: datetime, *lines: InvoiceLine) -> Invoice:
    return Invoice(
        id=invoice_id,
        subscription_id="sub-1",
        customer_id="cus-1",
        kind=InvoiceKind.RENEWAL,
        period_start=start,
        period_end=end,
        currency="USD",
        lines=list(lines),
        status=InvoiceStatus.OPEN,
        created_at=start,
    )


def test_a_collections_case_reads_its_invoices_lines_with_tax_as_lines_and_less_recovered() -> None:
    from tenure.domain.collection_cases import CollectionCase

    feb, mar, apr = (datetime(2026, m, 1, tzinfo=UTC) for m in (2, 3, 4))
    first = _owed(
        "in-1",
        feb,
        mar,
        InvoiceLine(LineKind.PLAN, "Pro", 2500),
        InvoiceLine(LineKind.TAX, "Tax", 200),
    )
    second = _owed("in-2", mar, apr, InvoiceLine(LineKind.PLAN, "Pro", 2500))
    case = CollectionCase.open("cus-1", "sub-1", [second, first], apr)
    assert case is not None
    case.recovered = 700

    facts = case_line_facts(case, {"in-1": first, "in-2": second})

    assert [(f.label, f.amount, f.start) for f in facts] == [
        ("plan", 2500, feb),
        ("case_tax", 200, None),
        ("plan", 2500, mar),
        ("case_recovered", -700, None),
    ]
    assert sum(f.amount for f in facts) == case.balance


def test_a_settled_kwd_case_reads_what_it_forgave_so_its_lines_add_up_to_zero() -> None:
    from dataclasses import replace

    from tenure.domain.collection_cases import CollectionCase
    from tenure.notify.render import catalog

    feb, mar = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    owed = replace(_owed("in-1", feb, mar, InvoiceLine(LineKind.PLAN, "Pro", 1005)), currency="KWD")
    case = CollectionCase.open("cus-1", "sub-1", [owed], mar)
    assert case is not None
    assert case.pay_in_full(mar) is not None and case.record_instalment_paid(1000, mar)

    facts = case_line_facts(case, {"in-1": owed})

    assert [(f.label, f.amount) for f in facts] == [
        ("plan", 1005),
        ("case_recovered", -1000),
        ("case_forgiven", -5),
    ]
    assert sum(f.amount for f in facts) == case.balance == 0
    assert all(catalog(locale)["line.case_forgiven"] for locale in ("en", "ru", "ar"))


def test_a_case_invoice_changed_or_missing_shows_the_cases_own_lines_with_its_period() -> None:
    from tenure.domain.collection_cases import CollectionCase

    feb, mar = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    owed = _owed("in-1", feb, mar, InvoiceLine(LineKind.PLAN, "Pro", 2500))
    case = CollectionCase.open("cus-1", "sub-1", [owed], mar)
    assert case is not None

    changed = _owed("in-1", feb, mar, InvoiceLine(LineKind.PLAN, "Pro", 2400))
    for known in ({}, {"in-1": changed}):
        (fact,) = case_line_facts(case, known)
        assert (fact.label, fact.description, fact.amount, fact.start, fact.end) == (
            "case_line",
            "Pro",
            2500,
            feb,
            mar,
        )
