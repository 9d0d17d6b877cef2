"""The collections case's rules, on plain objects: its balance, the plans it accepts, and
how it settles or is written off."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.collection_cases import (
    CaseStatus,
    CollectionCase,
    CollectionsPolicy,
    case_id_for,
)
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.installments import Every
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
POLICY = CollectionsPolicy()


def an_invoice(invoice_id: str, amounts: list[int], start: datetime = T0) -> Invoice:
    return Invoice(
        id=invoice_id,
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=start,
        period_end=start + timedelta(days=30),
        currency="EUR",
        lines=[InvoiceLine(LineKind.PLAN, f"line {n}", a) for n, a in enumerate(amounts)],
        status=InvoiceStatus.OPEN,
        created_at=start,
    )


def a_case(*invoices: Invoice) -> CollectionCase:
    case = CollectionCase.open("alice", "sub-1", list(invoices), T0 + timedelta(days=40))
    assert case is not None
    return case


def test_a_case_holds_every_line_of_the_owed_invoices_oldest_first() -> None:
    later = an_invoice("in-2", [1000, -100], T0 + timedelta(days=30))
    case = a_case(later, an_invoice("in-1", [500]))
    assert [(ln.invoice_id, ln.amount) for ln in case.lines] == [
        ("in-1", 500),
        ("in-2", 1000),
        ("in-2", -100),
    ]
    assert (case.balance, case.currency, case.status) == (1400, "EUR", CaseStatus.OPEN)
    assert case.id == case_id_for("sub-1", T0 + timedelta(days=40))


def test_nothing_owed_opens_no_case() -> None:
    paid = an_invoice("in-1", [500])
    paid.status = InvoiceStatus.PAID
    assert CollectionCase.open("alice", "sub-1", [paid], T0) is None


def test_a_chosen_plan_splits_the_balance_with_the_remainder_first() -> None:
    case = a_case(an_invoice("in-1", [1001]))
    plan = case.choose_plan(3, "two_weeks", POLICY, T0)
    assert [i.amount for i in plan.instalments] == [335, 333, 333]
    assert plan.collection_case_id == case.id
    assert (case.status, case.plan_id) == (CaseStatus.IN_PLAN, plan.id)


@pytest.mark.parametrize(
    ("count", "every", "field"),
    [(1, "week", "count"), (7, "week", "count"), (True, "week", "count"), (2, "month", "every")],
)
def test_a_plan_outside_the_policy_is_refused_and_the_case_stays_open(
    count: object, every: str, field: str
) -> None:
    case = a_case(an_invoice("in-1", [1000]))
    with pytest.raises(ValidationFailedError) as refused:
        case.choose_plan(count, every, POLICY, T0)
    assert refused.value.field == field
    assert (case.status, case.plans_made, case.pull_events()[1:]) == (CaseStatus.OPEN, 0, [])


def test_the_bounds_follow_the_policy() -> None:
    case = a_case(an_invoice("in-1", [1000]))
    plan = case.choose_plan(8, Every.WEEK, CollectionsPolicy(min_count=3, max_count=8), T0)
    assert plan.count == 8


def test_a_policy_with_bounds_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError, match="repayment counts"):
        CollectionsPolicy(min_count=5, max_count=3)


def test_paying_every_instalment_settles_the_case_at_zero() -> None:
    case = a_case(an_invoice("in-1", [1000]))
    plan = case.choose_plan(2, "week", POLICY, T0)
    assert case.record_instalment_paid(plan.instalments[0].amount, T0) is False
    assert case.record_instalment_paid(plan.instalments[1].amount, T0) is True
    assert (case.status, case.balance) == (CaseStatus.SETTLED, 0)


def test_a_case_in_a_plan_or_settled_refuses_another_plan() -> None:
    case = a_case(an_invoice("in-1", [1000]))
    case.choose_plan(2, "week", POLICY, T0)
    with pytest.raises(IllegalTransitionError):
        case.choose_plan(2, "week", POLICY, T0)


def test_a_defaulted_plan_writes_the_case_off_keeping_what_was_recovered() -> None:
    case = a_case(an_invoice("in-1", [1000]))
    case.choose_plan(4, "week", POLICY, T0)
    case.record_instalment_paid(250, T0)
    case.write_off(T0)
    assert (case.status, case.recovered, case.balance) == (CaseStatus.WRITTEN_OFF, 250, 750)


def test_an_open_case_cannot_be_written_off() -> None:
    with pytest.raises(IllegalTransitionError):
        a_case(an_invoice("in-1", [1000])).write_off(T0)


def test_an_invoice_paid_directly_before_a_plan_settles_the_case() -> None:
    case = a_case(an_invoice("in-1", [600]), an_invoice("in-2", [400], T0 + timedelta(days=30)))
    assert case.record_invoice_paid("in-1", T0) is True
    assert (case.status, case.balance) == (CaseStatus.OPEN, 400)
    assert case.record_invoice_paid("in-other", T0) is False
    assert case.record_invoice_paid("in-2", T0) is True
    assert case.status is CaseStatus.SETTLED


def test_leaving_a_plan_opens_the_case_again_for_what_is_left() -> None:
    case = a_case(an_invoice("in-1", [1000]))
    plan = case.choose_plan(4, "week", POLICY, T0)
    first = plan.invoice_next(T0)
    assert first is not None
    plan.record_paid(first.id, T0)
    case.record_instalment_paid(250, T0)
    plan.cancel(T0)
    case.cancel_plan(T0)
    assert (case.status, case.balance) == (CaseStatus.OPEN, 750)
    assert [str(i.status) for i in plan.instalments] == ["paid"] + ["canceled"] * 3
    assert plan.next_due() is None
    again = case.choose_plan(3, "week", POLICY, T0)
    assert (again.id, again.amount) == (f"{case.id}_p2", 750)


def test_a_plan_cannot_be_left_while_an_instalment_is_being_collected() -> None:
    case = a_case(an_invoice("in-1", [1000]))
    plan = case.choose_plan(2, "week", POLICY, T0)
    assert plan.invoice_next(T0) is not None
    with pytest.raises(IllegalTransitionError, match="being collected"):
        plan.cancel_between_instalments(T0)
    with pytest.raises(IllegalTransitionError):
        a_case(an_invoice("in-2", [1000])).cancel_plan(T0)
