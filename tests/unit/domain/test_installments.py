"""Installment plans: the split, the schedule, the bounds, and what payments do to a plan."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.due import DueKind, DueSubject
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.installments import (
    MAX_COUNT,
    MIN_COUNT,
    Every,
    InstallmentPlan,
    InstalmentStatus,
    PlanStatus,
    build_instalments,
    due_dates,
    instalment_invoice_id,
    split_amount,
)
from tenure.domain.invoices import InvoiceKind, InvoiceStatus, LineKind

NOW = datetime(2026, 1, 10, 9, tzinfo=UTC)


def make_plan(**overrides: object) -> InstallmentPlan:
    args: dict[str, object] = {
        "plan_id": "ipl_1",
        "customer_id": "cus_1",
        "amount": 100_00,
        "currency": "usd",
        "count": 4,
        "every": "month",
        "description": "Annual upgrade",
        "start": NOW,
        "now": NOW,
    }
    args.update(overrides)
    return InstallmentPlan.create(**args)  # type: ignore[arg-type]


# -- the split --------------------------------------------------------------------------
def test_an_amount_that_divides_evenly_gives_equal_instalments() -> None:
    assert split_amount(1200, 4) == [300, 300, 300, 300]


def test_the_remainder_of_the_division_goes_on_the_first_instalment() -> None:
    assert split_amount(1003, 4) == [253, 250, 250, 250]


def test_an_amount_of_exactly_one_minor_unit_per_instalment_is_accepted() -> None:
    assert split_amount(3, 3) == [1, 1, 1]


def test_an_amount_that_does_not_split_into_positive_instalments_is_refused() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        split_amount(5, 6)
    assert caught.value.field == "amount"


@pytest.mark.parametrize("amount", [0, -100, True, 10.5, "100"])
def test_an_amount_that_is_not_a_positive_integer_is_refused(amount: object) -> None:
    with pytest.raises(ValidationFailedError):
        split_amount(amount, 2)  # type: ignore[arg-type]


@given(st.integers(min_value=MAX_COUNT, max_value=10**12), st.integers(MIN_COUNT, MAX_COUNT))
def test_the_parts_always_add_up_to_the_amount_and_differ_only_on_the_first(
    amount: int, count: int
) -> None:
    parts = split_amount(amount, count)
    assert sum(parts) == amount
    assert len(parts) == count
    assert len(set(parts[1:])) == 1
    assert 0 <= parts[0] - parts[1] < count


# -- the schedule ---------------------------------------------------------------------------
def test_weekly_instalments_fall_seven_days_apart_from_the_start() -> None:
    dates = due_dates(NOW, Every.WEEK, 3)
    assert [d.day for d in dates] == [10, 17, 24]


def test_fortnightly_instalments_fall_fourteen_days_apart() -> None:
    dates = due_dates(NOW, Every.TWO_WEEKS, 3)
    assert [(d.month, d.day) for d in dates] == [(1, 10), (1, 24), (2, 7)]


def test_monthly_instalments_keep_the_month_end_anchor() -> None:
    start = datetime(2026, 1, 31, 9, tzinfo=UTC)
    dates = due_dates(start, Every.MONTH, 4)
    assert [(d.month, d.day) for d in dates] == [(1, 31), (2, 28), (3, 31), (4, 30)]
    assert all(d.hour == 9 for d in dates)


def test_a_schedule_numbers_its_instalments_from_one() -> None:
    schedule = build_instalments(1000, 3, Every.WEEK, NOW)
    assert [i.number for i in schedule] == [1, 2, 3]
    assert [i.amount for i in schedule] == [334, 333, 333]
    assert all(i.status is InstalmentStatus.SCHEDULED for i in schedule)


# -- the bounds -------------------------------------------------------------------------
@pytest.mark.parametrize("count", [0, 1, 13, -2, 2.0, "4", True])
def test_a_count_outside_two_to_twelve_is_refused(count: object) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(count=count)
    assert caught.value.field == "count"


@pytest.mark.parametrize("count", [MIN_COUNT, MAX_COUNT])
def test_the_bounds_of_the_count_are_accepted(count: int) -> None:
    assert len(make_plan(count=count).instalments) == count


@pytest.mark.parametrize("every", ["day", "year", "weekly", "", None, 2])
def test_an_unknown_interval_is_refused(every: object) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(every=every)
    assert caught.value.field == "every"


@pytest.mark.parametrize("currency", ["XXX", "", None, 840])
def test_an_unknown_currency_is_refused(currency: object) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(currency=currency)
    assert caught.value.field == "currency"


@pytest.mark.parametrize(
    "description", ["", "   ", None, "x" * 201, "a\x00b", "\u202eLaptop", "line\nbreak"]
)
def test_a_missing_overlong_or_unprintable_description_is_refused(description: object) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(description=description)
    assert caught.value.field == "description"


def test_a_start_in_the_past_is_refused() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(start=datetime(2026, 1, 9, tzinfo=UTC))
    assert caught.value.field == "start"


def test_an_arabic_description_is_kept_as_written() -> None:
    assert make_plan(description="حاسوب محمول").description == "حاسوب محمول"


@pytest.mark.parametrize(
    "start",
    [
        datetime(2027, 1, 12, tzinfo=UTC),  # a year and two days ahead
        datetime(9999, 12, 1, tzinfo=UTC),  # its schedule would leave the calendar
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_a_start_more_than_a_year_ahead_is_refused(start: datetime) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(start=start)
    assert caught.value.field == "start"


def test_a_start_a_year_ahead_is_accepted() -> None:
    assert make_plan(start=datetime(2027, 1, 10, 9, tzinfo=UTC)).start.year == 2027


def test_a_plan_id_that_is_not_an_id_is_refused() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        make_plan(plan_id="has space")
    assert caught.value.field == "id"


def test_a_new_plan_is_active_with_its_schedule_and_records_its_creation() -> None:
    plan = make_plan(amount=1003)
    assert plan.status is PlanStatus.ACTIVE
    assert plan.currency == "USD"
    assert [i.amount for i in plan.instalments] == [253, 250, 250, 250]
    [created] = plan.pull_events()
    assert created.type is EventType.INSTALLMENT_PLAN_CREATED
    assert created.data == {"amount": 1003, "currency": "USD", "count": 4, "every": "month"}


# -- invoicing and collecting -------------------------------------------------------------
def test_the_next_instalment_is_due_as_installment_work_on_its_date() -> None:
    plan = make_plan()
    assert plan.next_due() == (NOW, DueKind.INSTALLMENT)
    assert DueKind.INSTALLMENT.subject is DueSubject.INSTALLMENT_PLAN


def test_an_instalment_is_not_invoiced_before_its_date() -> None:
    plan = make_plan(start=datetime(2026, 2, 1, tzinfo=UTC))
    assert plan.invoice_next(NOW) is None
    assert plan.instalments[0].status is InstalmentStatus.SCHEDULED


def test_a_due_instalment_becomes_one_open_invoice_owned_by_the_plan() -> None:
    plan = make_plan(amount=1003)
    plan.pull_events()
    invoice = plan.invoice_next(NOW)
    assert invoice is not None
    assert invoice.id == instalment_invoice_id("ipl_1", 1) == "in_ipl_1_installment_01"
    assert invoice.kind is InvoiceKind.INSTALLMENT
    assert invoice.installment_plan_id == "ipl_1"
    assert invoice.subscription_id == ""
    assert invoice.status is InvoiceStatus.OPEN
    assert [(line.kind, line.description, line.amount) for line in invoice.lines] == [
        (LineKind.INSTALLMENT, "Instalment 1 of 4: Annual upgrade", 253)
    ]
    assert plan.instalments[0].invoice_id == invoice.id
    assert plan.instalments[0].status is InstalmentStatus.OPEN
    assert plan.next_due() == (plan.instalments[1].due_at, DueKind.INSTALLMENT)
    assert [e.type for e in plan.pull_events()] == [EventType.INSTALLMENT_INVOICED]


def test_paying_every_instalment_completes_the_plan() -> None:
    plan = make_plan(count=2, every="week")
    plan.pull_events()
    for n in range(2):
        at = plan.instalments[n].due_at
        invoice = plan.invoice_next(at)
        assert invoice is not None
        assert plan.record_paid(invoice.id, at)
    assert plan.status is PlanStatus.COMPLETED
    assert plan.next_due() is None
    assert plan.collected == plan.amount
    types = [e.type for e in plan.pull_events()]
    assert types[-1] is EventType.INSTALLMENT_PLAN_COMPLETED
    assert types.count(EventType.INSTALLMENT_PAID) == 2


def test_a_failed_instalment_is_past_due_and_a_later_payment_recovers_it() -> None:
    plan = make_plan()
    invoice = plan.invoice_next(NOW)
    assert invoice is not None
    assert plan.record_failed(invoice.id, NOW)
    assert plan.instalments[0].status is InstalmentStatus.PAST_DUE
    assert plan.status is PlanStatus.ACTIVE  # the plan stands while dunning runs
    assert plan.record_paid(invoice.id, NOW)
    assert plan.instalments[0].status is InstalmentStatus.PAID


def test_a_payment_reported_twice_changes_the_plan_once() -> None:
    plan = make_plan()
    invoice = plan.invoice_next(NOW)
    assert invoice is not None
    assert plan.record_paid(invoice.id, NOW)
    assert not plan.record_paid(invoice.id, NOW)
    assert not plan.record_failed(invoice.id, NOW)


def test_a_default_writes_the_instalment_off_and_cancels_the_ones_not_yet_invoiced() -> None:
    plan = make_plan()
    first = plan.invoice_next(NOW)
    assert first is not None
    plan.record_paid(first.id, NOW)
    second = plan.invoice_next(plan.instalments[1].due_at)
    assert second is not None
    plan.record_failed(second.id, NOW)
    plan.pull_events()
    plan.default(second.id, NOW)
    assert plan.status is PlanStatus.DEFAULTED
    assert [i.status for i in plan.instalments] == [
        InstalmentStatus.PAID,
        InstalmentStatus.UNCOLLECTIBLE,
        InstalmentStatus.CANCELED,
        InstalmentStatus.CANCELED,
    ]
    assert plan.next_due() is None
    [defaulted] = plan.pull_events()
    assert defaulted.type is EventType.INSTALLMENT_PLAN_DEFAULTED
    assert defaulted.data["collected"] == plan.instalments[0].amount


def test_a_plan_that_is_not_active_cannot_default_again() -> None:
    plan = make_plan()
    invoice = plan.invoice_next(NOW)
    assert invoice is not None
    plan.default(invoice.id, NOW)
    with pytest.raises(IllegalTransitionError):
        plan.default(invoice.id, NOW)


def test_a_later_instalment_still_dunned_when_the_plan_defaults_is_written_off_at_its_end() -> None:
    # Given a plan whose 2nd instalment was invoiced while the 1st was still being dunned
    plan = make_plan()
    first = plan.invoice_next(NOW)
    assert first is not None
    plan.record_failed(first.id, NOW)
    second = plan.invoice_next(plan.instalments[1].due_at)
    assert second is not None
    plan.record_failed(second.id, NOW)
    # When the 1st's dunning ends (the plan defaults), then the 2nd's
    plan.default(first.id, NOW)
    plan.pull_events()
    plan.default(second.id, NOW)
    # Then both are written off, and the plan defaulted only once
    assert [i.status for i in plan.instalments[:2]] == [InstalmentStatus.UNCOLLECTIBLE] * 2
    assert plan.status is PlanStatus.DEFAULTED
    assert plan.pull_events() == []
