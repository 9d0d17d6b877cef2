"""A refund made after the unused time of its period was given back as credit (a downgrade,
a pause) gives back only what was not credited already: the credit the subscription still
holds of it is taken back with the refund, what was used of it cannot be refunded, and no
credit from elsewhere is touched. A paused subscription canceled with a refund gets the
pause's credit back as money."""

from datetime import timedelta
from typing import Any

import pytest
from conftest import T0, Shop

from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.invoices import Invoice, LineKind
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.domain.subscription import SubscriptionStatus
from tenure.services import (
    cancellation,
    catalog,
    operator_actions,
    programs,
    refunds,
    subscriptions,
)

DAY_3 = T0 + timedelta(days=3)
UNUSED = round(1000 * 28 / 31)  # basic's 28 unused days of 31, three days in


@pytest.fixture
def shop(paid_shop: Shop) -> Shop:
    catalog.create_plan(
        paid_shop.svc, Plan(id="small", name="Small", amount=100, currency="USD", interval="month")
    )
    return paid_shop


def first(shop: Shop) -> Invoice:
    return min(shop.invoices(), key=lambda i: i.created_at)


def taken_back(shop: Shop) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in shop.repo.events
        if e["type"] == EventType.CREDIT_ADJUSTED and "refunded_invoice" in e["data"]
    ]


def downgrade(shop: Shop) -> int:
    shop.clock.set(DAY_3)
    subscriptions.change_plan(shop.svc, "sub-1", "small")
    credit = shop.sub().credit
    assert credit == UNUSED - round(100 * 28 / 31)
    return credit


def test_a_refund_after_a_downgrade_takes_its_credit_back(shop: Shop) -> None:
    credit = downgrade(shop)
    shop.clock.set(DAY_3 + timedelta(days=1))

    made = refunds.refund_invoice(shop.svc, first(shop).id)

    # All but what paid the small plan's 28 days: those were given back as unused time and
    # used at once. The credit the downgrade left goes with the refund.
    assert made.amount == 1000 - (UNUSED - credit)
    assert shop.sub().credit == 0
    assert taken_back(shop) == [
        {"amount": -credit, "credit": 0, "currency": "USD", "refunded_invoice": first(shop).id}
    ]
    with pytest.raises(IllegalTransitionError):
        refunds.refund_invoice(shop.svc, first(shop).id, amount=1)


def test_a_partial_refund_after_a_downgrade_takes_that_much_credit(shop: Shop) -> None:
    credit = downgrade(shop)

    refunds.refund_invoice(shop.svc, first(shop).id, amount=300)

    assert shop.sub().credit == credit - 300


def test_credit_used_by_the_renewal_is_not_refunded_again(shop: Shop) -> None:
    credit = downgrade(shop)
    shop.run_due(T0 + timedelta(days=32))  # the renewal (small, 100) took 100 of the credit
    assert shop.sub().credit == credit - 100
    left = 1000 - (UNUSED - (credit - 100))  # less the unused time given back and used

    with pytest.raises(ValidationFailedError) as refused:
        refunds.refund_invoice(shop.svc, first(shop).id, amount=left + 1)
    made = refunds.refund_invoice(shop.svc, first(shop).id)

    assert str(left) in str(refused.value) and made.amount == left
    assert shop.sub().credit == 0
    assert [t["amount"] for t in taken_back(shop)] == [-(credit - 100)]


def pause_and_resume(shop: Shop) -> int:
    shop.clock.set(DAY_3)
    subscriptions.pause(shop.svc, "sub-1", until=None)
    credit = shop.sub().credit
    shop.clock.set(T0 + timedelta(days=40))
    subscriptions.resume(shop.svc, "sub-1")
    return credit


def test_a_pause_credit_used_by_the_resume_is_not_refunded_again(shop: Shop) -> None:
    credit = pause_and_resume(shop)
    assert credit == UNUSED and shop.sub().credit == 0

    made = refunds.refund_invoice(shop.svc, first(shop).id)

    assert made.amount == 1000 - UNUSED  # the three days used before the pause


def test_a_refund_during_a_pause_takes_back_only_the_pause_credit(shop: Shop) -> None:
    operator_actions.adjust_credit(shop.svc, "sub-1", 5000, actor="ops", note="goodwill")
    shop.clock.set(DAY_3)
    subscriptions.pause(shop.svc, "sub-1", until=None)
    assert shop.sub().credit == 5000 + UNUSED

    refunds.refund_invoice(shop.svc, first(shop).id)  # 1000: more than the pause's credit
    shop.clock.set(T0 + timedelta(days=40))
    subscriptions.resume(shop.svc, "sub-1")

    [taken] = taken_back(shop)
    assert taken["amount"] == -UNUSED
    resumed = max(shop.invoices(), key=lambda i: i.created_at)
    used = -sum(line.amount for line in resumed.lines if line.kind is LineKind.CREDIT)
    assert used == 1000 and shop.sub().credit == 5000 - 1000  # the other credit, whole


def configure(shop: Shop, after_window: str) -> None:
    current = programs.get_programs(shop.svc)
    document = {"refunds": {"window_days": 1, "after_window": after_window}}
    programs.put_programs(shop.svc, Programs.model_validate(document), current.version)


def cancel_paused(shop: Shop, refund: cancellation.RefundChoice) -> list[int]:
    shop.clock.set(DAY_3)
    subscriptions.pause(shop.svc, "sub-1", until=None)
    shop.clock.set(T0 + timedelta(days=40))  # the paused period would have ended
    done = cancellation.request_cancel(shop.svc, "sub-1", refund=refund)
    assert shop.sub().status is SubscriptionStatus.CANCELED
    return [r.amount for r in done.refunds]


def test_canceling_a_pause_with_the_policy_refunds_its_credit(shop: Shop) -> None:
    configure(shop, "prorated")

    made = cancel_paused(shop, "policy")

    assert made == [UNUSED] and shop.sub().credit == 0
    assert [t["amount"] for t in taken_back(shop)] == [-UNUSED]


def test_canceling_a_pause_with_a_full_refund_refunds_the_period(shop: Shop) -> None:
    assert cancel_paused(shop, "full") == [1000] and shop.sub().credit == 0


def test_a_policy_that_refunds_nothing_keeps_the_pause_credit(shop: Shop) -> None:
    configure(shop, "none")

    assert cancel_paused(shop, "policy") == [] and shop.sub().credit == UNUSED


def test_canceling_a_pause_without_a_refund_keeps_its_credit(shop: Shop) -> None:
    assert cancel_paused(shop, "none") == [] and shop.sub().credit == UNUSED


def test_canceling_with_a_full_refund_after_an_upgrade_gives_back_all_that_was_paid(
    shop: Shop,
) -> None:
    catalog.create_plan(
        shop.svc, Plan(id="big", name="Big", amount=2000, currency="USD", interval="month")
    )
    shop.clock.set(DAY_3)
    subscriptions.change_plan(shop.svc, "sub-1", "big")  # the unused time pays part of it
    paid = sum(i.total for i in shop.invoices())
    assert paid == 1000 + round(2000 * 28 / 31) - UNUSED

    done = cancellation.request_cancel(shop.svc, "sub-1", refund="full")

    assert sum(r.amount for r in done.refunds) == paid


def test_canceling_with_a_full_refund_after_a_downgrade_takes_its_credit(shop: Shop) -> None:
    downgrade(shop)

    done = cancellation.request_cancel(shop.svc, "sub-1", refund="full")

    assert [r.amount for r in done.refunds] == [1000] and shop.sub().credit == 0


def test_a_cancel_with_a_refund_of_an_invoice_refunded_already_still_cancels(
    shop: Shop,
) -> None:
    refunds.refund_invoice(shop.svc, first(shop).id)  # all of it

    done = cancellation.request_cancel(shop.svc, "sub-1", refund="full")

    assert done.refunds == [] and shop.sub().status is SubscriptionStatus.CANCELED
    assert first(shop).refund_owed is None and first(shop).amount_refunded == 1000


def refund_by_policy(shop: Shop) -> None:
    policy = refunds.configured_policy(shop.svc)
    refunds.refund_invoice(shop.svc, first(shop).id, policy=policy)


def test_the_policy_gives_nothing_back_of_unused_time_an_upgrade_took(shop: Shop) -> None:
    catalog.create_plan(
        shop.svc, Plan(id="big", name="Big", amount=2000, currency="USD", interval="month")
    )
    shop.clock.set(DAY_3)
    subscriptions.change_plan(shop.svc, "sub-1", "big")  # all unused time pays the upgrade
    configure(shop, "prorated")
    shop.clock.set(DAY_3 + timedelta(days=7))  # past the one-day window

    with pytest.raises(ValidationFailedError):
        refund_by_policy(shop)  # its unused share went to the upgrade already


def test_the_policy_gives_nothing_back_of_a_pause_credit_the_resume_used(shop: Shop) -> None:
    shop.clock.set(DAY_3)
    subscriptions.pause(shop.svc, "sub-1", until=None)
    shop.clock.set(T0 + timedelta(days=10))
    subscriptions.resume(shop.svc, "sub-1")  # its invoice takes the whole pause credit
    configure(shop, "prorated")
    shop.clock.set(T0 + timedelta(days=12))  # 19 of the first period's days still ahead

    with pytest.raises(ValidationFailedError):
        refund_by_policy(shop)


def test_a_refund_after_a_seat_decrease_takes_its_credit_back(shop: Shop) -> None:
    shop.clock.set(T0 + timedelta(days=1))
    subscriptions.change_items(shop.svc, "sub-1", quantity=2)  # charged at once
    shop.clock.set(DAY_3)
    subscriptions.change_items(shop.svc, "sub-1", quantity=1)  # the difference is credit
    credit = shop.sub().credit
    assert credit > 0

    for invoice in sorted(shop.invoices(), key=lambda i: i.created_at):
        refunds.refund_invoice(shop.svc, invoice.id)

    assert shop.sub().credit == 0
    assert -sum(t["amount"] for t in taken_back(shop)) == credit


def test_an_old_pause_credit_the_resume_used_takes_no_credit_from_elsewhere(shop: Shop) -> None:
    # Given a pause whose credit the resume invoice used, and goodwill credit granted later
    pause_and_resume(shop)
    operator_actions.adjust_credit(shop.svc, "sub-1", 5000, actor="ops", note="goodwill")

    # When the paused period's invoice is refunded
    made = refunds.refund_invoice(shop.svc, first(shop).id)

    # Then only the three days used before the pause come back, and the goodwill stays whole
    assert made.amount == 1000 - UNUSED
    assert shop.sub().credit == 5000
    assert taken_back(shop) == []


def test_an_old_pause_credit_takes_nothing_of_a_later_periods_downgrade(shop: Shop) -> None:
    # Given a pause whose credit the resume used, then a downgrade in the resumed period
    pause_and_resume(shop)
    resumed = max(shop.invoices(), key=lambda i: i.created_at)
    shop.clock.set(T0 + timedelta(days=43))
    subscriptions.change_plan(shop.svc, "sub-1", "small")
    later = shop.sub().credit
    assert later > 0

    # When the paused period's invoice is refunded
    refunds.refund_invoice(shop.svc, first(shop).id)

    # Then the downgrade's credit stays, for a refund of the resumed period's invoice, which
    # takes back what of it that invoice's payment (all the pause's credit did not cover) paid
    assert shop.sub().credit == later and taken_back(shop) == []
    refunds.refund_invoice(shop.svc, resumed.id)
    assert shop.sub().credit == later - resumed.total
    assert [t["refunded_invoice"] for t in taken_back(shop)] == [resumed.id]
