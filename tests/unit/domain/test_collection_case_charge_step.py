"""A collections case in a three-decimal currency whose balance is not in tens of the minor
unit (KWD 1.005): its plans charge whole steps only, and the part under the step, which no
provider can charge, is forgiven when the rest is paid off, so the case closes and
recovered + forgiven is its total. Never rounded up: the customer never pays more than owed."""

from dataclasses import replace
from datetime import timedelta

import pytest
from test_collection_cases import POLICY, T0, an_invoice

from tenure.domain.collection_cases import CaseStatus, CollectionCase
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType

NOW = T0 + timedelta(days=40)


def a_kwd_case(*amounts: int) -> CollectionCase:
    invoice = replace(an_invoice("in-1", list(amounts)), currency="KWD")
    case = CollectionCase.open("alice", "sub-1", [invoice], NOW)
    assert case is not None
    case.pull_events()
    return case


def settled_events(case: CollectionCase) -> list[dict[str, object]]:
    return [e.data for e in case.pull_events() if e.type is EventType.COLLECTION_CASE_SETTLED]


def test_the_chargeable_part_of_a_kwd_balance_is_its_whole_tens() -> None:
    assert a_kwd_case(1000, 5).chargeable == 1000
    assert a_kwd_case(1009).chargeable == 1000
    assert a_kwd_case(5).chargeable == 0
    assert a_kwd_case(1010).chargeable == 1010


def test_a_usd_balance_is_chargeable_to_the_cent() -> None:
    case = a_kwd_case(1005)
    case.currency = "USD"
    assert case.chargeable == 1005


def test_paying_in_full_plans_the_whole_tens_and_forgives_the_rest_once_paid() -> None:
    case = a_kwd_case(1000, 5)
    plan = case.pay_in_full(NOW)
    assert plan is not None and [i.amount for i in plan.instalments] == [1000]
    assert (case.balance, case.forgiven) == (1005, 0)  # owed until the charge is paid
    assert case.record_instalment_paid(1000, NOW)
    assert (case.status, case.recovered, case.forgiven, case.balance) == (
        CaseStatus.SETTLED,
        1000,
        5,
        0,
    )
    assert settled_events(case) == [{"recovered": 1000, "currency": "KWD", "forgiven": 5}]


def test_a_balance_under_the_step_paid_in_full_settles_now_without_a_plan() -> None:
    case = a_kwd_case(5)
    assert case.pay_in_full(NOW) is None
    assert (case.status, case.closed_at, case.recovered, case.forgiven, case.balance) == (
        CaseStatus.SETTLED,
        NOW,
        0,
        5,
        0,
    )
    assert case.plan_id is None and case.plans_made == 0
    assert settled_events(case) == [{"recovered": 0, "currency": "KWD", "forgiven": 5}]


def test_a_repayment_plan_splits_the_whole_tens_in_tens() -> None:
    case = a_kwd_case(1001)
    plan = case.choose_plan(3, "week", POLICY, NOW)
    assert [i.amount for i in plan.instalments] == [340, 330, 330]
    for item in plan.instalments[:-1]:
        assert not case.record_instalment_paid(item.amount, NOW)
    assert case.record_instalment_paid(330, NOW)
    assert (case.recovered, case.forgiven, case.balance) == (1000, 1, 0)


def test_a_balance_under_the_step_takes_no_repayment_plan() -> None:
    case = a_kwd_case(5)
    with pytest.raises(ValidationFailedError) as refused:
        case.choose_plan(2, "week", POLICY, NOW)
    assert refused.value.field == "count"
    assert "under the least KWD can be charged (10): pay it in full" in str(refused.value)
    assert case.status is CaseStatus.OPEN and case.plans_made == 0


def test_a_kwd_balance_too_small_for_the_count_is_named_with_its_charged_part() -> None:
    # Given KWD 0.025: 0.020 can be charged, the 5 fils under the step are forgiven
    case = a_kwd_case(25)
    with pytest.raises(ValidationFailedError) as refused:
        case.choose_plan(3, "week", POLICY, NOW)
    # Then the refusal names the balance the customer sees, not the charged 20 as "the
    # balance", and says what is charged and what forgiven
    assert refused.value.field == "count"
    assert str(refused.value) == (
        "count: the balance, KWD 0.025 (25 minor units), is charged as 20 minor units (the 5 "
        "under KWD's charge step of 10 are forgiven once it is paid), which does not split "
        "into 3 positive instalments (at least 30 minor units needed); choose fewer"
    )
    assert case.status is CaseStatus.OPEN and case.plans_made == 0
    assert [i.amount for i in case.choose_plan(2, "week", POLICY, NOW).instalments] == [10, 10]


def test_a_usd_balance_too_small_for_the_count_is_named_as_it_is() -> None:
    case = a_kwd_case(2)
    case.currency = "USD"
    with pytest.raises(ValidationFailedError) as refused:
        case.choose_plan(3, "week", POLICY, NOW)
    assert str(refused.value) == (
        "count: the balance, USD 0.02 (2 minor units), does not split into 3 positive "
        "instalments (at least 3 minor units needed); choose fewer"
    )
    assert case.status is CaseStatus.OPEN and case.plans_made == 0


def test_a_settled_usd_case_forgives_nothing_and_its_event_reads_as_before() -> None:
    case = a_kwd_case(1005)
    case.currency = "USD"
    plan = case.pay_in_full(NOW)
    assert plan is not None and plan.amount == 1005
    assert case.record_instalment_paid(1005, NOW)
    assert case.forgiven == 0
    assert settled_events(case) == [{"recovered": 1005, "currency": "USD"}]


def test_an_invoice_paid_directly_leaving_less_than_the_step_settles_forgiving_it() -> None:
    # Given a KWD case over two invoices, one of 1.000 and one of 0.005 (a proration)
    owed = [
        replace(an_invoice("in-1", [1000]), currency="KWD"),
        replace(an_invoice("in-2", [5], T0 + timedelta(days=30)), currency="KWD"),
    ]
    case = CollectionCase.open("alice", "sub-1", owed, NOW)
    assert case is not None
    # When the first is paid by a new card before any plan
    assert case.record_invoice_paid("in-1", NOW)
    # Then the 5 fils left can never be charged: forgiven, the case settled
    assert (case.status, case.recovered, case.forgiven, case.balance) == (
        CaseStatus.SETTLED,
        1000,
        5,
        0,
    )
