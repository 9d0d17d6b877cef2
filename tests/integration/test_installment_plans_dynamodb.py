"""An installment plan on both stores (in-memory and DynamoDB Local): 4 instalments, the
second declined, recovered by a card update, the plan completed; the plan's items, the due
index and the instalment invoices as the table holds them."""

from datetime import UTC, datetime, timedelta

from due_clock import alice_paying_by, card, run_until

from tenure.domain.charges import ChargeOutcome
from tenure.domain.installments import InstalmentStatus, PlanStatus
from tenure.domain.invoices import InvoiceStatus
from tenure.ports import Repository
from tenure.services import cards, installments

T0 = datetime(2026, 1, 31, 9, tzinfo=UTC)


def test_a_plan_of_four_whose_second_fails_recovers_after_a_card_update(
    repo: Repository,
) -> None:
    svc, clock = alice_paying_by(repo, T0, "4242424242424242")
    plan = installments.create_installment_plan(
        svc, "alice", "ipl-1", 100_01, "USD", 4, "month", "Laptop"
    )
    assert [(i.due_at.month, i.due_at.day) for i in plan.instalments] == [
        (1, 31),
        (2, 28),
        (3, 31),
        (4, 30),
    ]
    run_until(svc, clock, plan.instalments[0].due_at)
    cards.update_payment_method(svc, "alice", card("4000000000009995"), "sandbox", True)
    run_until(svc, clock, plan.instalments[1].due_at)
    during = repo.get_installment_plan("ipl-1")
    assert during is not None
    assert during.instalments[1].status is InstalmentStatus.PAST_DUE
    assert [p.id for p in repo.list_installment_plans("alice")] == ["ipl-1"]

    clock.set(plan.instalments[1].due_at + timedelta(days=1))
    cards.update_payment_method(svc, "alice", card("5555555555554444"), "sandbox", True)
    run_until(svc, clock, plan.instalments[-1].due_at + timedelta(days=1))

    final = repo.get_installment_plan("ipl-1")
    assert final is not None
    assert final.status is PlanStatus.COMPLETED
    assert [i.amount for i in final.instalments] == [2501, 2500, 2500, 2500]
    second = final.instalments[1]
    assert second.invoice_id is not None
    assert [c.outcome for c in repo.list_charges(second.invoice_id)] == [
        ChargeOutcome.DECLINED,
        ChargeOutcome.SUCCEEDED,
    ]
    for item in final.instalments:
        assert item.invoice_id is not None
        invoice = repo.get_invoice(item.invoice_id)
        assert invoice is not None
        assert (invoice.status, invoice.installment_plan_id) == (InvoiceStatus.PAID, "ipl-1")
    assert repo.next_due_at() is None  # a completed plan leaves nothing in the due index


def test_a_canceled_plan_leaves_nothing_due_and_its_dunned_invoice_void(
    repo: Repository,
) -> None:
    svc, clock = alice_paying_by(repo, T0, "4000000000009995")
    plan = installments.create_installment_plan(
        svc, "alice", "ipl-1", 100_01, "USD", 4, "month", "Laptop"
    )
    run_until(svc, clock, plan.instalments[0].due_at)
    first = repo.get_installment_plan("ipl-1")
    assert first is not None and first.instalments[0].status is InstalmentStatus.PAST_DUE
    assert repo.next_due_at() is not None  # the retry, and the second instalment

    installments.cancel_installment_plan(svc, "ipl-1")
    cards.update_payment_method(svc, "alice", card("4242424242424242"), "sandbox", True)
    run_until(svc, clock, plan.instalments[-1].due_at + timedelta(days=30))

    final = repo.get_installment_plan("ipl-1")
    assert final is not None and final.status is PlanStatus.CANCELED
    assert [i.status for i in final.instalments] == [InstalmentStatus.CANCELED] * 4
    invoice_id = final.instalments[0].invoice_id
    assert invoice_id is not None
    voided = repo.get_invoice(invoice_id)
    assert voided is not None and voided.status is InvoiceStatus.VOID
    assert len(repo.list_charges(invoice_id)) == 1  # nothing charged after the cancel
    assert repo.next_due_at() is None
