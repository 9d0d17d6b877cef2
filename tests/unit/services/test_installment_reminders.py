"""Installment plans' emails: an installment_due reminder before each instalment, at the
renewal reminder's lead, sent once however often the reminders run; a receipt per paid
instalment that reads right for an invoice with no subscription; nothing for the
instalments a defaulted plan will never charge."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from conftest import Shop, work_one
from test_reminders import REAL, RecordingMailer, fake_link, run, text_of

from tenure.domain.installments import PlanStatus
from tenure.domain.notices import NoticeKind, NoticeStatus
from tenure.ports import Commit
from tenure.services import installments
from tenure.services.reminders import send_due

VISA = "4242424242424242"
INSUFFICIENT_FUNDS = "4000000000009995"


def run_twice(shop: Shop, until: Any, mailer: RecordingMailer) -> None:
    """The renewals pipeline and the hourly reminders run, the latter twice each hour."""
    run(shop, until, mailer, REAL, runs_per_hour=2)


def a_plan(shop: Shop, every: str = "week", starts_in: timedelta = timedelta(days=10)) -> Any:
    return installments.create_installment_plan(
        shop.svc, "alice", "ipl-1", 3001, "USD", 3, every, "Laptop", shop.start + starts_in
    )


def alice_on_a_plan(make_shop: Callable[..., Shop], card: str, **plan: Any) -> tuple[Shop, Any]:
    """alice, paying by `card`, on a_plan(**plan): the shop and the plan."""
    shop = make_shop()
    shop.add_card(card)
    return shop, a_plan(shop, **plan)


def test_each_instalment_is_announced_once_at_the_lead_and_receipted_once(
    make_shop: Callable[..., Shop],
) -> None:
    # Given alice with a good card and 3 weekly instalments starting in 10 days
    shop, plan = alice_on_a_plan(make_shop, VISA)
    mailer = RecordingMailer()
    # When the pipeline and the reminders (run twice an hour) go past the last instalment
    run_twice(shop, plan.instalments[-1].due_at + timedelta(days=2), mailer)
    # Then one installment_due email went out 3 days before each instalment, none twice
    due = mailer.of(NoticeKind.INSTALLMENT_DUE)
    assert [s.at for s in due] == [i.due_at - timedelta(days=3) for i in plan.instalments]
    assert [s.message["Subject"] for s in due] == [
        f"Installment {n} of 3 is due on {d}"
        for n, d in ((1, "March 12, 2026"), (2, "March 19, 2026"), (3, "March 26, 2026"))
    ]
    assert "$10.01" in text_of(due[0].message) and "$10.00" in text_of(due[1].message)
    # ... and one receipt per instalment, naming it, with no subscription wording
    receipts = mailer.of(NoticeKind.RECEIPT)
    assert len(receipts) == 3
    for n, receipt in enumerate(receipts, start=1):
        text = text_of(receipt.message)
        assert f"Instalment {n} of 3: Laptop" in text
        assert "subscription" not in text.lower(), text
        assert "payment plan with Shop" in text
        # Each instalment's invoice is numbered in the order they were invoiced.
        assert f"Invoice: INV-2026-00000{n}, Instalment {n} of 3" in text
    assert shop.repo.get_installment_plan("ipl-1").status is PlanStatus.COMPLETED  # type: ignore[union-attr]


def test_an_instalment_due_sooner_than_the_lead_gets_no_reminder(
    make_shop: Callable[..., Shop],
) -> None:
    # Given a plan starting now: its first instalment is due before any reminder could go
    shop, plan = alice_on_a_plan(make_shop, VISA, starts_in=timedelta(0))
    mailer = RecordingMailer()
    run_twice(shop, plan.instalments[-1].due_at + timedelta(days=1), mailer)
    due = mailer.of(NoticeKind.INSTALLMENT_DUE)
    assert [s.at for s in due] == [i.due_at - timedelta(days=3) for i in plan.instalments[1:]]
    assert len(mailer.of(NoticeKind.RECEIPT)) == 3


def test_a_defaulted_plans_later_instalments_are_not_announced_nor_receipted(
    make_shop: Callable[..., Shop],
) -> None:
    # Given monthly instalments on a card that declines every attempt
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS, every="month")
    mailer = RecordingMailer()
    run_twice(shop, plan.instalments[-1].due_at + timedelta(days=2), mailer)
    # Then the first was announced, dunned, and the plan defaulted: nothing more announced
    assert shop.repo.get_installment_plan("ipl-1").status is PlanStatus.DEFAULTED  # type: ignore[union-attr]
    assert len(mailer.of(NoticeKind.INSTALLMENT_DUE)) == 1
    assert mailer.of(NoticeKind.RECEIPT) == []
    skipped = [
        n.reason
        for n in shop.repo.list_notices("alice")
        if n.kind is NoticeKind.INSTALLMENT_DUE and n.status is NoticeStatus.SKIPPED
    ]
    assert skipped == ["installment_plan_defaulted"] * 2


def test_planning_the_plans_commit_twice_owes_each_reminder_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    a_plan(shop)
    notices = [n for n in shop.repo.list_notices("alice") if n.kind is NoticeKind.INSTALLMENT_DUE]
    assert sorted(n.key for n in notices) == [f"ipl-1:installment_due:{n:02d}:3" for n in (1, 2, 3)]


def test_a_failed_instalment_sends_a_payment_failed_email_about_the_instalment(
    make_shop: Callable[..., Shop],
) -> None:
    # Given weekly instalments on a card that declines every attempt
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS)
    mailer = RecordingMailer()
    # When the first instalment is tried, and tried again by dunning
    run_twice(shop, plan.instalments[0].due_at + timedelta(days=4), mailer)
    # Then each failed attempt is told once, as an instalment of a payment plan
    failed = mailer.of(NoticeKind.PAYMENT_FAILED)
    assert len(failed) >= 1
    first = failed[0].message
    assert first["Subject"] == "We couldn't collect instalment 1 of 3 for Laptop"
    text = text_of(first)
    assert "instalment 1 of 3 of your payment plan for Laptop" in text
    assert "subscription" not in text.lower()
    assert "payment plan" in text  # the footer says why the email came
    skipped = [
        n.reason
        for n in shop.repo.list_notices("alice")
        if n.kind is NoticeKind.PAYMENT_FAILED and n.status is NoticeStatus.SKIPPED
    ]
    assert "subscription_ended" not in skipped


def test_a_failed_instalment_of_a_plan_that_ended_since_is_not_told(
    make_shop: Callable[..., Shop],
) -> None:
    # Given an instalment that failed, whose plan then defaulted before the email went out
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS)
    mailer = RecordingMailer()
    shop.clock.set(plan.instalments[0].due_at)
    for item in shop.repo.due(shop.clock.now()):
        work_one(shop.svc, item)  # charged and failed; no reminders run yet
    stored = shop.repo.get_installment_plan("ipl-1")
    assert stored is not None
    invoice_id = stored.instalments[0].invoice_id
    assert invoice_id is not None and mailer.of(NoticeKind.PAYMENT_FAILED) == []
    stored.default(invoice_id, shop.clock.now())
    change = Commit()
    change.add_installment_plan(stored)
    shop.repo.commit(change)
    # When the reminders run
    send_due(shop.svc, mailer, REAL, fake_link, shop.clock.now() + timedelta(hours=2))
    # Then the failure is not told: the plan's ending is what matters now
    assert mailer.of(NoticeKind.PAYMENT_FAILED) == []
    reasons = [
        n.reason for n in shop.repo.list_notices("alice") if n.kind is NoticeKind.PAYMENT_FAILED
    ]
    assert reasons and set(reasons) == {"installment_plan_defaulted"}


def test_an_instalment_the_bank_wants_confirmed_asks_the_customer_to_confirm_it(
    make_shop: Callable[..., Shop],
) -> None:
    # Given weekly instalments on a card whose bank asks for 3-D Secure
    shop, plan = alice_on_a_plan(make_shop, "4000002760003184")
    mailer = RecordingMailer()
    # When the first instalment is tried
    run_twice(shop, plan.instalments[0].due_at + timedelta(hours=2), mailer)
    # Then the customer is asked to confirm that instalment, not a subscription's payment
    (asked,) = mailer.of(NoticeKind.PAYMENT_ACTION_REQUIRED)
    text = text_of(asked.message)
    assert "instalment 1 of 3 of your payment plan for Laptop" in text
    assert "subscription" not in text.lower()
