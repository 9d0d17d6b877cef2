"""Instalments in the trail and timeline on both stores (the fake and DynamoDB Local): a
plan's instalments charged by the renewals keep no day apart, and the timeline reads their
invoices and attempts from the plan (docs/operations.md, "Every automated change is found")."""

from datetime import UTC, datetime, timedelta

from due_clock import alice_paying_by, run_until

from tenure.domain.audit import SYSTEM_RENEWALS
from tenure.ports import Repository
from tenure.services import installments, timeline

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_plans_instalments_keep_no_day_and_show_in_the_timeline(repo: Repository) -> None:
    # Given alice with a good card and a plan of 3 weekly instalments
    svc, clock = alice_paying_by(repo, T0, "4242424242424242")
    plan = installments.create_installment_plan(
        svc, "alice", "ipl-1", 3000, "USD", 3, "week", "Laptop"
    )
    # When the renewals charge every instalment
    run_until(svc, clock, plan.instalments[-1].due_at + timedelta(days=1))
    # Then no day was kept apart for her
    assert repo.activity_days("alice", 100) == []
    # ... her timeline shows the plan, each instalment's invoice paid and its one attempt
    items, _ = timeline.customer_timeline(svc, "alice", limit=200)
    stored = repo.get_installment_plan("ipl-1")
    assert stored is not None
    invoices = [i.invoice_id for i in stored.instalments]
    assert [i.id for i in items if i.type == "installment_plan.created"] == ["ipl-1"]
    assert [i.id for i in items if i.type == "invoice.paid"] == invoices
    charged = [(i.detail["invoice"], i.detail["outcome"]) for i in items if i.type == "charge"]
    assert charged == [(invoice, "succeeded") for invoice in invoices]
    # ... and the plan's trail finds the renewals' work on each instalment
    trail, _ = timeline.audit_entries(svc, entity="ipl-1", actor=None, limit=100, after=None)
    assert [e.actor for e in trail] == [SYSTEM_RENEWALS] * 3
    assert {e.entity for e in trail} == {"ipl-1"}
