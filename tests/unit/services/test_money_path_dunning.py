"""Recovering failed payments: soft and hard declines, authentication, card updates, first
payments, and renewals skipped when the subscription changed meanwhile (docs/dunning.md)."""

from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from conftest import card

from tenure.domain.charges import ChargeOutcome
from tenure.domain.dunning import DunningPolicy, FinalAction
from tenure.domain.errors import ConcurrencyError
from tenure.domain.events import EventType
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.ports import Commit
from tenure.services import cards, charging, subscriptions

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
INSUFFICIENT_FUNDS = "4000000000009995"
GENERIC_DECLINE = "4000000000000002"
AUTHENTICATION_REQUIRED = "4000002760003184"
HARD_DECLINES = {
    "lost_card": "4000000000009987",
    "stolen_card": "4000000000009979",
    "expired_card": "4000000000000069",
}
SCHEDULE = (timedelta(days=3, hours=5), timedelta(days=7, hours=2), timedelta(days=14, hours=7))
LAST_RETRY = SCHEDULE[-1]

# Each final action of a policy, and what it leaves the subscription and the invoice.
FINAL_ACTIONS = pytest.mark.parametrize(
    ("final_action", "sub_status", "invoice_status"),
    [
        (FinalAction.UNPAID, SubscriptionStatus.UNPAID, InvoiceStatus.OPEN),
        (FinalAction.CANCELED, SubscriptionStatus.CANCELED, InvoiceStatus.UNCOLLECTIBLE),
    ],
)


def a_declining_renewal(
    make_shop: Callable[..., Any], declining_card: str, policy: DunningPolicy | None = None
) -> tuple[Any, Any]:
    """Given alice, her first month paid by card, then switched to `declining_card`, and her
    renewal just attempted and declined. Returns the shop and the renewal invoice."""
    shop = make_shop(policy=policy)
    renewed_at = shop.renewal_declined(declining_card)
    invoice = shop.invoice_starting(renewed_at)
    assert [c.outcome for c in shop.charges(invoice.id)] != [ChargeOutcome.SUCCEEDED]
    return shop, invoice


# -- 4. soft declines ----------------------------------------------------------------------------
def test_a_soft_decline_is_attempted_four_times_each_at_another_hour(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal declined for insufficient funds
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    failed_at = invoice.period_start
    # When dunning runs its course
    shop.run_due(until=failed_at + timedelta(days=20))
    # Then four attempts: at the failure, +3d5h, +7d2h, +14d7h
    charges = shop.charges(invoice.id)
    assert [c.at for c in charges] == [failed_at] + [failed_at + d for d in SCHEDULE]
    hours = [c.at.hour for c in charges]
    assert all(a != b for a, b in pairwise(hours))
    assert {c.decline_code for c in charges} == {"insufficient_funds"}
    assert shop.confirmations(invoice.id) == 4


def test_each_dunning_attempt_has_its_own_idempotency_key(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal declined for insufficient funds
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    # When dunning runs its course
    shop.run_due(until=invoice.period_start + timedelta(days=20))
    # Then attempt n is charge:{invoice}:{n}, in Tenure and at the provider
    keys = [f"charge:{invoice.id}:{n}" for n in (1, 2, 3, 4)]
    assert [c.idempotency_key for c in shop.charges(invoice.id)] == keys
    assert shop.created_keys(invoice.id) == [f"{k}:create" for k in keys]
    assert len({c.payment_id for c in shop.charges(invoice.id)}) == 4


def test_a_subscription_is_past_due_while_a_soft_decline_is_retried(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal declined for insufficient funds
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    failed_at = invoice.period_start
    for offset in SCHEDULE[:-1]:
        # When the schedule reaches the next retry, which declines again
        shop.run_due(until=failed_at + offset + timedelta(hours=1))
        # Then the subscription is past due and the next retry is booked
        assert shop.sub().status is SubscriptionStatus.PAST_DUE
        assert shop.invoice(invoice.id).status is InvoiceStatus.OPEN
        assert shop.invoice(invoice.id).next_attempt_at is not None


@FINAL_ACTIONS
def test_after_the_last_soft_decline_the_final_action_applies(
    make_shop: Callable[..., Any],
    final_action: FinalAction,
    sub_status: SubscriptionStatus,
    invoice_status: InvoiceStatus,
) -> None:
    # Given a renewal declined for insufficient funds, under this final action
    policy = DunningPolicy(final_action=final_action)
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS, policy)
    # When all four attempts decline
    shop.run_due(until=invoice.period_start + timedelta(days=20))
    # Then the final action applied at the last attempt, and nothing is due any more
    sub, invoice = shop.sub(), shop.invoice(invoice.id)
    assert (sub.status, invoice.status) == (sub_status, invoice_status)
    assert (invoice.next_attempt_at, invoice.dunning_ends_at) == (None, None)
    assert len(shop.charges(invoice.id)) == 4
    if final_action is FinalAction.CANCELED:
        assert sub.canceled_at == invoice.period_start + LAST_RETRY
        assert sub.cancel_reason == "payment_failed"


def test_a_default_policy_ends_soft_dunning_unpaid(make_shop: Callable[..., Any]) -> None:
    # Given the default policy
    # When a soft decline runs through all its attempts
    shop, invoice = a_declining_renewal(make_shop, GENERIC_DECLINE)
    shop.run_due(until=invoice.period_start + timedelta(days=20))
    # Then the subscription is unpaid and the invoice stays open as a debt
    assert shop.sub().status is SubscriptionStatus.UNPAID
    assert shop.invoice(invoice.id).status is InvoiceStatus.OPEN


def test_the_unpaid_event_names_every_decline_the_last_attempt_included(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal declined for insufficient funds
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    # When its four attempts decline and the fourth marks it unpaid
    shop.run_due(until=invoice.period_start + timedelta(days=20))
    # Then the event names the four declines, the one settling then too (it was "unknown":
    # the attempt was read as stored, before its answer was written)
    [unpaid] = [e for e in shop.repo.events if e["type"] == EventType.SUBSCRIPTION_UNPAID]
    assert unpaid["data"]["declines"] == ["insufficient_funds"] * 4


# -- 5. hard declines ----------------------------------------------------------------------------
@pytest.mark.parametrize("declining_card", HARD_DECLINES.values(), ids=HARD_DECLINES.keys())
def test_a_hard_decline_is_attempted_once_and_never_retried_on_that_card(
    make_shop: Callable[..., Any], declining_card: str
) -> None:
    # Given a renewal declined with a hard decline
    shop, invoice = a_declining_renewal(make_shop, declining_card)
    assert invoice.next_attempt_at is None
    assert invoice.dunning_ends_at == invoice.period_start + LAST_RETRY
    assert shop.sub().status is SubscriptionStatus.PAST_DUE
    # When the schedule runs up to just before the deadline
    shop.run_due(until=invoice.period_start + LAST_RETRY - timedelta(minutes=1))
    # Then the card was charged once, and is never charged again
    assert len(shop.charges(invoice.id)) == 1
    assert shop.confirmations(invoice.id) == 1
    assert shop.sub().status is SubscriptionStatus.PAST_DUE


@pytest.mark.parametrize("declining_card", HARD_DECLINES.values(), ids=HARD_DECLINES.keys())
@FINAL_ACTIONS
def test_at_the_hard_decline_deadline_the_final_action_applies(
    make_shop: Callable[..., Any],
    declining_card: str,
    final_action: FinalAction,
    sub_status: SubscriptionStatus,
    invoice_status: InvoiceStatus,
) -> None:
    # Given a renewal declined with a hard decline, under this final action
    policy = DunningPolicy(final_action=final_action)
    shop, invoice = a_declining_renewal(make_shop, declining_card, policy)
    # When the deadline passes without a new card
    shop.run_due(until=invoice.period_start + LAST_RETRY + timedelta(hours=1))
    # Then the final action applied at the deadline, after one attempt only
    sub, invoice = shop.sub(), shop.invoice(invoice.id)
    assert (sub.status, invoice.status) == (sub_status, invoice_status)
    assert len(shop.charges(invoice.id)) == 1
    assert invoice.next_due() is None
    if final_action is FinalAction.CANCELED:
        assert sub.canceled_at == invoice.period_start + LAST_RETRY


@pytest.mark.parametrize("declining_card", HARD_DECLINES.values(), ids=HARD_DECLINES.keys())
def test_a_card_update_before_the_hard_decline_deadline_charges_at_once_and_ends_dunning(
    make_shop: Callable[..., Any], declining_card: str
) -> None:
    # Given a renewal declined with a hard decline
    shop, invoice = a_declining_renewal(make_shop, declining_card)
    updated_at = invoice.period_start + timedelta(days=2)
    shop.clock.set(updated_at)
    # When the customer gives a new card before the deadline
    shop.add_card(MASTERCARD)
    # Then the invoice is paid at once and the subscription is active again
    paid = shop.invoice(invoice.id)
    assert (paid.status, paid.paid_at) == (InvoiceStatus.PAID, updated_at)
    assert (paid.next_attempt_at, paid.dunning_ends_at) == (None, None)
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    # ... and nothing more happens for it, past the old deadline
    shop.run_due(until=invoice.period_start + LAST_RETRY + timedelta(days=1))
    assert [c.outcome for c in shop.charges(invoice.id)] == [
        ChargeOutcome.DECLINED,
        ChargeOutcome.SUCCEEDED,
    ]
    assert shop.sub().status is SubscriptionStatus.ACTIVE


# -- 6. authentication required ------------------------------------------------------------------
def test_an_authentication_required_card_is_never_retried_off_session(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal on a card that needs 3-D Secure
    shop, invoice = a_declining_renewal(make_shop, AUTHENTICATION_REQUIRED)
    [charge] = shop.charges(invoice.id)
    assert charge.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED
    assert invoice.next_attempt_at is None
    assert invoice.dunning_ends_at == invoice.period_start + LAST_RETRY
    # When the schedule runs past the deadline
    shop.run_due(until=invoice.period_start + LAST_RETRY + timedelta(days=1))
    # Then the card was asked once, never again off-session, and dunning ended unpaid
    assert len(shop.charges(invoice.id)) == 1
    assert shop.confirmations(invoice.id) == 1
    assert shop.sub().status is SubscriptionStatus.UNPAID


# -- 7. a card update ends soft dunning ----------------------------------------------------------
def test_a_card_update_ends_soft_dunning(make_shop: Callable[..., Any]) -> None:
    # Given a renewal declined for insufficient funds, its retry booked
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    assert invoice.next_attempt_at is not None
    shop.clock.set(invoice.period_start + timedelta(days=1))
    # When the customer gives a new card
    shop.add_card(MASTERCARD)
    # Then the invoice is paid at once, the retries are cancelled, the subscription active
    paid = shop.invoice(invoice.id)
    assert paid.status is InvoiceStatus.PAID
    assert (paid.next_attempt_at, paid.dunning_ends_at) == (None, None)
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    shop.run_due(until=invoice.period_start + timedelta(days=20))
    assert len(shop.charges(invoice.id)) == 2
    assert len(shop.succeeded(invoice.id)) == 1


def test_a_card_update_that_pays_what_was_owed_has_no_retry_pending(
    make_shop: Callable[..., Any],
) -> None:
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)

    update = cards.update_payment_method(shop.svc, "alice", card(MASTERCARD), "sandbox", True)

    assert (update.method.id, update.retry_pending) == (card(MASTERCARD), False)
    assert shop.invoice(invoice.id).status is InvoiceStatus.PAID


def test_a_card_saved_whose_retry_loses_a_race_is_reported_saved_with_the_retry_pending(
    make_shop: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a renewal declined for insufficient funds, and every claim of a charge losing a
    # race (a renewal worker claiming the same invoice) while the card is given
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    real, refused = shop.repo.commit, []

    def commit(change: Commit) -> None:
        if change.charges:
            refused.append(change)
            raise ConcurrencyError(f"invoice {invoice.id} changed meanwhile")
        real(change)

    monkeypatch.setattr(shop.repo, "commit", commit)
    # When the customer gives a new card
    update = cards.update_payment_method(shop.svc, "alice", card(MASTERCARD), "sandbox", True)
    monkeypatch.undo()
    # Then nothing is raised: the card is the default, and the retry is said to be pending
    assert refused, "the retry never tried to claim a charge"
    assert (update.method.id, update.retry_pending) == (card(MASTERCARD), True)
    assert shop.repo.get_customer("alice").default_payment_method == card(MASTERCARD)  # type: ignore[union-attr]
    # And the invoice is still owed, its dunning retry charges the new card once
    owed = shop.invoice(invoice.id)
    assert owed.status is InvoiceStatus.OPEN and owed.next_attempt_at is not None
    shop.run_due(until=owed.next_attempt_at)
    assert shop.invoice(invoice.id).status is InvoiceStatus.PAID
    assert len(shop.succeeded(invoice.id)) == 1


# -- 10. incomplete first payments ---------------------------------------------------------------
def an_incomplete_subscription(make_shop: Callable[..., Any]) -> tuple[Any, Any]:
    """Given bob's card declined on his first payment."""
    shop = make_shop()
    shop.add_card(GENERIC_DECLINE)
    outcome = shop.subscribe()
    return shop, outcome.invoice


def test_a_declined_first_payment_leaves_the_subscription_incomplete_without_retries(
    make_shop: Callable[..., Any],
) -> None:
    # Given a first payment declined
    shop, invoice = an_incomplete_subscription(make_shop)
    # When the schedule runs to just before the incomplete window closes
    shop.run_due(until=shop.start + timedelta(hours=22, minutes=59))
    # Then the subscription is incomplete and the card was never tried again
    assert shop.sub().status is SubscriptionStatus.INCOMPLETE
    assert shop.invoice(invoice.id).status is InvoiceStatus.OPEN
    assert shop.invoice(invoice.id).next_due() is None
    assert len(shop.charges(invoice.id)) == 1


def test_a_card_update_within_the_incomplete_window_pays_and_activates(
    make_shop: Callable[..., Any],
) -> None:
    # Given a first payment declined
    shop, invoice = an_incomplete_subscription(make_shop)
    shop.clock.set(shop.start + timedelta(hours=22))
    # When the customer gives a good card within 23 hours
    shop.add_card(VISA)
    # Then the invoice is paid and the subscription active; it does not expire later
    assert shop.invoice(invoice.id).status is InvoiceStatus.PAID
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    shop.run_due(until=shop.start + timedelta(days=2))
    assert shop.sub().status is SubscriptionStatus.ACTIVE


def test_an_incomplete_subscription_expires_after_23_hours_and_its_invoice_is_void(
    make_shop: Callable[..., Any],
) -> None:
    # Given a first payment declined
    shop, invoice = an_incomplete_subscription(make_shop)
    # When 23 hours pass without payment
    shop.run_due(until=shop.start + timedelta(days=2))
    # Then the subscription was canceled as incomplete_expired, and the invoice voided
    sub = shop.sub()
    assert (sub.status, sub.cancel_reason) == (SubscriptionStatus.CANCELED, "incomplete_expired")
    assert sub.canceled_at == shop.start + timedelta(hours=23)
    assert shop.invoice(invoice.id).status is InvoiceStatus.VOID
    assert len(shop.charges(invoice.id)) == 1


# -- 11. canceled between scheduling and charging ------------------------------------------------
def test_a_retry_for_a_subscription_canceled_meanwhile_is_skipped_not_charged(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal in soft dunning whose retry message is already queued
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    retry_at = invoice.next_attempt_at
    shop.clock.set(retry_at - timedelta(minutes=1))
    # When the subscription is canceled before the charger takes the message
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=False, reason="customer_request")
    shop.clock.set(retry_at)
    # Then the retry charges nothing, directly or through collect_invoice
    assert charging.retry_invoice(shop.svc, invoice.id) is None
    assert charging.collect_invoice(shop.svc, invoice.id) is None
    assert len(shop.charges(invoice.id)) == 1
    assert shop.confirmations(invoice.id) == 1


def test_a_skipped_retry_of_a_canceled_subscription_leaves_the_due_work(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal in soft dunning, its subscription canceled before the retry
    shop, invoice = a_declining_renewal(make_shop, INSUFFICIENT_FUNDS)
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=False, reason="customer_request")
    # When the retry comes due and the charger skips it
    shop.clock.set(invoice.next_attempt_at)
    assert charging.retry_invoice(shop.svc, invoice.id) is None
    # Then the invoice is no longer due work, which the scheduler would queue on every run
    shop.clock.advance(timedelta(days=1))
    assert [d for d in shop.repo.due(shop.clock.now()) if d.entity_id == invoice.id] == []
    assert len(shop.charges(invoice.id)) == 1


def test_a_renewal_for_a_subscription_canceled_meanwhile_is_skipped(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paying subscriber whose renewal message is queued
    shop = make_shop()
    shop.add_card(VISA)
    shop.subscribe()
    renewal_at = shop.sub().current_period_end
    shop.clock.set(renewal_at - timedelta(minutes=1))
    # When the subscription is canceled before the charger takes the message
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=False, reason="customer_request")
    shop.clock.set(renewal_at)
    # Then the renewal does nothing: no invoice, no charge
    assert subscriptions.process_due(shop.svc, "sub-1") is None
    assert len(shop.invoices()) == 1
    assert shop.gateway.confirmations == 1
