"""A collections case in a three-decimal currency whose balance is not in the currency's charge
step (KWD: tens of fils; a balance left by an invoice written before amounts were kept in
tens): the part under the step, which no provider can charge, is forgiven, the rest charged,
and the case closes; recovered + forgiven is what the case opened with, and no amount the
provider cannot charge is ever sent to it."""

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tenure.domain.collection_cases import CaseLine, CaseStatus, CollectionCase
from tenure.domain.installments import InstalmentStatus, PlanStatus
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.money import Money, unchargeable
from tenure.ports import Commit
from tenure.services import collections, collections_pay

GOOD_CARD = "4242424242424242"


class RecordingGateway:
    """The shop's gateway, noting every amount Tenure asks it to charge."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        self.amounts: list[Money] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    def create_payment(self, **kwargs: Any) -> Any:
        self.amounts.append(kwargs["amount"])
        return self.gateway.create_payment(**kwargs)

    def create_and_confirm_payment(self, **kwargs: Any) -> Any:
        self.amounts.append(kwargs["amount"])
        return self.gateway.create_and_confirm_payment(**kwargs)


def a_kwd_case(make_shop: Callable[..., Any], lines: list[int]) -> tuple[Any, str]:
    """alice, with a card that pays, and an open KWD case over one owed invoice of `lines`
    (as dunning leaves one): returns the shop, its gateway recording what it is asked to
    charge, and the case's id."""
    shop = make_shop()
    shop.add_card(GOOD_CARD)
    now = shop.clock.now()
    invoice = Invoice(
        id="in-kwd",
        subscription_id="sub-kwd",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=now - timedelta(days=20),
        period_end=now + timedelta(days=10),
        currency="KWD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", amount) for amount in lines],
        status=InvoiceStatus.OPEN,
        created_at=now - timedelta(days=20),
    )
    case = CollectionCase.open("alice", "sub-kwd", [invoice], now)
    assert case is not None
    change = Commit(invoices=[invoice])
    change.add_collection_case(case)
    shop.repo.commit(change)
    shop.svc.gateway = RecordingGateway(shop.gateway)
    return shop, case.id


def assert_adds_up(case: CollectionCase) -> None:
    assert case.recovered + case.forgiven + case.balance == case.total


def assert_all_chargeable(shop: Any) -> None:
    sent = shop.svc.gateway.amounts
    assert [m for m in sent if unchargeable(m.amount_minor, m.currency)] == [], sent


def test_a_kwd_balance_of_1005_paid_in_full_charges_1000_and_settles_forgiving_5(
    make_shop: Callable[..., Any],
) -> None:
    # Given a KWD case of 1.005 (a proration line of 0.005 on it)
    shop, case_id = a_kwd_case(make_shop, [1000, 5])
    # When alice pays it in full
    paid, plan = collections_pay.pay_case_in_full(shop.svc, case_id)
    # Then 1.000 was charged once, the 5 fils no provider can charge forgiven, the case settled
    assert plan is not None and plan.instalments[0].amount == 1000
    assert plan.instalments[0].status is InstalmentStatus.PAID
    assert [m.amount_minor for m in shop.svc.gateway.amounts] == [1000]
    assert (paid.status, paid.recovered, paid.forgiven, paid.balance) == (
        CaseStatus.SETTLED,
        1000,
        5,
        0,
    )
    assert_adds_up(paid)
    assert collections.get_case(shop.svc, case_id) == paid


@pytest.mark.parametrize("balance", [5, 1, 9])
def test_a_kwd_balance_under_10_fils_paid_in_full_settles_with_nothing_sent(
    make_shop: Callable[..., Any], balance: int
) -> None:
    # Given a KWD case whose whole balance is under the 10 fils Stripe charges at the least
    shop, case_id = a_kwd_case(make_shop, [balance])
    # When alice pays it in full
    paid, plan = collections_pay.pay_case_in_full(shop.svc, case_id)
    # Then nothing is sent to the provider; the balance is forgiven and the case settled
    assert plan is None
    assert shop.svc.gateway.amounts == []
    assert (paid.status, paid.recovered, paid.forgiven, paid.balance) == (
        CaseStatus.SETTLED,
        0,
        balance,
        0,
    )
    assert paid.closed_at == shop.clock.now()
    assert_adds_up(paid)
    stored = collections.get_case(shop.svc, case_id)
    assert stored.status is CaseStatus.SETTLED and stored.forgiven == balance
    # ... its invoice written off into the case, never charged again
    assert shop.invoice("in-kwd").status is InvoiceStatus.UNCOLLECTIBLE
    settled = [e for e in shop.repo.events if e["type"] == "CollectionCaseSettled"]
    assert [e["data"]["forgiven"] for e in settled] == [balance]


def test_a_kwd_repayment_plan_of_1005_splits_1000_in_tens_and_forgives_5_when_paid_off(
    make_shop: Callable[..., Any],
) -> None:
    # Given a KWD case of 1.005
    shop, case_id = a_kwd_case(make_shop, [1000, 5])
    # When alice chooses 3 weekly instalments and they are all charged
    _, plan = collections.choose_repayment_plan(shop.svc, case_id, 3, "week")
    assert [i.amount for i in plan.instalments] == [340, 330, 330]
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # Then every amount sent was in tens; paid off, the case settled with the 5 fils forgiven
    assert shop.repo.get_installment_plan(plan.id).status is PlanStatus.COMPLETED
    assert [m.amount_minor for m in shop.svc.gateway.amounts] == [340, 330, 330]
    assert_all_chargeable(shop)
    case = collections.get_case(shop.svc, case_id)
    assert (case.status, case.recovered, case.forgiven, case.balance) == (
        CaseStatus.SETTLED,
        1000,
        5,
        0,
    )
    assert_adds_up(case)


def test_a_kwd_case_whose_plan_is_still_running_keeps_the_remainder_owed(
    make_shop: Callable[..., Any],
) -> None:
    # Given a KWD case of 1.005 in a plan of two, the first instalment paid
    shop, case_id = a_kwd_case(make_shop, [1000, 5])
    _, plan = collections.choose_repayment_plan(shop.svc, case_id, 2, "week")
    shop.run_due(until=plan.instalments[0].due_at + timedelta(hours=1))
    # Then nothing is forgiven before the plan is paid off
    case = collections.get_case(shop.svc, case_id)
    assert (case.status, case.recovered, case.forgiven, case.balance) == (
        CaseStatus.IN_PLAN,
        500,
        0,
        505,
    )


def test_a_usd_case_is_charged_to_the_cent_and_forgives_nothing(
    make_shop: Callable[..., Any],
) -> None:
    shop, case_id = a_kwd_case(make_shop, [1000, 5])
    case = collections.get_case(shop.svc, case_id)
    case.currency = "USD"  # the same lines in a currency charged to the minor unit
    change = Commit()
    change.add_collection_case(case)
    shop.repo.commit(change)
    paid, plan = collections_pay.pay_case_in_full(shop.svc, case_id)
    assert plan is not None and plan.instalments[0].amount == 1005
    assert (paid.status, paid.recovered, paid.forgiven) == (CaseStatus.SETTLED, 1005, 0)


def test_an_invoice_paid_directly_that_settles_a_case_by_forgiving_writes_off_the_rest(
    make_shop: Callable[..., Any],
) -> None:
    # Given an open KWD case over a 1.000 invoice and another of 0.005 still open
    shop, case_id = a_kwd_case(make_shop, [1000])
    case = collections.get_case(shop.svc, case_id)
    small = Invoice(
        id="in-kwd-2",
        subscription_id="sub-kwd",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=case.lines[0].period_end,
        period_end=case.lines[0].period_end + timedelta(days=30),
        currency="KWD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 5)],
        status=InvoiceStatus.OPEN,
        created_at=case.lines[0].period_end,
    )
    case.lines.append(CaseLine(small.id, small.period_start, small.period_end, "Basic", 5))
    storing = Commit(invoices=[small])
    storing.add_collection_case(case)
    shop.repo.commit(storing)
    # When the 1.000 invoice is paid directly (a new card retried it)
    change = Commit()
    sub = SimpleNamespace(id="sub-kwd", customer_id="alice")
    collections.follow_invoice_paid(shop.svc, sub, shop.invoice("in-kwd"), change)
    shop.repo.commit(change)
    # Then the case settles forgiving the 5 fils, and their invoice is written off into it
    settled = collections.get_case(shop.svc, case_id)
    assert (settled.status, settled.forgiven, settled.balance) == (CaseStatus.SETTLED, 5, 0)
    assert shop.invoice("in-kwd-2").status is InvoiceStatus.UNCOLLECTIBLE
    assert shop.svc.gateway.amounts == []
