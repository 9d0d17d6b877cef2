"""Instalments in a customer's timeline and trail: an installment or repayment plan's
invoices, attempts and automated changes are read from the plan, so charging an instalment
keeps no day apart (docs/operations.md, "Every automated change is found")."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.domain.audit import SYSTEM_RENEWALS, unnamed_days
from tenure.domain.charges import Charge
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.installments import InstallmentPlan
from tenure.services import collections, installments, privacy, timeline

VISA = "4242424242424242"
INSUFFICIENT_FUNDS = "4000000000009995"
GENERIC_DECLINE = "4000000000000002"
MASTERCARD = "5555555555554444"


def a_weekly_plan(shop: Any, count: int = 3) -> Any:
    return installments.create_installment_plan(
        shop.svc, "alice", "ipl-1", 3000, "USD", count, "week", "Laptop"
    )


def whole_timeline(shop: Any) -> list[Any]:
    items, more = timeline.customer_timeline(shop.svc, "alice", limit=500)
    assert more is None
    return items


def test_charging_every_instalment_of_a_plan_keeps_no_day_apart(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice with a good card and a plan of 3 weekly instalments
    shop = make_shop()
    shop.add_card(VISA)
    plan = a_weekly_plan(shop)
    # When the renewals invoice, charge and settle each of them
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # Then no day was kept for her trail: each instalment's invoice and attempt name it
    assert shop.repo.activity_days("alice", 100) == []
    # ... and the plan's trail still finds each instalment the renewals charged
    trail, _ = timeline.audit_entries(shop.svc, entity="ipl-1", actor=None, limit=100, after=None)
    assert [e.actor for e in trail] == [SYSTEM_RENEWALS] * 3
    charged = {"InstallmentInvoiced", "InstallmentPaid"}
    assert [set(str(e.after["events"]).split()) for e in trail] == [charged] * 2 + [
        charged | {"InstallmentPlanCompleted"}
    ]


def test_the_timeline_shows_a_plans_instalment_invoices_and_attempts(
    make_shop: Callable[..., Any],
) -> None:
    # Given a plan whose second instalment was declined once, then paid with a new card
    shop = make_shop()
    shop.add_card(VISA)
    plan = a_weekly_plan(shop, count=2)
    shop.run_due(until=plan.instalments[0].due_at)
    shop.add_card(INSUFFICIENT_FUNDS)
    shop.run_due(until=plan.instalments[1].due_at)
    shop.add_card(MASTERCARD)
    second = shop.repo.get_installment_plan("ipl-1").instalments[1].invoice_id
    # When support reads her timeline
    items = whole_timeline(shop)
    # Then the plan, each instalment's invoice (naming its plan), payment and attempts show
    assert [(i.type, i.id) for i in items if i.type == "installment_plan.created"] == [
        ("installment_plan.created", "ipl-1")
    ]
    created = [i for i in items if i.type == "invoice.created"]
    assert [i.detail["installment_plan"] for i in created] == ["ipl-1", "ipl-1"]
    assert [i.detail["total"] for i in created] == [1500, 1500]
    attempts = [(i.detail["invoice"], i.detail["outcome"]) for i in items if i.type == "charge"]
    first = created[0].id
    assert attempts == [(first, "succeeded"), (second, "declined"), (second, "succeeded")]
    assert [i.id for i in items if i.type == "invoice.paid"] == [first, second]
    # ... and the renewals' changes to the plan and its invoices, as audit items
    automated = [i.detail["entity"] for i in items if i.type == "audit"]
    assert {"ipl-1", first, second} <= set(automated)


def test_a_repayment_plans_instalments_keep_no_day_and_the_case_has_a_trail(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice's subscription left unpaid by dunning, and its collections case
    shop = make_shop()
    renewed_at = shop.renewal_declined(GENERIC_DECLINE)
    shop.run_due(until=renewed_at + timedelta(days=20))
    [case] = collections.list_cases(shop.svc, "alice")
    kept_before = shop.repo.activity_days("alice", 100)
    # When she repays it in 2 weekly instalments with a good card
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    shop.add_card(MASTERCARD)
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # Then charging the instalments kept no day more
    assert shop.repo.activity_days("alice", 100) == kept_before
    # ... her timeline shows the repayment plan with its case, and both instalments paid
    items = whole_timeline(shop)
    [shown] = [i for i in items if i.type == "installment_plan.created"]
    assert (shown.id, shown.detail["collection_case"]) == (plan.id, case.id)
    paid = {i.id for i in items if i.type == "invoice.paid"}
    assert {i.invoice_id for i in plan.instalments} <= paid | {None}
    assert all(i.invoice_id in paid for i in shop.repo.get_installment_plan(plan.id).instalments)
    # ... and the case's trail finds the renewals settling it
    trail, _ = timeline.audit_entries(shop.svc, entity=case.id, actor=None, limit=100, after=None)
    assert SYSTEM_RENEWALS in {e.actor for e in trail}
    assert any("CollectionCaseSettled" in str(e.after["events"]) for e in trail)


def test_an_export_reads_every_instalment_invoice_of_the_plans(
    make_shop: Callable[..., Any],
) -> None:
    # Given a plan of 3 whose instalments were all charged
    shop = make_shop()
    shop.add_card(VISA)
    plan = a_weekly_plan(shop)
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # When her records are gathered for an export
    found = privacy.customer_records(shop.svc, "alice")
    # Then each instalment's invoice and attempt is among them, in the plan's order
    ids = [i.invoice_id for i in shop.repo.get_installment_plan("ipl-1").instalments]
    assert [i.id for i in found.invoices] == ids
    assert [c.invoice_id for c in found.charges] == ids


def test_an_entity_of_no_customer_has_no_automated_changes(make_shop: Callable[..., Any]) -> None:
    # Given a plan charged by the renewals
    shop = make_shop()
    shop.add_card(VISA)
    plan = a_weekly_plan(shop, count=2)
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # When an id that is no customer, subscription, invoice, plan or case is asked for
    trail, cursor = timeline.audit_entries(
        shop.svc, entity="ipl-unknown", actor=None, limit=100, after=None
    )
    # Then nothing is found
    assert (trail, cursor) == ([], None)


def test_instalment_invoices_attempts_and_plans_name_the_days_of_their_commit() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    plan = InstallmentPlan.create(
        "ipl-1", "alice", 2000, "USD", 2, "week", "Laptop", start=at, now=at
    )
    invoice = plan.invoice_next(at)
    assert invoice is not None
    attempt = Charge("chg-1", invoice.id, "", "alice", 1, 1000, "USD", at + timedelta(days=1))
    credit = EventType.CREDIT_GRANTED
    events = [DomainEvent(credit, "ipl-1", "alice", at + timedelta(days=n), 0) for n in range(3)]
    # An instalment's invoice names its creation's day, its attempt the next, nothing the third
    assert unnamed_days(events, [invoice], [attempt]) == [("alice", "2026-03-04")]
    # A plan made that day names it as well, without an invoice
    assert unnamed_days(events[:1], [], [], [plan]) == []
    assert unnamed_days(events[:1], [], []) == [("alice", "2026-03-02")]
