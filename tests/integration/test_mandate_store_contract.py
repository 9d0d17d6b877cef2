"""What the mandate rules store reads back the same from both repositories: a plan change's
charge carried to the next invoice (UPI), and a pre-debit notice found by its key."""

from datetime import UTC, datetime, timedelta

from tenure.domain.calendar import IntervalUnit
from tenure.domain.mandates import pre_debit_key
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit, Repository

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
MONTHLY = Plan(id="monthly", amount=49900, currency="INR", interval=IntervalUnit.MONTH)


def stored(repo: Repository, sub: Subscription) -> Subscription:
    change = Commit(plans=[MONTHLY] if repo.get_plan("monthly") is None else [])
    change.add_subscription(sub)
    repo.commit(change)
    found = repo.get_subscription(sub.id)
    assert found is not None
    return found


def test_a_carried_charge_reads_back_and_clears(repo: Repository) -> None:
    sub = Subscription.subscribe("sub-1", "ravi", MONTHLY, T0)
    sub.carry_to_next_invoice(19286)
    found = stored(repo, sub)
    assert found.carried == 19286

    assert found.take_carried() == 19286
    assert stored(repo, found).carried == 0


def test_a_pre_debit_notice_is_found_by_its_key_as_it_was_sent(repo: Repository) -> None:
    key = pre_debit_key("in_1", 2, 49900)
    notice = Notice(
        key=key,
        kind=NoticeKind.PRE_DEBIT,
        customer_id="ravi",
        subscription_id="sub-1",
        due_at=T0,
        created_at=T0,
        data={
            "invoice_id": "in_1",
            "amount": 49900,
            "debit": 2,
            "debit_at": "2026-02-01T09:00:00Z",
        },
    )
    repo.commit(Commit(notices=[notice]))
    notice = repo.get_notice(key) or notice
    notice.status, notice.sent_at = NoticeStatus.SENT, T0 + timedelta(minutes=3)
    repo.commit(Commit(notices=[notice]))

    found = repo.get_notice(key)
    assert found is not None
    assert (found.kind, found.status, found.sent_at) == (
        NoticeKind.PRE_DEBIT,
        NoticeStatus.SENT,
        T0 + timedelta(minutes=3),
    )
    assert found.data["amount"] == 49900 and found.data["debit"] == 2
    assert repo.get_notice(pre_debit_key("in_1", 2, 49901)) is None
