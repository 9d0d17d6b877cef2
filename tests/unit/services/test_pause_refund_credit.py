"""A pause carries the unused rest of the paid period to the resume as credit, and a plan or
seat change gives it back as an "Unused time" line; a refund of the invoice that paid for
that period gives the same money back. Together they must never give it back twice,
whichever comes first."""

from datetime import timedelta

import pytest
from conftest import T0, Shop

from tenure.domain.events import EventType
from tenure.domain.invoices import Invoice, LineKind
from tenure.domain.plans import Plan
from tenure.ports import Commit
from tenure.services import catalog, refunds, subscriptions

PAUSED_AT = T0 + timedelta(days=3)
RESUMED_AT = T0 + timedelta(days=40)


@pytest.fixture
def shop(paid_shop: Shop) -> Shop:
    return paid_shop


def pause(shop: Shop) -> int:
    """Pauses sub-1 three days into its first (paid, 1000) period; returns the credit."""
    shop.clock.set(PAUSED_AT)
    subscriptions.pause(shop.svc, "sub-1", until=None)
    return shop.repo.get_subscription("sub-1").credit


def refund(shop: Shop, amount: int | None, at_day: int) -> None:
    shop.clock.set(T0 + timedelta(days=at_day))
    [first] = shop.invoices()
    refunds.refund_invoice(shop.svc, first.id, amount=amount)


def resume_invoice(shop: Shop) -> Invoice:
    shop.clock.set(RESUMED_AT)
    subscriptions.resume(shop.svc, "sub-1")
    return shop.invoice_starting(RESUMED_AT)


def credited(invoice: Invoice) -> int:
    return -sum(line.amount for line in invoice.lines if line.kind is LineKind.CREDIT)


def test_without_a_refund_the_resume_invoice_takes_the_whole_credit(shop: Shop) -> None:
    credit = pause(shop)

    invoice = resume_invoice(shop)

    assert credited(invoice) == credit
    assert not [e for e in shop.repo.events if e["type"] == EventType.CREDIT_ADJUSTED]


def test_a_period_refunded_in_full_before_the_pause_is_not_also_credited(shop: Shop) -> None:
    refund(shop, None, at_day=2)
    credit = pause(shop)  # the refund is set against the unused time at the pause

    invoice = resume_invoice(shop)

    assert credit == 0
    assert credited(invoice) == 0 and invoice.total == 1000
    assert shop.repo.get_subscription("sub-1").credit == 0
    [paused] = [e for e in shop.repo.events if e["type"] == EventType.SUBSCRIPTION_PAUSED]
    assert paused["data"]["credit"] == 0


def test_a_partial_refund_before_the_pause_is_taken_off_its_credit_once(shop: Shop) -> None:
    refund(shop, 300, at_day=2)
    credit = pause(shop)

    invoice = resume_invoice(shop)

    assert credit == round(1000 * 28 / 31) - 300
    assert credited(invoice) == credit


def test_a_refund_during_the_pause_takes_back_that_much_of_the_credit(shop: Shop) -> None:
    credit = pause(shop)
    refund(shop, 500, at_day=5)

    invoice = resume_invoice(shop)

    assert credited(invoice) == credit - 500
    assert invoice.total == 1000 - (credit - 500)


def test_a_refund_larger_than_the_credit_leaves_none_and_nothing_below_zero(shop: Shop) -> None:
    pause(shop)
    refund(shop, None, at_day=5)

    invoice = resume_invoice(shop)

    assert credited(invoice) == 0 and invoice.total == 1000
    assert shop.repo.get_subscription("sub-1").credit == 0


def unused_line(invoice: Invoice) -> int:
    [line] = [x for x in invoice.lines if x.description.startswith("Unused time")]
    return -line.amount


def change_to(shop: Shop, amount: int) -> tuple[Invoice | None, int]:
    """Moves sub-1 to a monthly USD plan of `amount` three days in: the proration invoice
    (None for a downgrade, all credit), and the credit the subscription holds after it."""
    catalog.create_plan(
        shop.svc, Plan(id="other", name="Other", amount=amount, currency="USD", interval="month")
    )
    shop.clock.set(PAUSED_AT)
    done = subscriptions.change_plan(shop.svc, "sub-1", "other")
    return done.invoice, done.subscription.credit


def test_an_upgrade_after_a_full_refund_gives_no_unused_time_back(shop: Shop) -> None:
    refund(shop, None, at_day=2)

    proration, credit = change_to(shop, 2000)

    assert proration is not None and unused_line(proration) == 0 and credit == 0
    assert proration.total > 0  # the rest of the period on the new plan, all of it charged


def test_a_downgrade_after_a_partial_refund_credits_only_what_is_left(shop: Shop) -> None:
    refund(shop, 600, at_day=2)

    _, credit = change_to(shop, 100)

    unused = round(1000 * 28 / 31)  # the same 28 of 31 days the pause measures
    assert credit == unused - 600 - round(100 * 28 / 31)


def test_without_a_refund_a_downgrade_credits_the_whole_unused_time(shop: Shop) -> None:
    _, credit = change_to(shop, 100)

    assert credit == round(1000 * 28 / 31) - round(100 * 28 / 31)


def test_a_pause_made_before_credit_was_kept_against_invoices_is_netted_at_resume(
    shop: Shop,
) -> None:
    credit = pause(shop)
    [first] = shop.invoices()
    first.unused_credited = first.unused_to_balance = 0  # as a pause made before this stored
    shop.svc.commit(Commit(invoices=[first]))
    refund(shop, 500, at_day=5)  # takes nothing back: nothing on the invoice says so
    assert shop.repo.get_subscription("sub-1").credit == credit

    invoice = resume_invoice(shop)

    assert credited(invoice) == credit - 500
    [taken] = [e for e in shop.repo.events if e["type"] == EventType.CREDIT_ADJUSTED]
    assert taken["data"]["amount"] == -500
