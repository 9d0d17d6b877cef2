"""Reconciling a charge attempt whose answer was lost, from what the provider says.

A claim still `charging` when its lease ends is reconciled against the provider before
anything retries it: by its payment id when one was stored (retrieved; confirmed with the
same key if it never was); else by replaying the identical request under the same key
while the provider surely keeps the key (`PAY_REPLAY_WINDOW`): that returns the first
answer, or makes the one request a worker died before sending, on the card the claim
stored; a replay that times out waits for the next look; else (the key may be gone, the
first answer was a 5xx that a replay only repeats, a claim stored without its card meets
a card changed since) by listing
the customer's payments created in the attempt's time range and matching the invoice and
attempt in their metadata. Found nothing: nothing was charged, and the attempt is given up
for a new attempt number. A timeout is `unknown`, never a failure.
"""

from datetime import datetime, timedelta

from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.customers import Payer
from tenure.domain.errors import ConcurrencyError
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.payments.gateway import (
    GatewayError,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
    StoredServerError,
)
from tenure.ports import ProviderLink
from tenure.services.charging import pay_request, payer_for, provider_customer
from tenure.services.charging_mandates import needs_presence
from tenure.services.charging_settle import (
    LEASE,
    give_up,
    keep_claim,
    learn,
    settle,
    settle_from_store,
)
from tenure.services.context import Services

# A request whose answer was lost is replayed under its key only while the provider surely
# keeps the key: Stripe may prune a key once it is 24 hours old, and the same key then makes
# a new payment (https://docs.stripe.com/idempotency). An hour's margin for clocks and queues.
PAY_REPLAY_WINDOW = timedelta(hours=23)
# The list of the customer's payments starts this long before the attempt's moment: the
# provider's clock is not ours.
LIST_MARGIN = timedelta(minutes=5)


def reconcile_charge(svc: Services, invoice_id: str, attempt: int) -> Charge | None:
    """Settle a claim whose lease ran out, from what the provider says, before any retry."""
    if svc.gateway is None:
        return None
    charge = svc.repo.get_charge(invoice_id, attempt)
    now = svc.clock.now()
    if charge is None or charge.status is not ChargeStatus.CHARGING:
        return None
    if charge.lease_until is not None and charge.lease_until > now:
        return None
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None:
        return None
    gateway = svc.gateway_for(charge)
    assert gateway is not None
    links: list[ProviderLink] = []
    try:
        if charge.payment_id is None:
            # The answer to the one request was lost (or the worker died before sending it).
            found = _recover_unanswered(svc, invoice, charge, now)
            if found is None:
                return charge
            links, result = learn(svc, charge, found.payment_id), found
        else:
            charge.calls += 1
            result = gateway.retrieve_payment(charge.payment_id)
        if (
            result.outcome is ChargeOutcome.UNKNOWN
            and charge.payment_id is not None
            and needs_presence(svc, charge)
        ):
            # Made for the customer to confirm: it waits for them, never confirmed here.
            result = PaymentResult(
                charge.payment_id, ChargeOutcome.AUTHENTICATION_REQUIRED, "authentication_required"
            )
        elif result.outcome is ChargeOutcome.UNKNOWN and charge.payment_id is not None:
            # Created but never confirmed (by a release that created, claimed, then
            # confirmed): confirm with the key that release would have used.
            charge.calls += 1
            result = gateway.confirm_payment(
                charge.payment_id, idempotency_key=f"{charge.idempotency_key}:confirm"
            )
    except GatewayError:
        keep_claim(svc, charge, links)
        return charge
    try:
        settle(svc, invoice, charge, result, links=links)
    except ConcurrencyError:
        # Another sweeper (or the webhook) got there first, from the same answer.
        settle_from_store(svc, charge, result, None)
    return charge


def _recover_unanswered(
    svc: Services, invoice: Invoice, charge: Charge, now: datetime
) -> PaymentResult | None:
    """What became of a claim with no payment id: the identical request replayed under its
    key while the provider surely keeps the key and the invoice is still owed (the first
    answer comes back, or the request a dead worker never sent is made now); else the
    payment found among the customer's by its metadata. None when the claim waits for the
    next look (the provider did not answer) or was given up (no payment was made)."""
    assert svc.gateway is not None
    sub = svc.repo.get_subscription(charge.subscription_id)
    payer = payer_for(svc, sub, None, from_copy=False)[0] if sub is not None else None
    known_card = charge.payment_method or (payer.payment_method if payer else None)
    # (an attempt for the customer to confirm is never replayed: the replay would confirm it)
    replayable = known_card and not needs_presence(svc, charge)
    if now - charge.at < PAY_REPLAY_WINDOW and invoice.status is InvoiceStatus.OPEN and replayable:
        try:
            charge.calls += 1
            return pay_request(svc, charge, payer)
        except RateLimitedError:
            _wait(svc, charge, now)  # refused before anything happened: ask again later
            return None
        except StoredServerError:
            pass  # the first answer, a 5xx, repeats forever: the list says what was made
        except ProviderUnavailableError:
            # This replay's own outcome is unknown, and it may still be running at the
            # provider: a list now could miss the payment it is making, and giving the
            # attempt up then would let a new attempt charge again. Replay again later.
            _wait(svc, charge, now)
            return None
        except GatewayError:
            pass  # the key refuses the parameters (an old claim, a card changed): look it up
    return _find_by_metadata(svc, invoice, charge, payer, now)


def _find_by_metadata(
    svc: Services, invoice: Invoice, charge: Charge, payer: Payer | None, now: datetime
) -> PaymentResult | None:
    """The attempt's payment among the customer's created in its time range (a list, which
    is consistent where the provider's search is not). None found: nothing was made under
    this attempt, and nothing will be (its lease outlived the request): give it up."""
    gateway = svc.gateway_for(charge)
    assert gateway is not None
    try:
        charge.calls += 1
        found = gateway.find_payment(
            customer_id=provider_customer(payer, charge),
            invoice_id=charge.invoice_id,
            attempt=charge.attempt,
            created_from=charge.at - LIST_MARGIN,
            created_until=now,
        )
    except GatewayError:
        _wait(svc, charge, now)
        return None
    if found is None:
        give_up(svc, invoice, charge, now)
    return found


def _wait(svc: Services, charge: Charge, now: datetime) -> None:
    charge.lease_until = now + LEASE
    keep_claim(svc, charge)
