"""Settling a charge attempt: what the provider answered, recorded on the attempt, the
invoice, and its subscription or installment plan with their dunning, in one commit."""

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from tenure.domain import collection
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.errors import ConcurrencyError
from tenure.domain.installments import PlanStatus
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.payments.gateway import PaymentResult
from tenure.ports import Commit, Marker, MrrRead, ProviderLink
from tenure.services import collections as cases
from tenure.services.catalog import subscription_plan, subscription_plan_lookup
from tenure.services.charging_mandates import announce_renewal, announce_retry
from tenure.services.context import Services

# The claim's lease; here because a settle that learns nothing final and a reconcile that
# must look again renew it too.
LEASE = timedelta(minutes=5)  # longer than one charger run; then the sweeper reconciles
PENDING_RECHECK = timedelta(hours=1)  # async payments: look again until they settle
SETTLE_TRIES = 3  # settles from a fresh read after a lost race, before the sweeper takes over
FINAL = (ChargeOutcome.SUCCEEDED, ChargeOutcome.DECLINED, ChargeOutcome.AUTHENTICATION_REQUIRED)


def settle_reported_payment(
    svc: Services,
    invoice: Invoice,
    charge: Charge,
    result: PaymentResult,
    at: datetime,
    markers: Sequence[Marker] = (),
    subscription: Subscription | None = None,
    mrr_read: Sequence[MrrRead] = (),
) -> None:
    """The provider reported how a payment ended (a webhook): settle the attempt by the same
    rules as the money path, dated by the provider's moment, in one commit with `markers`.
    A caller that read the invoice's subscription passes it (updated in place), and the
    customer's MRR state if it read that too (the commit then need not). The payment id is
    stored with the attempt when it was not yet (the collector never heard the answer)."""
    settle(
        svc,
        invoice,
        charge,
        result,
        at=at,
        markers=markers,
        subscription=subscription,
        mrr_read=mrr_read,
        links=learn(svc, charge, result.payment_id),
    )


def learn(svc: Services, charge: Charge, payment_id: str) -> list[ProviderLink]:
    """Store the payment id the provider answered with, and the link disputes (which name
    only the payment) find the attempt by, once: [] when it was known already."""
    gateway = svc.gateway_for(charge)
    assert gateway is not None
    if not payment_id or charge.payment_id == payment_id:
        return []
    charge.payment_id = payment_id
    return [ProviderLink(gateway.name, payment_id, charge.due_id)]


def keep_claim(svc: Services, charge: Charge, links: Sequence[ProviderLink] = ()) -> None:
    """Record what we know (calls made, payment id) and leave the claim to the sweeper."""
    with contextlib.suppress(ConcurrencyError):
        # Already moved on: a webhook or the sweeper recorded more than we know.
        svc.commit_with_notices(Commit(charges=[charge], provider_links=list(links)))


def settle_from_store(
    svc: Services, charge: Charge, result: PaymentResult, at: datetime | None
) -> None:
    """A settle that lost a race (a webhook reported the payment first; a card change or a
    cancel moved the subscription): settle again from what is stored, unless another writer
    already settled the attempt. Still losing after a few tries, the claim is left to the
    sweeper, which asks the provider: the outcome is late, never lost."""
    for _ in range(SETTLE_TRIES):
        stored = svc.repo.get_charge(charge.invoice_id, charge.attempt)
        invoice = svc.repo.get_invoice(charge.invoice_id)
        if stored is None or invoice is None or stored.status is not ChargeStatus.CHARGING:
            return
        stored.calls = max(stored.calls, charge.calls)
        links = learn(svc, stored, result.payment_id)
        try:
            settle(svc, invoice, stored, result, at=at, links=links)
            return
        except ConcurrencyError:
            continue


def settle(
    svc: Services,
    invoice: Invoice,
    charge: Charge,
    result: PaymentResult,
    *,
    at: datetime | None = None,
    markers: Sequence[Marker] = (),
    subscription: Subscription | None = None,
    mrr_read: Sequence[MrrRead] = (),
    links: Sequence[ProviderLink] = (),
) -> None:
    """Record the outcome (and `links`, when the payment id was just learned). `invoice`
    must be the version just read or claimed; a stale one fails the commit
    (ConcurrencyError) and the claim stays for the sweeper.

    A decline of an attempt the provider answered at once is the attempt's, however late it
    is recorded (its answer lost, its settle crashed, its webhook late): dunning is timed
    from the attempt, so a fault in Tenure never moves the customer's retries. An attempt
    that was pending (an asynchronous method) failed when the provider says so: now."""

    now = at or svc.clock.now()
    answered_at = None if charge.outcome is ChargeOutcome.PENDING else charge.at
    charge.outcome = result.outcome
    charge.decline_code = result.decline_code
    if result.outcome not in FINAL:
        # Pending (async methods) or unknown: keep the claim and look again later.
        charge.lease_until = now + (
            PENDING_RECHECK if result.outcome is ChargeOutcome.PENDING else LEASE
        )
        svc.commit_with_notices(
            Commit(
                charges=[charge],
                markers=list(markers),
                mrr_read=list(mrr_read),
                provider_links=list(links),
            )
        )
        return
    charge.status = ChargeStatus.SETTLED
    charge.lease_until = None
    change = Commit(
        charges=[charge],
        invoices=[invoice],
        markers=list(markers),
        mrr_read=list(mrr_read),
        provider_links=list(links),
    )
    if invoice.installment_plan_id:
        _settle_instalment(svc, invoice, charge, result, change, now, answered_at)
        return
    sub = subscription or svc.repo.get_subscription(invoice.subscription_id)
    if sub is not None and sub.contact is not None:
        change.contacts.append((sub.customer_id, sub.contact))  # for the receipt's copy
    if result.outcome is ChargeOutcome.SUCCEEDED:
        was_unpaid = sub is not None and sub.status is SubscriptionStatus.UNPAID
        recorded = collection.record_payment(invoice, charge, sub, plans(svc, sub), now)
        if was_unpaid and recorded.events:
            assert sub is not None
            cases.follow_invoice_paid(svc, sub, invoice, change)
        if sub is not None and recorded.events:
            announce_renewal(svc, sub, charge, change, now)
    else:
        recorded = collection.record_failure(
            invoice, charge, sub, svc.policy, plans(svc, sub), now, answered_at
        )
        announce_retry(svc, invoice, charge, sub.timezone if sub else None, change, now)
    change.events.extend(event.to_event() for event in recorded.events)
    if isinstance(recorded.next, collection.FinalActionDue):
        assert sub is not None  # only a subscription's invoice is dunned
        final_action(svc, sub, invoice, change, charge.at)  # the last attempt's moment
    if recorded.subscription_changed:
        assert sub is not None
        change.add_subscription(sub)
    svc.commit_with_notices(change)


def _settle_instalment(
    svc: Services,
    invoice: Invoice,
    charge: Charge,
    result: PaymentResult,
    change: Commit,
    now: datetime,
    answered_at: datetime | None,
) -> None:
    """The outcome of an instalment's attempt, on the invoice and its plan, in one commit:
    paid (the plan may complete), or dunned like a renewal while the plan stands (timed
    from `answered_at`, as settle says); when the retries run out the plan defaults."""
    plan = svc.repo.get_installment_plan(invoice.installment_plan_id or "")
    paid = 0
    if result.outcome is ChargeOutcome.SUCCEEDED:
        recorded = collection.record_payment(invoice, charge, None, plans(svc, None), now)
        moved = plan is not None and plan.record_paid(invoice.id, now)
        paid = invoice.total if moved else 0
    else:
        recorded = collection.record_instalment_failure(
            invoice, charge, svc.policy, now, answered_at
        )
        moved = plan is not None and plan.record_failed(invoice.id, now)
        announce_retry(svc, invoice, charge, None, change, now)
    change.events.extend(event.to_event() for event in recorded.events)
    if isinstance(recorded.next, collection.FinalActionDue) and plan is not None:
        change.events.extend(e.to_event() for e in collection.write_off_instalment(invoice, now))
        if plan.status in (PlanStatus.ACTIVE, PlanStatus.DEFAULTED):
            plan.default(invoice.id, now)
        moved = True
    if plan is not None and moved:
        change.add_installment_plan(plan)
        if plan.collection_case_id:
            cases.follow_plan(svc, plan, paid, change)
    svc.commit_with_notices(change)


def default_plan(svc: Services, invoice: Invoice) -> None:
    """Dunning of an instalment ended unpaid (no new card by the deadline): the invoice is
    written off and the plan defaults; its later instalments are never charged."""
    now = svc.clock.now()
    change = Commit(invoices=[invoice])
    change.events.extend(e.to_event() for e in collection.write_off_instalment(invoice, now))
    plan = svc.repo.get_installment_plan(invoice.installment_plan_id or "")
    if plan is not None and plan.status in (PlanStatus.ACTIVE, PlanStatus.DEFAULTED):
        plan.default(invoice.id, now)
        change.add_installment_plan(plan)
        if plan.collection_case_id:
            cases.follow_plan(svc, plan, 0, change)
    svc.commit_with_notices(change)


def final_action(
    svc: Services, sub: Subscription, invoice: Invoice, change: Commit, ended: datetime
) -> None:
    """Apply the policy's final action, from the invoice's failed attempts (as stored, or
    as `change` writes them); its dunning `ended` at that moment (the last attempt's, or
    the deadline's), which names the collections case it may open, however late the
    outcome is recorded."""
    plan = subscription_plan(svc, sub)
    # The attempts as stored, each as `change` writes it: the one settling now is stored
    # still unanswered, and its decline is the last one.
    writing = {c.attempt: c for c in change.charges if c.invoice_id == invoice.id}
    stored = svc.repo.list_charges(invoice.id)
    declines = collection.declines_of(writing.get(c.attempt, c) for c in stored)
    was_unpaid = sub.status is SubscriptionStatus.UNPAID
    events = collection.apply_final_action(
        invoice, sub, plan, svc.policy, declines, svc.clock.now()
    )
    change.events.extend(event.to_event() for event in events)
    if sub.status is SubscriptionStatus.UNPAID and not was_unpaid:
        cases.open_case(svc, sub, invoice, change, ended)


def plans(svc: Services, sub: Subscription | None) -> collection.PlanLookup:
    """The plans a payment's outcome may price the subscription by (its MRR when it comes
    back or goes): the subscription's own plan priced for its seats and add-ons."""
    return partial(subscription_plan_lookup, svc, sub)


def give_up(svc: Services, invoice: Invoice, charge: Charge, now: datetime) -> None:
    """Nothing was confirmed under this attempt, and nothing will be: close it (no dunning
    failure) and make the invoice due at once under a new attempt number."""
    charge.status = ChargeStatus.SETTLED
    charge.outcome = ChargeOutcome.UNKNOWN
    charge.lease_until = None
    change = Commit(charges=[charge])
    if invoice.status is InvoiceStatus.OPEN:
        invoice.next_attempt_at = now
        change.invoices.append(invoice)
    svc.commit_with_notices(change)
