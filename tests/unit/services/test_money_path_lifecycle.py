"""Renewals over time through the due-work driver: month ends, trial conversion, pauses."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.calendar import add_intervals
from tenure.domain.charges import ChargeOutcome
from tenure.domain.dunning import DunningPolicy
from tenure.domain.invoices import InvoiceKind, InvoiceStatus, LineKind
from tenure.domain.subscription import SubscriptionStatus
from tenure.services import subscriptions

VISA = "4242424242424242"


# -- 8. a month-end customer over a year ---------------------------------------------------------
def test_a_month_end_customer_pays_the_right_twelve_invoices_in_a_year(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice subscribing monthly on January 31st with a good card
    shop = make_shop(start=datetime(2026, 1, 31, 9, tzinfo=UTC))
    shop.add_card(VISA)
    shop.subscribe()
    # When a year of renewals runs
    shop.run_due(until=datetime(2027, 1, 30, tzinfo=UTC))
    # Then twelve paid invoices, each period starting on the month's last day at 09:00
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    starts = [datetime(2026, m, d, 9, tzinfo=UTC) for m, d in enumerate(days, start=1)]
    invoices = shop.invoices()
    assert [i.period_start for i in invoices] == starts
    assert [i.period_end for i in invoices] == [*starts[1:], datetime(2027, 1, 31, 9, tzinfo=UTC)]
    assert {i.status for i in invoices} == {InvoiceStatus.PAID}
    assert [i.paid_at for i in invoices] == starts
    # ... each charged once
    for invoice in invoices:
        assert [c.outcome for c in shop.charges(invoice.id)] == [ChargeOutcome.SUCCEEDED]
    assert shop.gateway.confirmations == 12
    assert shop.sub().status is SubscriptionStatus.ACTIVE


# -- 9. trial conversion -------------------------------------------------------------------------
def test_a_trial_with_a_card_is_charged_at_its_end_and_becomes_active(
    make_shop: Callable[..., Any],
) -> None:
    # Given a 14-day trial with a good card
    shop = make_shop()
    shop.add_card(VISA)
    shop.subscribe(plan="basic-trial")
    trial_end = shop.start + timedelta(days=14)
    assert shop.sub().status is SubscriptionStatus.TRIALING
    assert shop.gateway.confirmations == 0
    # When the trial ends
    shop.run_due(until=trial_end + timedelta(hours=1))
    # Then the first invoice was charged at the trial's end and the subscription is active
    [invoice] = shop.invoices()
    assert (invoice.kind, invoice.status) == (InvoiceKind.FIRST, InvoiceStatus.PAID)
    assert invoice.period_start == trial_end
    [charge] = shop.charges(invoice.id)
    assert (charge.outcome, charge.at) == (ChargeOutcome.SUCCEEDED, trial_end)
    sub = shop.sub()
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.current_period_start == trial_end


def test_a_trial_without_a_card_waits_past_due_for_one_by_default(
    make_shop: Callable[..., Any],
) -> None:
    # Given a 14-day trial and no payment method, under the default policy
    shop = make_shop()
    shop.subscribe(plan="basic-trial")
    trial_end = shop.start + timedelta(days=14)
    # When the trial ends
    shop.run_due(until=trial_end + timedelta(hours=1))
    # Then the first invoice is open, the subscription past due, waiting until the deadline
    [invoice] = shop.invoices()
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.dunning_ends_at == trial_end + DunningPolicy().retry_after[-1]
    assert shop.charges(invoice.id) == []
    assert shop.sub().status is SubscriptionStatus.PAST_DUE


def test_a_trial_without_a_card_that_gets_one_later_is_charged_and_active(
    make_shop: Callable[..., Any],
) -> None:
    # Given a trial that ended without a payment method
    shop = make_shop()
    shop.subscribe(plan="basic-trial")
    trial_end = shop.start + timedelta(days=14)
    shop.run_due(until=trial_end + timedelta(days=2))
    # When the customer adds a card
    shop.add_card(VISA)
    # Then the first invoice is paid at once and the subscription active
    [invoice] = shop.invoices()
    assert invoice.status is InvoiceStatus.PAID
    assert len(shop.succeeded(invoice.id)) == 1
    assert shop.sub().status is SubscriptionStatus.ACTIVE


def test_a_trial_without_a_card_is_canceled_at_its_end_when_the_policy_says_so(
    make_shop: Callable[..., Any],
) -> None:
    # Given a 14-day trial without a card, under a policy that cancels such trials
    shop = make_shop(policy=DunningPolicy(cancel_trial_without_payment_method=True))
    shop.subscribe(plan="basic-trial")
    trial_end = shop.start + timedelta(days=14)
    # When the trial ends
    shop.run_due(until=trial_end + timedelta(days=1))
    # Then the subscription was canceled at the trial's end, nothing invoiced or charged
    sub = shop.sub()
    assert (sub.status, sub.canceled_at) == (SubscriptionStatus.CANCELED, trial_end)
    assert sub.cancel_reason == "trial_ended_without_payment_method"
    assert shop.invoices() == []
    assert shop.gateway.confirmations == 0


def test_a_trial_with_a_card_is_charged_even_when_the_policy_cancels_cardless_trials(
    make_shop: Callable[..., Any],
) -> None:
    # Given a trial with a card, under a policy that cancels cardless trials
    shop = make_shop(policy=DunningPolicy(cancel_trial_without_payment_method=True))
    shop.add_card(VISA)
    shop.subscribe(plan="basic-trial")
    # When the trial ends
    shop.run_due(until=shop.start + timedelta(days=15))
    # Then it converted as usual
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    assert [i.status for i in shop.invoices()] == [InvoiceStatus.PAID]


# -- 12. pause -----------------------------------------------------------------------------------
def a_paid_subscription(make_shop: Callable[..., Any]) -> Any:
    shop = make_shop()
    shop.add_card(VISA)
    shop.subscribe()
    return shop


def test_nothing_is_charged_while_a_subscription_is_paused(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paid subscription paused on day 10 until day 60 (past two period ends)
    shop = a_paid_subscription(make_shop)
    shop.clock.set(shop.start + timedelta(days=10))
    subscriptions.pause(shop.svc, "sub-1", until=shop.start + timedelta(days=60))
    # When the schedule runs through the pause
    shop.run_due(until=shop.start + timedelta(days=59))
    # Then no renewal was invoiced or charged
    assert shop.sub().status is SubscriptionStatus.PAUSED
    assert len(shop.invoices()) == 1
    assert shop.gateway.confirmations == 1


def test_a_pause_that_ends_on_its_date_restarts_the_period_there_and_charges_it(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paid subscription paused on day 10 until day 60
    shop = a_paid_subscription(make_shop)
    resume_at = shop.start + timedelta(days=60)
    shop.clock.set(shop.start + timedelta(days=10))
    subscriptions.pause(shop.svc, "sub-1", until=resume_at)
    # When the pause ends
    shop.run_due(until=resume_at + timedelta(hours=1))
    # Then the period restarted at the resume moment, and it was charged then, once
    sub = shop.sub()
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.current_period_start == resume_at
    plan = shop.repo.get_plan("basic")
    assert sub.current_period_end == add_intervals(resume_at, plan.billing_interval, 1)
    invoice = shop.invoice_starting(resume_at)
    assert invoice.status is InvoiceStatus.PAID
    assert [(c.outcome, c.at) for c in shop.charges(invoice.id)] == [
        (ChargeOutcome.SUCCEEDED, resume_at)
    ]
    # ... less the unused part of the paused period, credited
    assert any(line.kind is LineKind.CREDIT for line in invoice.lines)
    assert 0 < invoice.total < plan.amount


@pytest.mark.parametrize("days_paused", [5, 45])
def test_resuming_by_hand_restarts_the_period_at_the_resume_moment(
    make_shop: Callable[..., Any], days_paused: int
) -> None:
    # Given a paid subscription paused on day 10 with no end date
    shop = a_paid_subscription(make_shop)
    shop.clock.set(shop.start + timedelta(days=10))
    subscriptions.pause(shop.svc, "sub-1", until=None)
    resume_at = shop.start + timedelta(days=10 + days_paused)
    shop.run_due(until=resume_at)
    # When the customer resumes
    subscriptions.resume(shop.svc, "sub-1")
    # Then the new period starts now, is charged now, and the next renewal is a month on
    sub = shop.sub()
    assert (sub.status, sub.current_period_start) == (SubscriptionStatus.ACTIVE, resume_at)
    invoice = shop.invoice_starting(resume_at)
    assert invoice.status is InvoiceStatus.PAID
    assert [c.at for c in shop.succeeded(invoice.id)] == [resume_at]
    assert len(shop.invoices()) == 2
