"""Never double-charge, never lose a payment: crashes, duplicate deliveries and provider faults
on the renewal path, replayed until the work is done (DESIGN.md invariants 1 and 2)."""

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tenure.domain.calendar import add_intervals
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.ports import Commit
from tenure.services import charging, charging_reconcile, charging_settle, subscriptions

VISA = "4242424242424242"
INSUFFICIENT_FUNDS = "4000000000009995"
MASTERCARD = "5555555555554444"


def a_paying_subscriber(make_shop: Callable[..., Any]) -> Any:
    """Given alice, subscribed to basic with a good card, her first month paid."""
    shop = make_shop()
    shop.add_card(VISA)
    shop.subscribe()
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    return shop


def renewal_moment(shop: Any) -> Any:
    return shop.sub().current_period_end


def a_renewal_due(make_shop: Callable[..., Any]) -> tuple[Any, datetime]:
    """Given a paying subscriber whose period has just ended: the shop, and that moment."""
    shop = a_paying_subscriber(make_shop)
    renewed_at = renewal_moment(shop)
    shop.clock.set(renewed_at)
    return shop, renewed_at


def a_renewal_whose_worker_died(make_shop: Callable[..., Any], **step: Any) -> tuple[Any, datetime]:
    """Given a renewal whose worker died at `step` (`after_commit=1`: after its claim, before
    its request; `after_call="pay"`: after the provider acted, before the settle)."""
    shop, renewed_at = a_renewal_due(make_shop)
    with pytest.raises(shop.Crash):
        subscriptions.process_due(shop.dying(**step), "sub-1")
    return shop, renewed_at


def a_renewal_declined(make_shop: Callable[..., Any]) -> tuple[Any, datetime]:
    """Given a renewal declined for insufficient funds (soft dunning, a retry scheduled): the
    shop, and when it was declined."""
    shop = a_paying_subscriber(make_shop)
    shop.add_card(INSUFFICIENT_FUNDS)
    renewed_at = renewal_moment(shop)
    shop.clock.set(renewed_at)
    subscriptions.process_due(shop.svc, "sub-1")
    return shop, renewed_at


def assert_renewed_once(shop: Any, renewed_at: Any) -> None:
    """Exactly one confirmation, one paid invoice, one succeeded charge, one period advance."""
    invoice = shop.invoice_starting(renewed_at)
    assert invoice.status is InvoiceStatus.PAID
    assert shop.confirmations(invoice.id) == 1
    assert len(shop.succeeded(invoice.id)) == 1
    assert [c.status for c in shop.charges(invoice.id)] == [ChargeStatus.SETTLED] * len(
        shop.charges(invoice.id)
    )
    sub = shop.sub()
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.current_period_start == renewed_at
    assert sub.current_period_end == add_intervals(shop.start, sub_interval(shop), 2)
    assert len(shop.invoices()) == 2  # the first month and this renewal, nothing else


def sub_interval(shop: Any) -> Any:
    return shop.repo.get_plan("basic").billing_interval


# A renewal makes two commits around one provider request: the claim (the period advance,
# the new invoice, the attempt), then the request (create and confirm), then the settle (the
# outcome and the payment id). A death during the request is, to the store, one of the two
# around it: before it reached the provider, or after the provider acted.
CRASH_STEPS = [
    pytest.param({"before_commit": 1}, id="before the claim"),
    pytest.param({"after_commit": 1}, id="after the claim, before the provider request"),
    pytest.param({"after_call": "pay"}, id="after the provider acted, before the settle"),
    pytest.param({"after_commit": 2}, id="after the settle commit, before the SQS ack"),
]


# The scheduler's message carries the subscription as the due index holds it (the charger
# renews from it without a read); an older message names it only. A redelivered message
# carries the same, now stale, subscription.
MESSAGES = [
    pytest.param(True, id="message carries the subscription"),
    pytest.param(False, id="message names the subscription"),
]


# -- 1. a crash at every step, then redelivery ---------------------------------------------------
@pytest.mark.parametrize("carried", MESSAGES)
@pytest.mark.parametrize("step", CRASH_STEPS)
def test_a_renewal_that_crashes_at_any_step_charges_exactly_once_after_redelivery(
    make_shop: Callable[..., Any], step: dict[str, Any], carried: bool
) -> None:
    # Given a paying subscriber whose period has just ended, the renewal queued
    shop, renewed_at = a_renewal_due(make_shop)
    message = shop.queued(carried=carried)
    # When the charger dies at this step of the renewal
    with pytest.raises(shop.Crash):
        shop.work(message, shop.dying(**step))
    # ... and SQS delivers the same message again, and the sweeper runs after the lease
    shop.work(message)
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the customer was charged once for the period, and the period advanced once
    assert_renewed_once(shop, renewed_at)


@pytest.mark.parametrize("carried", MESSAGES)
@pytest.mark.parametrize("step", CRASH_STEPS)
def test_a_renewal_that_crashes_at_any_step_is_settled_by_the_schedule_alone(
    make_shop: Callable[..., Any], step: dict[str, Any], carried: bool
) -> None:
    # Given a paying subscriber whose period has just ended
    shop, renewed_at = a_renewal_due(make_shop)
    # When the charger dies at this step and the message is lost (it went to the DLQ)
    with pytest.raises(shop.Crash):
        shop.work(shop.queued(carried=carried), shop.dying(**step))
    # ... and only the schedule runs from then on
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the due-work index alone still gets the period charged, once
    assert_renewed_once(shop, renewed_at)


@pytest.mark.parametrize("step", CRASH_STEPS)
def test_a_first_invoice_whose_worker_crashes_at_any_step_is_still_charged_once(
    make_shop: Callable[..., Any], step: dict[str, Any]
) -> None:
    # Given alice with a good card
    shop = make_shop()
    shop.add_card(VISA)
    # When the API worker dies at this step of her subscribe (the same two commits)
    with pytest.raises(shop.Crash):
        subscriptions.subscribe(shop.dying(**step), "sub-1", "alice", "basic")
    # ... her client, which got no answer, sends the subscribe again a minute later (a
    # subscription stored before the crash refuses it), and the schedule runs on
    shop.clock.advance(timedelta(minutes=1))
    with contextlib.suppress(AlreadyExistsError):
        shop.subscribe()
    shop.run_due(until=shop.start + timedelta(days=2))
    # Then her first month was charged once and the subscription is active
    [invoice] = shop.invoices()
    assert invoice.status is InvoiceStatus.PAID
    assert shop.confirmations(invoice.id) == 1
    assert len(shop.succeeded(invoice.id)) == 1
    assert shop.sub().status is SubscriptionStatus.ACTIVE


def test_the_crash_steps_are_the_two_commits_of_a_renewal(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paying subscriber whose period has just ended, the renewal queued
    shop, renewed_at = a_renewal_due(make_shop)
    message = shop.queued()
    before = shop.repo.commits
    # When the charger works the message without a crash
    shop.work(message, shop.reading_nothing())
    # Then it read nothing, and wrote the claim (with the new invoice) and the settlement
    # (with the payment id) around one provider request: the steps CRASH_STEPS name
    assert shop.repo.commits - before == 2
    [charge] = shop.charges(shop.invoice_starting(renewed_at).id)
    assert charge.calls == 1
    assert shop.gateway.calls[charge.payment_id or ""] == 1


def test_a_renewal_whose_worker_died_after_the_provider_acted_is_settled_by_the_replay(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose worker died after the provider charged, before the settle
    shop, renewed_at = a_renewal_whose_worker_died(make_shop, after_call="pay")
    invoice = shop.invoice_starting(renewed_at)
    still_claimed(shop, invoice.id)
    # When SQS delivers the message again (the claim is in flight: nothing to do), and the
    # sweeper looks after the lease
    subscriptions.process_due(shop.svc, "sub-1")
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the sweeper sent the identical request under the same key and got the first
    # answer back: one payment, confirmed once, and no list was needed
    [charge] = shop.charges(invoice.id)
    assert charge.payment_id == shop.gateway.events[-1]["data"]["object"]["id"]
    assert_sent_under_the_first_key(shop, invoice.id)
    assert shop.gateway.calls[charge.payment_id or ""] == 2  # the request and its replay
    assert shop.gateway.lists == 0
    assert_renewed_once(shop, renewed_at)


def test_a_decline_recorded_late_by_the_sweeper_keeps_the_retries_of_the_attempt(
    make_shop: Callable[..., Any],
) -> None:
    # Given two renewals declined for insufficient funds: one answered at once, and one
    # whose worker died after the provider declined, before the settle
    calm, renewed_at = a_renewal_declined(make_shop)
    calm_invoice = calm.invoice_starting(renewed_at)
    shop = a_paying_subscriber(make_shop)
    shop.add_card(INSUFFICIENT_FUNDS)
    shop.clock.set(renewed_at)
    with pytest.raises(shop.Crash):
        subscriptions.process_due(shop.dying(after_call="pay"), "sub-1")
    # When the sweeper records the decline after the lease, minutes later
    invoice = shop.invoice_starting(renewed_at)
    sweeper_looks(shop, invoice.id, renewed_at + charging_settle.LEASE + timedelta(minutes=2))
    # Then dunning is timed from the attempt, as if the answer had come at once: a fault in
    # Tenure never moves the customer's retries (found by chaos replay)
    late, at_once = shop.invoice(invoice.id), calm.invoice(calm_invoice.id)
    assert late.failures == at_once.failures == 1
    assert late.next_attempt_at == at_once.next_attempt_at is not None


def test_a_payment_made_before_a_crash_is_found_by_its_metadata_when_the_card_changed_since(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose worker died after the provider charged the visa, before the
    # settle; then alice switched to a mastercard
    shop, renewed_at = a_renewal_whose_worker_died(make_shop, after_call="pay")
    visa = card_on_file(shop)
    shop.add_card(MASTERCARD)
    # When the schedule runs past the lease
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the replay was the identical request (the card the claim stored, not the new
    # one): the key answered with the payment made on the visa, settled once, nothing listed
    invoice = shop.invoice_starting(renewed_at)
    charge = first_attempt_paid(shop, invoice.id)
    assert shop.gateway.payment_intent(charge.payment_id or "")["payment_method"] == visa
    assert shop.confirmations(invoice.id) == 1
    assert shop.gateway.lists == 0
    assert_renewed_once(shop, renewed_at)


def test_a_request_that_never_left_charges_the_card_claimed_not_one_given_since(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose worker died after its claim, before its request; then alice
    # switched to a card that declines (found by chaos replay: the sweeper charged the new
    # card, and the renewal went into dunning where the calm run had it paid)
    shop, renewed_at = a_renewal_whose_worker_died(make_shop, after_commit=1)
    visa = card_on_file(shop)
    shop.add_card(INSUFFICIENT_FUNDS)
    # When the schedule runs past the lease
    shop.run_due(until=renewed_at + charging_settle.LEASE * 3)
    # Then the attempt's one request went out as claimed, on the visa, and paid
    invoice = shop.invoice_starting(renewed_at)
    charge = first_attempt_paid(shop, invoice.id)
    assert shop.gateway.payment_intent(charge.payment_id or "")["payment_method"] == visa
    assert_renewed_once(shop, renewed_at)


def test_a_worker_that_loses_the_claim_calls_the_provider_not_at_all(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paying subscriber whose period has just ended
    shop, renewed_at = a_renewal_due(make_shop)
    # When worker B loads, worker A renews to the end, then B tries to claim
    worker_b = shop.interleaved(lambda: subscriptions.process_due(shop.svc, "sub-1"))
    with pytest.raises(ConcurrencyError):
        subscriptions.process_due(worker_b, "sub-1")
    # Then only A's request reached the provider, once
    invoice = shop.invoice_starting(renewed_at)
    [charge] = shop.charges(invoice.id)
    assert_sent_under_the_first_key(shop, invoice.id)
    assert shop.gateway.calls[charge.payment_id or ""] == 1
    assert shop.confirmations(invoice.id) == 1


# -- 2. the same message twice, concurrently ----------------------------------------------------
def test_the_same_renewal_delivered_twice_concurrently_charges_once(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paying subscriber whose period has just ended
    shop, renewed_at = a_renewal_due(make_shop)
    # When worker B loads, worker A renews to the end, then B commits what it loaded
    worker_b = shop.interleaved(lambda: subscriptions.process_due(shop.svc, "sub-1"))
    with pytest.raises(ConcurrencyError):
        subscriptions.process_due(worker_b, "sub-1")
    # ... and B's message comes back after the failure
    assert subscriptions.process_due(shop.svc, "sub-1") is None
    # Then one charge, one invoice, one period advance
    assert_renewed_once(shop, renewed_at)


def test_the_same_retry_delivered_twice_concurrently_makes_one_attempt(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal declined for insufficient funds, its retry due
    shop, renewed_at = a_renewal_declined(make_shop)
    invoice = shop.invoice_starting(renewed_at)
    assert invoice.next_attempt_at is not None
    shop.clock.set(invoice.next_attempt_at)
    # When two workers take the same retry message: B loads, A claims and charges, B claims
    worker_b = shop.interleaved(lambda: charging.retry_invoice(shop.svc, invoice.id))
    with pytest.raises(ConcurrencyError):
        charging.retry_invoice(worker_b, invoice.id)
    assert charging.retry_invoice(shop.svc, invoice.id) is None
    # Then the retry was one attempt: one more charge row and one more confirmation
    assert [c.attempt for c in shop.charges(invoice.id)] == [1, 2]
    assert shop.confirmations(invoice.id) == 2


# -- 3. provider faults --------------------------------------------------------------------------
def test_a_timeout_on_the_payment_leaves_the_outcome_unknown_never_declined(
    make_shop: Callable[..., Any],
) -> None:
    # Given a paying subscriber whose renewal request will time out after money moved
    shop, renewed_at = a_renewal_due(make_shop)
    shop.gateway.fail_next("timeout", on="pay")
    # When the renewal runs
    subscriptions.process_due(shop.svc, "sub-1")
    # Then the attempt is still charging, outcome unknown; nothing is dunned
    invoice = shop.invoice_starting(renewed_at)
    [charge] = shop.charges(invoice.id)
    assert charge.status is ChargeStatus.CHARGING
    assert charge.outcome is ChargeOutcome.UNKNOWN
    assert charge.payment_id is None  # the answer that carried it was lost
    assert charge.decline_code is None
    assert invoice.status is InvoiceStatus.OPEN
    assert (invoice.failures, invoice.next_attempt_at) == (0, None)
    assert shop.sub().status is SubscriptionStatus.ACTIVE


def test_the_sweeper_settles_a_timed_out_payment_without_charging_again(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose request timed out after money moved
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    # When the lease runs out and the sweeper reconciles
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the attempt succeeded from what the provider says, and money moved once
    [charge] = shop.charges(invoice_id)
    assert shop.gateway.calls[charge.payment_id or ""] == 2  # the request and its replay
    assert (charge.status, charge.outcome) == (ChargeStatus.SETTLED, ChargeOutcome.SUCCEEDED)
    assert charge.at == renewed_at
    assert_renewed_once(shop, renewed_at)


def test_a_reconcile_during_the_lease_leaves_the_claim_alone(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose request timed out a minute ago
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    # When a reconcile message arrives early (the charger may still be at work)
    result = sweeper_looks(shop, invoice_id, at=renewed_at + charging_settle.LEASE / 5)
    # Then nothing is settled yet
    assert result is None
    assert shop.charges(invoice_id)[0].status is ChargeStatus.CHARGING


def a_renewal_whose_create_failed(
    make_shop: Callable[..., Any], fault: str, times: int = 1
) -> tuple[Any, datetime, str]:
    """Given a renewal whose one request met `fault` (a timeout or a saved 500 after the
    provider acted, or a rate limit before it did) `times` times: the shop, when, and the
    invoice."""
    shop, renewed_at = a_renewal_due(make_shop)
    shop.gateway.fail_next(fault, times=times, on="pay")
    subscriptions.process_due(shop.svc, "sub-1")
    return shop, renewed_at, shop.invoice_starting(renewed_at).id


def attempts(shop: Any, invoice_id: str) -> list[tuple[int, ChargeOutcome]]:
    return [(c.attempt, c.outcome) for c in shop.charges(invoice_id)]


def card_on_file(shop: Any) -> str:
    """alice's default payment method now (the one a claim made now stores)."""
    customer = shop.repo.get_customer("alice")
    assert customer is not None and customer.default_payment_method is not None
    return str(customer.default_payment_method)


def sweeper_looks(shop: Any, invoice_id: str, at: datetime) -> Any:
    """The sweeper reconciles the invoice's first attempt at `at`."""
    shop.clock.set(at)
    return charging_reconcile.reconcile_charge(shop.svc, invoice_id, 1)


def still_claimed(shop: Any, invoice_id: str) -> Charge:
    """The invoice's one attempt is still claimed, and no payment is known for it."""
    [claim] = shop.charges(invoice_id)
    assert (claim.status, claim.payment_id) == (ChargeStatus.CHARGING, None)
    return claim  # type: ignore[no-any-return]


def first_attempt_paid(shop: Any, invoice_id: str) -> Charge:
    """The invoice's one attempt is its first, and it succeeded."""
    [charge] = shop.charges(invoice_id)
    assert (charge.attempt, charge.outcome) == (1, ChargeOutcome.SUCCEEDED)
    return charge  # type: ignore[no-any-return]


def assert_sent_under_the_first_key(shop: Any, invoice_id: str) -> None:
    """Every payment creation the provider saw for the invoice was attempt 1's one key."""
    assert shop.created_keys(invoice_id) == [f"charge:{invoice_id}:1:create"]


def assert_given_up_unsent(shop: Any, invoice_id: str) -> None:
    """The one attempt was settled as unknown without its request ever being sent."""
    [given_up] = shop.charges(invoice_id)
    assert (given_up.status, given_up.outcome) == (ChargeStatus.SETTLED, ChargeOutcome.UNKNOWN)
    assert shop.created_keys(invoice_id) == []


def assert_kept_then_charged_once(
    shop: Any, renewed_at: datetime, invoice_id: str, looked_at: datetime
) -> None:
    """Then the attempt stays claimed for one more lease from the look, with no payment, and
    the next look settles the one payment under the same attempt."""
    claim = still_claimed(shop, invoice_id)
    assert claim.lease_until == looked_at + charging_settle.LEASE
    shop.run_due(until=looked_at + charging_settle.LEASE * 3)
    assert attempts(shop, invoice_id) == [(1, ChargeOutcome.SUCCEEDED)]
    assert_renewed_once(shop, renewed_at)


def test_a_timeout_on_create_is_replayed_under_the_same_key_and_charges_once(
    make_shop: Callable[..., Any],
) -> None:
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    # When the schedule runs past the lease
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the sweeper replayed the request under the same key and got the first answer:
    # one attempt, one payment
    assert attempts(shop, invoice_id) == [(1, ChargeOutcome.SUCCEEDED)]
    assert_sent_under_the_first_key(shop, invoice_id)
    assert_renewed_once(shop, renewed_at)


def test_a_rate_limit_on_create_moves_nothing_and_the_replay_after_the_lease_succeeds(
    make_shop: Callable[..., Any],
) -> None:
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "rate_limit")
    # Then no payment exists and the claim waits for its lease
    still_claimed(shop, invoice_id)
    assert shop.created_keys(invoice_id) == []
    # When the schedule runs past the lease
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the same attempt, under the same key, charged the invoice after the lease
    assert attempts(shop, invoice_id) == [(1, ChargeOutcome.SUCCEEDED)]
    assert shop.invoice(invoice_id).paid_at >= renewed_at + charging_settle.LEASE
    assert_sent_under_the_first_key(shop, invoice_id)
    assert_renewed_once(shop, renewed_at)


def test_a_create_still_refused_at_the_lease_end_keeps_its_claim_for_the_next_look(
    make_shop: Callable[..., Any],
) -> None:
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "rate_limit", 2)
    # When the sweeper looks at the lease's end, and the provider refuses again
    lease_over = renewed_at + charging_settle.LEASE
    sweeper_looks(shop, invoice_id, at=lease_over)
    # Then the claim is kept for the next look, which charges it
    assert_kept_then_charged_once(shop, renewed_at, invoice_id, looked_at=lease_over)


def test_two_sweepers_replaying_one_lost_answer_settle_it_once(
    make_shop: Callable[..., Any],
) -> None:
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    shop.clock.set(renewed_at + charging_settle.LEASE)
    # When one sweeper replays the request and settles while another, which read the same
    # claim, replays it too
    other = shop.interleaved(lambda: charging_reconcile.reconcile_charge(shop.svc, invoice_id, 1))
    charging_reconcile.reconcile_charge(other, invoice_id, 1)
    # Then the first one settled it; the second lost the race to record it and stopped
    assert attempts(shop, invoice_id) == [(1, ChargeOutcome.SUCCEEDED)]
    assert shop.confirmations(invoice_id) == 1
    assert_renewed_once(shop, renewed_at)


def test_a_lost_answer_older_than_the_providers_key_memory_is_listed_not_replayed(
    make_shop: Callable[..., Any],
) -> None:
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    # When the sweeper first looks after 23 hours
    late = renewed_at + charging_reconcile.PAY_REPLAY_WINDOW
    sweeper_looks(shop, invoice_id, at=late)
    # Then the key is not trusted any more (a replay might make a second payment): the list
    # of alice's payments found the one made, which settled the attempt
    [charge] = shop.charges(invoice_id)
    assert (charge.status, charge.outcome) == (ChargeStatus.SETTLED, ChargeOutcome.SUCCEEDED)
    assert shop.gateway.calls[charge.payment_id or ""] == 1  # never replayed
    assert shop.gateway.lists == 1
    assert_renewed_once(shop, renewed_at)


def test_a_claim_whose_request_never_left_is_given_up_after_the_key_memory_and_charged_anew(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose worker died after the claim, before its request
    shop, renewed_at = a_renewal_whose_worker_died(make_shop, after_commit=1)
    invoice_id = shop.invoice_starting(renewed_at).id
    # When the sweeper first looks after 23 hours
    late = renewed_at + charging_reconcile.PAY_REPLAY_WINDOW
    sweeper_looks(shop, invoice_id, at=late)
    # Then the list found no payment for the attempt: it is given up (no dunning failure)
    # and the invoice is due at once under a new attempt number, which charges it
    assert_given_up_unsent(shop, invoice_id)
    assert shop.invoice(invoice_id).next_attempt_at == late
    shop.run_due(until=late + charging_settle.LEASE)
    assert attempts(shop, invoice_id) == [(1, ChargeOutcome.UNKNOWN), (2, ChargeOutcome.SUCCEEDED)]
    assert_renewed_once(shop, renewed_at)


def test_a_claim_whose_invoice_was_voided_meanwhile_is_looked_up_never_sent(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose worker died after the claim, before its request; then the
    # invoice was voided
    shop, renewed_at = a_renewal_whose_worker_died(make_shop, after_commit=1)
    invoice = shop.invoice_starting(renewed_at)
    invoice.status = InvoiceStatus.VOID
    shop.repo.commit(Commit(invoices=[invoice]))
    # When the sweeper looks after the lease
    sweeper_looks(shop, invoice.id, at=renewed_at + charging_settle.LEASE)
    # Then it did not send the request (that would charge a void invoice): the list found
    # nothing, and the attempt was given up with nothing due after it
    assert_given_up_unsent(shop, invoice.id)
    assert shop.gateway.lists == 1
    assert shop.invoice(invoice.id).next_attempt_at is None


def test_a_saved_500_is_not_trusted_and_the_list_finds_the_payment_it_made(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose request charged alice but was answered with a 500, which the
    # provider saved under the key
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "server_error")
    still_claimed(shop, invoice_id)
    # When the schedule runs past the lease
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the replay got the same 500 back, and the list found the payment: charged once
    charge = first_attempt_paid(shop, invoice_id)
    assert shop.gateway.calls[charge.payment_id or ""] == 2
    assert shop.gateway.lists == 1
    assert_renewed_once(shop, renewed_at)


def a_look_that_times_out(
    make_shop: Callable[..., Any], on: str, after: timedelta
) -> tuple[Any, datetime, str, datetime]:
    """Given a renewal whose request timed out, and the sweeper's look `after` the renewal,
    whose own call `on` ("pay": its replay, "find": its list) times out too: the shop, when
    it renewed, the invoice, and when the sweeper looked."""
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    looked_at = renewed_at + after
    shop.gateway.fail_next("timeout", on=on)
    sweeper_looks(shop, invoice_id, at=looked_at)
    return shop, renewed_at, invoice_id, looked_at


def test_a_replay_that_times_out_is_replayed_again_never_listed_and_given_up(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose request timed out, and whose first replay, at the lease's end,
    # times out too (it may still be running at the provider: a list now could miss the
    # payment it makes)
    shop, renewed_at, invoice_id, looked_at = a_look_that_times_out(
        make_shop, "pay", charging_settle.LEASE
    )
    # Then nothing was listed; the claim waits one more lease, and the next look replays the
    # same key again and settles the one payment
    assert shop.gateway.lists == 0
    assert_kept_then_charged_once(shop, renewed_at, invoice_id, looked_at=looked_at)
    assert_sent_under_the_first_key(shop, invoice_id)


def test_a_list_that_times_out_keeps_the_claim_for_the_next_look(
    make_shop: Callable[..., Any],
) -> None:
    # When the sweeper looks after 23 hours and the list goes unanswered
    shop, renewed_at, invoice_id, looked_at = a_look_that_times_out(
        make_shop, "find", charging_reconcile.PAY_REPLAY_WINDOW
    )
    # Then nothing is given up: the claim waits one more lease, and the next look finds the
    # payment and settles it
    assert_kept_then_charged_once(shop, renewed_at, invoice_id, looked_at=looked_at)


def test_a_lost_answer_whose_card_changed_since_is_replayed_on_the_card_claimed(
    make_shop: Callable[..., Any],
) -> None:
    shop, renewed_at, invoice_id = a_renewal_whose_create_failed(make_shop, "timeout")
    # When the customer gives another card, and the schedule runs past the lease
    shop.add_card("5555555555554444")
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the replay sent the card the claim stored, the key answered with the payment
    # made on it, and that settled attempt 1: the new card was not charged
    assert attempts(shop, invoice_id) == [(1, ChargeOutcome.SUCCEEDED)]
    assert shop.confirmations(invoice_id) == 1
    assert shop.gateway.lists == 0
    assert_renewed_once(shop, renewed_at)


def test_a_rate_limit_on_the_card_update_charge_loses_nothing(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal in soft dunning
    shop, renewed_at = a_renewal_declined(make_shop)
    # When the customer adds a card but the provider refuses the request with a rate limit
    shop.gateway.fail_next("rate_limit", on="pay")
    shop.add_card(MASTERCARD)
    shop.run_due(until=renewed_at + charging_settle.LEASE * 12)
    # Then the sweeper's new attempt paid the invoice, on the new card, once
    invoice = shop.invoice_starting(renewed_at)
    assert invoice.status is InvoiceStatus.PAID
    assert len(shop.succeeded(invoice.id)) == 1
    assert shop.sub().status is SubscriptionStatus.ACTIVE
