"""Installment plans on the money path: each instalment invoiced when due and collected by
the same claim, charge and settle as a renewal; dunned when it fails; the plan defaults when
dunning ends unpaid. On the in-memory fakes with the sandbox provider."""

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tenure.domain.charges import ChargeOutcome, ChargeStatus
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.events import EventType
from tenure.domain.installments import InstalmentStatus, PlanStatus
from tenure.domain.invoices import InvoiceStatus
from tenure.services import installments

VISA = "4242424242424242"
INSUFFICIENT_FUNDS = "4000000000009995"
MASTERCARD = "5555555555554444"
STOLEN = "4000000000009979"


def a_plan(shop: Any, count: int = 4, amount: int = 1003, every: str = "month") -> Any:
    return installments.create_installment_plan(
        shop.svc, "alice", "ipl-1", amount, "USD", count, every, "Laptop"
    )


def alice_on_a_plan(make_shop: Callable[..., Any], card: str, **plan: Any) -> tuple[Any, Any]:
    """alice, paying by `card`, on a_plan(**plan): the shop and the plan."""
    shop = make_shop()
    shop.add_card(card)
    return shop, a_plan(shop, **plan)


def stored(shop: Any) -> Any:
    plan = shop.repo.get_installment_plan("ipl-1")
    assert plan is not None
    return plan


def test_a_plan_paid_on_time_charges_each_instalment_once_and_completes(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice with a good card and a plan of 3 weekly instalments of 1000 minor units
    shop, plan = alice_on_a_plan(make_shop, VISA, count=3, amount=1000, every="week")
    # When the schedule runs past the last instalment
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # Then every instalment was invoiced, charged once under its own key, and paid
    done = stored(shop)
    assert done.status is PlanStatus.COMPLETED
    assert [i.status for i in done.instalments] == [InstalmentStatus.PAID] * 3
    for item in done.instalments:
        invoice = shop.invoice(item.invoice_id)
        assert (invoice.status, invoice.total) == (InvoiceStatus.PAID, item.amount)
        assert invoice.paid_at == item.due_at
        assert shop.confirmations(invoice.id) == 1
        assert shop.created_keys(invoice.id) == [f"charge:{invoice.id}:1:create"]
    types = [e["type"] for e in shop.repo.events]
    assert types.count("InstallmentPaid") == 3
    assert "InstallmentPlanCompleted" in types


def test_a_failed_second_instalment_recovers_after_a_card_update(
    make_shop: Callable[..., Any],
) -> None:
    # Given a plan of 4 monthly instalments whose first is paid
    shop, plan = alice_on_a_plan(make_shop, VISA)
    shop.run_due(until=plan.instalments[0].due_at)
    assert stored(shop).instalments[0].status is InstalmentStatus.PAID
    # ... and a card that will decline for insufficient funds by the second
    shop.add_card(INSUFFICIENT_FUNDS)
    second = plan.instalments[1]
    shop.run_due(until=second.due_at)
    # Then the second is past due, dunned on the retry schedule, while the plan stands
    during = stored(shop)
    assert during.status is PlanStatus.ACTIVE
    assert during.instalments[1].status is InstalmentStatus.PAST_DUE
    invoice = shop.invoice(during.instalments[1].invoice_id)
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.next_attempt_at is not None
    # When alice gives a new card a day later
    shop.clock.set(second.due_at + timedelta(days=1))
    shop.add_card(MASTERCARD)
    # Then the second instalment is paid at once, by one more attempt
    after = stored(shop)
    assert after.instalments[1].status is InstalmentStatus.PAID
    assert [c.outcome for c in shop.charges(invoice.id)] == [
        ChargeOutcome.DECLINED,
        ChargeOutcome.SUCCEEDED,
    ]
    # ... and the rest are paid on their dates: the plan completes, nothing charged twice
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=30))
    final = stored(shop)
    assert final.status is PlanStatus.COMPLETED
    assert final.collected == 1003
    for item in final.instalments:
        assert shop.confirmations(item.invoice_id) == len(shop.charges(item.invoice_id))
        assert len(shop.succeeded(item.invoice_id)) == 1


def test_when_dunning_of_an_instalment_ends_unpaid_the_plan_defaults(
    make_shop: Callable[..., Any],
) -> None:
    # Given a plan whose card declines every attempt for insufficient funds
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS)
    # When the schedule runs through every retry of the first instalment and beyond
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=30))
    # Then the instalment is uncollectible, the plan defaulted, later ones never charged
    final = stored(shop)
    assert final.status is PlanStatus.DEFAULTED
    assert [i.status for i in final.instalments] == [
        InstalmentStatus.UNCOLLECTIBLE,
        InstalmentStatus.CANCELED,
        InstalmentStatus.CANCELED,
        InstalmentStatus.CANCELED,
    ]
    assert [i.invoice_id is None for i in final.instalments] == [False, True, True, True]
    first = shop.invoice(final.instalments[0].invoice_id)
    assert first.status is InvoiceStatus.UNCOLLECTIBLE
    assert len(shop.charges(first.id)) == 4  # the policy's four attempts
    types = [e["type"] for e in shop.repo.events]
    assert "InstallmentPlanDefaulted" in types
    assert "InvoiceMarkedUncollectible" in types


def test_a_hard_decline_waits_for_a_card_and_defaults_at_the_deadline(
    make_shop: Callable[..., Any],
) -> None:
    shop, plan = alice_on_a_plan(make_shop, STOLEN, count=2)
    shop.run_due(until=plan.instalments[0].due_at)
    invoice = shop.invoice(stored(shop).instalments[0].invoice_id)
    assert invoice.next_attempt_at is None and invoice.dunning_ends_at is not None
    shop.run_due(until=invoice.dunning_ends_at + timedelta(days=1))
    assert stored(shop).status is PlanStatus.DEFAULTED
    assert len(shop.charges(invoice.id)) == 1  # never retried blindly on that card


def test_an_instalment_due_with_no_card_on_file_waits_for_one(
    make_shop: Callable[..., Any],
) -> None:
    shop = make_shop()
    plan = a_plan(shop, count=2)
    shop.run_due(until=plan.instalments[0].due_at)
    waiting = stored(shop)
    assert waiting.instalments[0].status is InstalmentStatus.PAST_DUE
    invoice = shop.invoice(waiting.instalments[0].invoice_id)
    assert invoice.dunning_ends_at is not None
    shop.add_card(VISA)
    assert stored(shop).instalments[0].status is InstalmentStatus.PAID


CRASHES = [
    pytest.param({"after_commit": 1}, id="after the claim, before the provider request"),
    pytest.param({"after_call": "pay"}, id="after the provider acted, before the settle"),
]


@pytest.mark.parametrize("step", CRASHES)
def test_a_crash_between_claim_and_settle_replays_to_exactly_one_charge(
    make_shop: Callable[..., Any], step: dict[str, Any]
) -> None:
    # Given a plan whose first instalment is due now
    shop, plan = alice_on_a_plan(make_shop, VISA, count=2)
    [item] = [d for d in shop.repo.due(shop.clock.now()) if d.entity_id == "ipl-1"]
    # When the charger dies between the claim and the settle
    with contextlib.suppress(shop.Crash):
        shop.work(item, shop.dying(**step))
    invoice_id = stored(shop).instalments[0].invoice_id
    [claimed] = shop.charges(invoice_id)
    assert claimed.status is ChargeStatus.CHARGING
    # ... and the schedule carries on (the sweeper reconciles, the message is redelivered)
    shop.work(item)
    shop.run_due(until=plan.instalments[0].due_at + timedelta(hours=2))
    # Then the instalment was charged exactly once, and paid
    assert shop.confirmations(invoice_id) == 1
    assert len(shop.succeeded(invoice_id)) == 1
    assert stored(shop).instalments[0].status is InstalmentStatus.PAID
    assert shop.invoice(invoice_id).status is InvoiceStatus.PAID


def test_an_instalment_declined_and_recorded_late_keeps_the_retries_of_its_attempt(
    make_shop: Callable[..., Any],
) -> None:
    # Given two plans whose first instalment is due now on a card that declines: one
    # answered at once, one whose charger died after the provider declined, before the settle
    def first_declined(crash: bool) -> Any:
        shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS, count=2)
        [item] = [d for d in shop.repo.due(shop.clock.now()) if d.entity_id == "ipl-1"]
        if crash:
            with pytest.raises(shop.Crash):
                shop.work(item, shop.dying(after_call="pay"))
            # When the sweeper records the decline after the lease, minutes later
            shop.run_due(until=plan.instalments[0].due_at + timedelta(minutes=12))
        else:
            shop.work(item)
        return shop.invoice(stored(shop).instalments[0].invoice_id)

    at_once, late = first_declined(crash=False), first_declined(crash=True)
    # Then its retries are the attempt's, as if the answer had come at once
    assert late.failures == at_once.failures == 1
    assert late.next_attempt_at == at_once.next_attempt_at is not None


# -- bad input: refused, nothing written --------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 3, "count": 4}, "amount"),
        ({"amount": 0}, "amount"),
        ({"count": 1}, "count"),
        ({"count": 13}, "count"),
        ({"every": "day"}, "every"),
        ({"currency": "ZZZ"}, "currency"),
        ({"description": ""}, "description"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    make_shop: Callable[..., Any], changes: dict[str, Any], field: str
) -> None:
    shop = make_shop()
    args: dict[str, Any] = {
        "amount": 1000,
        "currency": "USD",
        "count": 4,
        "every": "month",
        "description": "Laptop",
    } | changes
    commits, events = shop.repo.commits, len(shop.repo.events)
    with pytest.raises(ValidationFailedError) as caught:
        installments.create_installment_plan(shop.svc, "alice", "ipl-1", **args)
    assert caught.value.field == field
    assert (shop.repo.commits, len(shop.repo.events)) == (commits, events)
    assert shop.repo.get_installment_plan("ipl-1") is None


def test_an_unknown_customer_is_refused_and_nothing_is_written(
    make_shop: Callable[..., Any],
) -> None:
    shop = make_shop()
    commits = shop.repo.commits
    with pytest.raises(NotFoundError):
        installments.create_installment_plan(
            shop.svc, "nobody", "ipl-1", 1000, "USD", 4, "month", "Laptop"
        )
    assert shop.repo.commits == commits
    assert shop.repo.get_installment_plan("ipl-1") is None


def test_a_plan_id_is_never_reused(make_shop: Callable[..., Any]) -> None:
    shop = make_shop()
    a_plan(shop)
    with pytest.raises(AlreadyExistsError):
        a_plan(shop, amount=5000)
    assert stored(shop).amount == 1003


def test_creating_a_plan_records_its_event(make_shop: Callable[..., Any]) -> None:
    shop = make_shop()
    a_plan(shop)
    [created] = [e for e in shop.repo.events if e["type"] == EventType.INSTALLMENT_PLAN_CREATED]
    assert created["entity_id"] == "ipl-1"
    assert created["data"] == {"amount": 1003, "currency": "USD", "count": 4, "every": "month"}


def test_canceling_a_plan_cancels_later_instalments_and_charges_nothing_after(
    make_shop: Callable[..., Any],
) -> None:
    # Given a plan of 4 monthly instalments whose first is paid
    shop, plan = alice_on_a_plan(make_shop, VISA)
    shop.run_due(until=plan.instalments[0].due_at)
    # When it is canceled, and the schedule runs past its last date
    canceled = installments.cancel_installment_plan(shop.svc, "ipl-1")
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=30))
    # Then the paid one stays paid, the rest are canceled, never invoiced nor charged
    after = stored(shop)
    assert canceled.status is after.status is PlanStatus.CANCELED
    assert [i.status for i in after.instalments] == [InstalmentStatus.PAID] + [
        InstalmentStatus.CANCELED
    ] * 3
    assert [i.invoice_id for i in after.instalments[1:]] == [None] * 3
    assert after.collected == plan.instalments[0].amount
    (event,) = [e for e in shop.repo.events if e["type"] == "InstallmentPlanCanceled"]
    assert event["data"]["canceled"] == [2, 3, 4] and event["data"]["voided"] == []


def test_canceling_a_plan_voids_an_instalment_being_dunned_and_stops_its_retries(
    make_shop: Callable[..., Any],
) -> None:
    # Given a plan whose first instalment failed and waits for a retry
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS)
    shop.run_due(until=plan.instalments[0].due_at)
    invoice_id = stored(shop).instalments[0].invoice_id
    assert shop.invoice(invoice_id).next_attempt_at is not None
    # When the plan is canceled and the retries' dates pass with a card that would pay
    installments.cancel_installment_plan(shop.svc, "ipl-1")
    shop.add_card(VISA)
    shop.run_due(until=plan.instalments[1].due_at + timedelta(days=30))
    # Then its invoice is void and was tried only the once, before the cancel
    assert shop.invoice(invoice_id).status is InvoiceStatus.VOID
    assert len(shop.charges(invoice_id)) == 1
    assert stored(shop).instalments[0].status is InstalmentStatus.CANCELED


@pytest.mark.parametrize("ending", ["completed", "defaulted", "canceled"])
def test_a_plan_that_ended_cannot_be_canceled_and_nothing_is_written(
    make_shop: Callable[..., Any], ending: str
) -> None:
    shop = make_shop()
    shop.add_card(VISA if ending != "defaulted" else INSUFFICIENT_FUNDS)
    plan = a_plan(shop, count=2, every="week")
    if ending == "canceled":
        installments.cancel_installment_plan(shop.svc, "ipl-1")
    else:
        shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=60))
    assert stored(shop).status is PlanStatus(ending)
    before = (shop.repo.commits, len(shop.repo.events))

    with pytest.raises(IllegalTransitionError):
        installments.cancel_installment_plan(shop.svc, "ipl-1")

    assert (shop.repo.commits, len(shop.repo.events)) == before


def test_an_instalment_being_charged_this_moment_holds_the_cancel_back(
    make_shop: Callable[..., Any],
) -> None:
    # Given an instalment whose charge is claimed and the provider not yet answered
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS)
    shop.run_due(until=plan.instalments[0].due_at)
    invoice_id = stored(shop).instalments[0].invoice_id
    (held,) = [c for c in shop.repo.charges.values() if c.invoice_id == invoice_id]
    held.status = ChargeStatus.CHARGING  # as a crash right after the claim leaves it
    shop.repo.charges[held.id] = held  # (what is read is a copy: written back)
    before = (shop.repo.commits, len(shop.repo.events))

    with pytest.raises(ConcurrencyError):
        installments.cancel_installment_plan(shop.svc, "ipl-1")

    assert (shop.repo.commits, len(shop.repo.events)) == before
    assert stored(shop).status is PlanStatus.ACTIVE


def test_canceling_an_unknown_plan_is_not_found(make_shop: Callable[..., Any]) -> None:
    shop = make_shop()

    with pytest.raises(NotFoundError):
        installments.cancel_installment_plan(shop.svc, "ipl-nope")

    assert shop.repo.installment_plans == {}
