"""apply_provider_event: what a payment provider reported, applied once and in any order.

Exactly once: the event's marker (`webhook:<provider>:<event id>`, kept 30 days) commits in
the same transaction as the event's effect, so a second delivery, even a concurrent one,
finds the marker or fails on it and changes nothing. An event that changes nothing writes
no marker: doing nothing again is harmless.

Any order: every effect compares the provider's own facts (the object's status precedence,
the event's time) with what Tenure holds, never the order of arrival. A payment that
settled stays settled (only a success can still overrule a failure: the money moved); a
refund's or a dispute's status only moves up its precedence; a card event older than the
last attempt on an invoice adds no attempt. Money-moving effects (a retry on an updated
card) are dated by the provider's moment, so a late delivery records what an on-time one
would have.
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from tenure.domain.audit import SYSTEM_WEBHOOKS
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.ids import digest
from tenure.domain.invoices import COUNTED_REFUNDS, DisputeStatus, Invoice, InvoiceStatus
from tenure.domain.timeutil import iso
from tenure.payments.gateway import PaymentResult
from tenure.ports import Commit, EventReads, Marker
from tenure.services import (
    cards,
    catalog,
    charging_settle,
    reported_registrations,
    unused_credit,
)
from tenure.services.context import Services
from tenure.webhooks.model import (
    PaymentFacts,
    PaymentMethodFacts,
    ProviderEvent,
    ProviderEventKind,
    RejectedEvent,
)

MARKER_TTL = timedelta(days=30)  # Stripe retries for 3 days and resends by hand for 30
ATTEMPTS = 3  # someone changed what we read meanwhile: read again, this many times at most
FINAL = charging_settle.FINAL
AT_RISK = "at_risk"  # customer metadata: why the customer is at risk (a dispute)
PROVIDER_DELETED = "provider_customer_deleted"  # customer metadata: when, by the provider
DETACHED = "payment_method_detached:"  # customer metadata prefix: when a method was detached


class Applied(StrEnum):
    """What became of a delivery (the handler answers 200 to each, and counts them)."""

    APPLIED = "applied"  # its effect is committed, with its marker
    DUPLICATE = "duplicate"  # its marker was there: applied before
    IGNORED = "ignored"  # a type Tenure does not act on
    UNMATCHED = "unmatched"  # about nothing Tenure knows (another integration's object)
    UNCHANGED = "unchanged"  # Tenure already holds this or something newer
    REJECTED = "rejected"  # signed, but a body Tenure cannot read: recorded, nothing applied


@dataclass
class _Outcome:
    applied: Applied
    after: list[Callable[[], object]] = field(default_factory=list)  # work after the commit


_Effect = Callable[[Services, ProviderEvent, str, Marker, EventReads], _Outcome]


def marker_key(event: ProviderEvent) -> str:
    return f"webhook:{event.provider}:{event.event_id}"


def rejected_marker_key(rejected: RejectedEvent) -> str:
    return f"webhook-rejected:{rejected.provider}:{rejected.event_id}"


def record_rejected_event(svc: Services, rejected: RejectedEvent) -> Applied:
    """Record a signed delivery Tenure cannot read: one conditional put of its own marker
    (kept as long as an applied event's, and apart from it, so that a replay once Tenure
    reads the shape is applied). A second delivery of it writes nothing."""
    marker = Marker(rejected_marker_key(rejected), svc.clock.now() + MARKER_TTL)
    with contextlib.suppress(AlreadyExistsError):
        svc.commit_with_notices(Commit(markers=[marker]))
    return Applied.REJECTED


def apply_provider_event(
    svc: Services, event: ProviderEvent, link_provider: str | None = None
) -> Applied:
    """Apply one verified provider event. `link_provider` names the provider under which
    Tenure stored its links to the provider's objects (the gateway's name; default: the
    event's provider).

    The marker is read with the objects the event names (one request), so an applied
    payment or refund costs that read and one transaction, and a duplicate the read alone.
    What it commits is the work of `system:webhooks` (Services.acting_as)."""
    if event.kind is ProviderEventKind.IGNORED:
        return Applied.IGNORED
    with svc.acting_as(SYSTEM_WEBHOOKS):
        return _apply_once(svc, event, link_provider)


def _apply_once(svc: Services, event: ProviderEvent, link_provider: str | None) -> Applied:
    key = marker_key(event)
    marker = Marker(key, svc.clock.now() + MARKER_TTL)
    namespace = link_provider or event.provider
    for attempt in range(ATTEMPTS):
        reads = svc.repo.read_for_event(key, **_named(event, namespace))
        if reads.marked:
            return Applied.DUPLICATE
        try:
            outcome = _APPLY[event.kind](svc, event, namespace, marker, reads)
        except AlreadyExistsError as exc:
            if exc.kind == "marker":
                return Applied.DUPLICATE
            # Another item the effect writes once (a points entry of the refund's give-back)
            # was written meanwhile: by this same event racing itself when its marker is
            # there (the store may report either first), else by other work: read again.
            if svc.repo.has_marker(key):
                return Applied.DUPLICATE
            if attempt == ATTEMPTS - 1:
                raise
            continue
        except ConcurrencyError:
            # A concurrent delivery of the same event, or other work on the same invoice:
            # the marker tells which (the next read has it); otherwise redo from a fresh read.
            if attempt < ATTEMPTS - 1:
                continue
            if svc.repo.has_marker(key):
                return Applied.DUPLICATE
            raise
        for work in outcome.after:
            # Another worker collecting the same invoice wins; the invoice stays due anyway.
            with contextlib.suppress(ConcurrencyError):
                work()
        return outcome.applied
    raise AssertionError("unreachable")  # pragma: no cover


def _named(event: ProviderEvent, ns: str) -> dict[str, Any]:
    """What the event names, for its first read: the attempt, invoice and subscription Tenure
    wrote on the payment, else the provider link of the payment."""
    payment_id: str | None = None
    if event.payment is not None:
        facts = event.payment
        if facts.invoice_id is not None and facts.attempt is not None:
            return {
                "invoice_id": facts.invoice_id,
                "attempt": facts.attempt,
                "subscription_id": facts.subscription_id,
                "customer_id": facts.customer_id,
            }
        payment_id = facts.payment_id
    total = event.refund_total
    if event.kind in (ProviderEventKind.REFUND_UPDATED, ProviderEventKind.PAYMENT_REFUNDED):
        payment_id = (event.refund.payment_id if event.refund else None) or (
            total.payment_id if total else None
        )
        if total is not None and total.invoice_id is not None:
            # The payer's points account too: a refund takes back the points its invoice
            # earned, and a customer without an account has none to take back. The
            # payment's link too, in the same read: it outranks the metadata's hint.
            named: dict[str, Any] = {"invoice_id": total.invoice_id, "points_of": total.customer_id}
            return named | ({"link": (ns, payment_id)} if payment_id else {})
    if event.dispute is not None:
        payment_id = event.dispute.payment_id
    return {"link": (ns, payment_id)} if payment_id else {}


# -- payments ----------------------------------------------------------------------------------
def _payment(
    svc: Services, event: ProviderEvent, ns: str, marker: Marker, reads: EventReads
) -> _Outcome:
    facts = event.payment
    assert facts is not None
    charge, invoice, mrr = reads.charge, reads.invoice, reads.mrr
    linked = reads.linked
    if charge is None and linked is None and facts.order_id is not None:
        # A payment made in the provider's checkout on an order that waited for the customer
        # (no notes naming the attempt): the order is what the attempt stored.
        linked = svc.repo.read_for_event(marker.key, link=(ns, facts.order_id)).linked
    if charge is None and linked is not None:
        ref = _attempt_ref(linked)
        if ref is not None:
            found = svc.repo.read_for_event(marker.key, invoice_id=ref[0], attempt=ref[1])
            charge, invoice, mrr = found.charge, found.invoice, found.mrr
    if charge is None and facts.registration and facts.outcome is ChargeOutcome.SUCCEEDED:
        return _registration(svc, event, facts, marker)
    if charge is None or charge.payment_id not in (None, facts.payment_id, facts.order_id):
        return _Outcome(Applied.UNMATCHED)
    if facts.outcome not in FINAL or not _settles(svc, charge, facts.outcome):
        return _Outcome(Applied.UNCHANGED)
    if invoice is None:
        return _Outcome(Applied.UNMATCHED)
    sub = reads.subscription
    if sub is not None and sub.id != invoice.subscription_id:
        sub = None  # the payment's metadata named another: read the invoice's own
    result = PaymentResult(facts.payment_id, facts.outcome, facts.decline_code)
    charging_settle.settle_reported_payment(
        svc,
        invoice,
        charge,
        result,
        at=event.occurred_at,
        markers=[marker],
        subscription=sub,
        mrr_read=[mrr] if mrr is not None else [],
    )
    return _Outcome(Applied.APPLIED)


def _registration(
    svc: Services, event: ProviderEvent, facts: PaymentFacts, marker: Marker
) -> _Outcome:
    """A new mandate's registration payment, captured: recorded (if the card page has not)
    and owed its refund, once Razorpay confirms it is a registration Tenure made."""
    reported = reported_registrations.record_reported_registration(
        svc, event.provider, facts.payment_id, facts.customer_id, [marker]
    )
    return _Outcome(_REPORTED[reported])


_REPORTED = {
    reported_registrations.Reported.RECORDED: Applied.APPLIED,
    reported_registrations.Reported.KNOWN: Applied.UNCHANGED,
    reported_registrations.Reported.NOT_OURS: Applied.UNMATCHED,
}


def _settles(svc: Services, charge: Charge, outcome: ChargeOutcome) -> bool:
    if charge.status is ChargeStatus.SETTLED:
        # Settled is final, except that a success overrules a failure: the money moved.
        return outcome is ChargeOutcome.SUCCEEDED and charge.outcome is not outcome
    if charge.outcome is ChargeOutcome.PENDING:
        return True  # an async payment between its hourly re-checks
    # A claim whose collector may still be at work settles itself from the provider's answer;
    # one whose lease ran out (the collector died) is ours to settle.
    return charge.lease_until is None or charge.lease_until <= svc.clock.now()


def _attempt_ref(linked: str) -> tuple[str, int] | None:
    """`invoice:attempt`, as the claim links a payment (None: the link is not an attempt)."""
    linked_invoice, _, linked_attempt = linked.rpartition(":")
    return (linked_invoice, int(linked_attempt)) if linked_attempt.isdigit() else None


def _invoice_of_payment(svc: Services, reads: EventReads) -> Invoice | None:
    """The invoice the payment paid: the one Tenure linked it to when it settled, else the
    one its metadata names (a refund reported before its payment settled). Metadata can be
    edited in the provider's dashboard; the link is Tenure's own."""
    ref = _attempt_ref(reads.linked) if reads.linked else None
    if reads.invoice is not None and (ref is None or ref[0] == reads.invoice.id):
        return reads.invoice
    return svc.repo.get_invoice(ref[0]) if ref else None


# -- refunds -----------------------------------------------------------------------------------
def _refund(
    svc: Services, event: ProviderEvent, ns: str, marker: Marker, reads: EventReads
) -> _Outcome:
    refund, total = event.refund, event.refund_total
    invoice = _invoice_of_payment(svc, reads)
    if invoice is None:
        return _Outcome(Applied.UNMATCHED)
    before = invoice.amount_refunded
    taken = False
    failing: list[str] = []  # refunds this report turns from counted to failed
    facts = ([refund] if refund else []) + list(total.refunds if total else ())
    for r in facts:
        if r.currency and r.currency != invoice.currency:
            continue  # not this invoice's money: never mix currencies
        was = invoice.refunds.get(r.refund_id)
        if invoice.record_refund(r.refund_id, r.amount, r.status, r.at):
            taken = True
            if r.status not in COUNTED_REFUNDS and (was is None or was.status in COUNTED_REFUNDS):
                failing.append(r.refund_id)
    if total is not None and total.currency in ("", invoice.currency):
        taken |= invoice.record_refunded_total(total.amount_refunded, event.occurred_at)
    if not taken:
        return _Outcome(Applied.UNCHANGED)
    invoice.settle_failed_refund()
    # Credited at the day's close, from what settled by then (credit_settled_refunds).
    invoice.schedule_refund_credit(svc.clock.now())
    change = Commit(invoices=[invoice], markers=[marker])
    if reads.points is not None and reads.points.customer_id == invoice.customer_id:
        change.points_read.append(reads.points)
    if failing:
        change.events.extend(_own_refunds_failed(svc, invoice, failing, event))
    if invoice.amount_refunded != before:
        data: dict[str, object] = {
            "amount_refunded": invoice.amount_refunded,
            "refund_status": invoice.refund_status,
            "currency": invoice.currency,
            "provider": event.provider,
            "amount": invoice.amount_refunded - before,  # this report's change
        }
        change.events.append(
            _event(
                EventType.INVOICE_REFUNDED,
                invoice.id,
                invoice.customer_id,
                event,
                data | refunds_reported(invoice),
            )
        )
        # The credit the invoice's unused time left on the subscription goes with a refund,
        # and comes back when one fails (the points follow the event: points_planning).
        now = svc.clock.now()
        if invoice.amount_refunded > before:
            grew = invoice.amount_refunded - before
            holder = unused_credit.take_back_refunded(svc, invoice, grew, now)
        else:
            holder = unused_credit.give_back_refunded(svc, invoice, now)
        if holder is not None:
            change.add_subscription(holder)
    svc.commit_with_notices(change)
    return _Outcome(Applied.APPLIED)


def _own_refunds_failed(
    svc: Services, invoice: Invoice, failing: list[str], event: ProviderEvent
) -> list[DomainEvent]:
    """An InvoiceRefundFailed for each of `failing` that Tenure made (through the API, the
    console or a cancellation): money the customer was told is coming back did not go, and
    the business's application (and the operator's alarm) must hear it, as for an owed
    refund given up. Once: only the report that turns it from counted to failed. Refunds
    made in the provider's dashboard are the provider's to tell of."""
    made = {r.provider_refund_id: r for r in svc.repo.list_refunds(invoice.id)}
    told = []
    for provider_refund_id in failing:
        own = made.get(provider_refund_id)
        if own is None:
            continue
        data: dict[str, object] = {
            "refund": own.id,
            "provider_refund_id": provider_refund_id,
            "amount": own.amount,
            "currency": own.currency,
            "policy": str(own.basis),
            "reason": own.reason,
            "failure": "provider_failed",
            "provider": event.provider,
        }
        # One per refund, should one report fail two of them.
        seq = int(digest(event.provider, event.event_id, own.id, size=8), 16)
        told.append(
            DomainEvent(
                EventType.INVOICE_REFUND_FAILED,
                invoice.id,
                invoice.customer_id,
                event.occurred_at,
                seq,
                data | _source(event),
            )
        )
    return told


def refunds_reported(invoice: Invoice) -> dict[str, object]:
    """`refunds_reported` for an InvoiceRefunded event, only when a failed refund makes it
    differ from the amount refunded (events of refunds that never failed stay as they were):
    the refund receipt is keyed by it."""
    reported = invoice.refunds_reported
    return {"refunds_reported": reported} if reported != invoice.amount_refunded else {}


# -- disputes ----------------------------------------------------------------------------------
def _dispute(
    svc: Services, event: ProviderEvent, ns: str, marker: Marker, reads: EventReads
) -> _Outcome:
    facts = event.dispute
    assert facts is not None
    invoice = _invoice_of_payment(svc, reads)
    if invoice is None:
        return _Outcome(Applied.UNMATCHED)
    was_open, was_status = invoice.dispute_open, invoice.status
    if not invoice.record_dispute(facts.dispute_id, facts.status, event.occurred_at):
        return _Outcome(Applied.UNCHANGED)
    change = Commit(invoices=[invoice], markers=[marker])
    data = {
        "dispute_id": facts.dispute_id,
        "status": str(facts.status),
        "provider_status": facts.provider_status,
        "amount": facts.amount,
        "currency": facts.currency,
    }
    if invoice.dispute_open and not was_open:
        change.events.append(
            _event(EventType.INVOICE_DISPUTED, invoice.id, invoice.customer_id, event, data)
        )
    if facts.status in (DisputeStatus.WON, DisputeStatus.LOST):
        change.events.append(
            _event(EventType.INVOICE_DISPUTE_CLOSED, invoice.id, invoice.customer_id, event, data)
        )
    if invoice.status is InvoiceStatus.UNCOLLECTIBLE and was_status is not invoice.status:
        change.events.append(
            _event(
                EventType.INVOICE_UNCOLLECTIBLE,
                invoice.id,
                invoice.customer_id,
                event,
                {"reason": "dispute_lost"},
            )
        )
    customer = svc.repo.get_customer(invoice.customer_id)
    if customer is not None and AT_RISK not in customer.metadata:
        # Any dispute marks the customer: whatever the bank decides, the business wants to
        # know who charges back.
        customer.metadata[AT_RISK] = "dispute"
        change.customers.append(customer)
        change.events.append(
            _event(
                EventType.CUSTOMER_MARKED_AT_RISK,
                customer.id,
                customer.id,
                event,
                {"reason": "dispute", "invoice_id": invoice.id},
            )
        )
    svc.commit_with_notices(change)
    return _Outcome(Applied.APPLIED)


# -- cards and customers -----------------------------------------------------------------------
def _customer(svc: Services, ns: str, event: ProviderEvent) -> Customer | None:
    provider_id = event.provider_customer_id or (
        event.payment_method.provider_customer_id if event.payment_method else None
    )
    if event.tenure_customer_id is not None:
        named = svc.repo.get_customer(event.tenure_customer_id)
        if named is not None and provider_id in (None, named.provider_customer_id):
            return named
        # Metadata can be edited in the provider's dashboard: unless the customer it names
        # holds this provider customer, the link Tenure wrote when it made it decides.
    tenure_id = svc.repo.find_provider_object(ns, provider_id) if provider_id else None
    return svc.repo.get_customer(tenure_id) if tenure_id else None


def _stale_for(customer: Customer, event: ProviderEvent) -> bool:
    """A card event older than the provider customer's deletion, or than its method's
    detachment, is about a state the provider has left."""
    moments = [customer.metadata.get(PROVIDER_DELETED)]
    if (
        event.payment_method is not None
        and event.kind is not ProviderEventKind.PAYMENT_METHOD_DETACHED
    ):
        moments.append(customer.metadata.get(DETACHED + event.payment_method.payment_method_id))
    at = iso(event.occurred_at) or ""
    return any(m is not None and m >= at for m in moments)


_CardEffect = Callable[[Services, ProviderEvent, PaymentMethodFacts, Customer, Marker], _Outcome]


def _card_event(*, skip_stale: bool) -> Callable[[_CardEffect], _Effect]:
    """An effect of a card event about a customer Tenure knows (else unmatched); with
    `skip_stale`, only if newer than the customer's deletion and the card's detachment
    (else unchanged)."""

    def wrap(effect: _CardEffect) -> _Effect:
        def apply(
            svc: Services, event: ProviderEvent, ns: str, marker: Marker, reads: EventReads
        ) -> _Outcome:
            facts = event.payment_method
            assert facts is not None
            customer = _customer(svc, ns, event)
            if customer is None:
                return _Outcome(Applied.UNMATCHED)
            if skip_stale and _stale_for(customer, event):
                return _Outcome(Applied.UNCHANGED)
            return effect(svc, event, facts, customer, marker)

        return apply

    return wrap


@_card_event(skip_stale=True)
def _method_added(
    svc: Services,
    event: ProviderEvent,
    facts: PaymentMethodFacts,
    customer: Customer,
    marker: Marker,
) -> _Outcome:
    if customer.erased_at is not None:
        return _Outcome(Applied.UNCHANGED)  # nothing of the person is recorded any more
    methods = svc.repo.list_payment_methods(customer.id)
    recorded = next((m for m in methods if m.id == facts.payment_method_id), None)
    known = recorded is not None
    # Nor once an erasure committed meanwhile (Commit.not_erased).
    change = Commit(markers=[marker], not_erased=[customer.id])
    if not known:
        # A card the customer added at the provider (its page, a SetupIntent): Tenure
        # records it, and it becomes the default when there is none or when money is owed
        # on the current one, so that the retry below uses it.
        change.payment_methods.append(
            PaymentMethod(
                facts.payment_method_id,
                customer.id,
                event.provider,
                event.occurred_at,
                facts.brand,
                facts.last4,
                facts.exp_month,
                facts.exp_year,
            )
        )
        change.events.append(
            _event(
                EventType.PAYMENT_METHOD_ATTACHED,
                customer.id,
                customer.id,
                event,
                {"payment_method": facts.payment_method_id, "provider": event.provider},
            )
        )
    # A card Tenure recorded before is no new card: an invoice tried since it was recorded
    # was tried on it, and after a hard decline or a needed authentication it waits for
    # another card, never this event (the provider telling of the same card again).
    since = event.occurred_at if recorded is None else min(event.occurred_at, recorded.created_at)
    owed = cards.invoices_untried_since(svc, customer.id, since)
    if not known and (customer.default_payment_method is None or owed):
        customer.default_payment_method = facts.payment_method_id
        catalog.save_payer(svc, customer, change)
    if customer.default_payment_method != facts.payment_method_id:
        owed = []  # not the card Tenure charges: nothing to retry
    if not change.payment_methods and not owed:
        return _Outcome(Applied.UNCHANGED)
    return _retry_owed(svc, customer, owed, change, event)


@_card_event(skip_stale=True)
def _method_updated(
    svc: Services,
    event: ProviderEvent,
    facts: PaymentMethodFacts,
    customer: Customer,
    marker: Marker,
) -> _Outcome:
    if customer.erased_at is not None or customer.default_payment_method != facts.payment_method_id:
        # Only the card Tenure charges matters here, and nothing of an erased person.
        return _Outcome(Applied.UNCHANGED)
    owed = cards.invoices_untried_since(svc, customer.id, event.occurred_at)
    if not owed:
        return _Outcome(Applied.UNCHANGED)
    change = Commit(markers=[marker])
    change.events.append(
        _event(
            EventType.PAYMENT_METHOD_UPDATED,
            customer.id,
            customer.id,
            event,
            {
                "payment_method": facts.payment_method_id,
                "brand": facts.brand,
                "last4": facts.last4,
                "exp_month": facts.exp_month,
                "exp_year": facts.exp_year,
            },
        )
    )
    return _retry_owed(svc, customer, owed, change, event)


def _retry_owed(
    svc: Services, customer: Customer, owed: list[Invoice], change: Commit, event: ProviderEvent
) -> _Outcome:
    """Commit the change with the owed invoices due at the card's moment (so the schedule
    retries them even if this worker dies now), then retry them at once, dated by it."""
    for invoice in owed:
        invoice.next_attempt_at = event.occurred_at
        change.invoices.append(invoice)
    svc.commit_with_notices(change)
    after: list[Callable[[], object]] = []
    if owed:
        after.append(
            lambda: cards.collect_open_invoices(svc, customer.id, changed_at=event.occurred_at)
        )
    return _Outcome(Applied.APPLIED, after)


@_card_event(skip_stale=False)  # its own detachment moment decides, below
def _method_detached(
    svc: Services,
    event: ProviderEvent,
    facts: PaymentMethodFacts,
    customer: Customer,
    marker: Marker,
) -> _Outcome:
    key = DETACHED + facts.payment_method_id
    at = iso(event.occurred_at) or ""
    if customer.metadata.get(key, "") >= at:
        return _Outcome(Applied.UNCHANGED)
    customer.metadata[key] = at
    data: dict[str, object] = {"payment_method": facts.payment_method_id}
    if customer.default_payment_method == facts.payment_method_id:
        # The provider cannot charge it any more: invoices wait for a new card.
        customer.default_payment_method = None
        data["was_default"] = True
    change = Commit(markers=[marker])
    catalog.save_payer(svc, customer, change)
    change.events.append(
        _event(EventType.PAYMENT_METHOD_DETACHED, customer.id, customer.id, event, data)
    )
    svc.commit_with_notices(change)
    return _Outcome(Applied.APPLIED)


def _customer_deleted(
    svc: Services, event: ProviderEvent, ns: str, marker: Marker, reads: EventReads
) -> _Outcome:
    customer = _customer(svc, ns, event)
    if customer is None:
        return _Outcome(Applied.UNMATCHED)
    held, at = customer.metadata.get(PROVIDER_DELETED), iso(event.occurred_at) or ""
    current = customer.provider_customer_id
    if held is not None and (held >= at or current != event.provider_customer_id):
        # Deleted before: this is that deletion again, or an older one. A later deletion
        # of the provider customer made since (a new card after the first) still applies.
        return _Outcome(Applied.UNCHANGED)
    customer.metadata[PROVIDER_DELETED] = at
    if customer.provider_customer_id in (None, event.provider_customer_id):
        # Its cards went with it: nothing can be charged until the customer gives a new one
        # (which registers a new provider customer).
        customer.provider_customer_id = None
        customer.default_payment_method = None
    change = Commit(markers=[marker])
    catalog.save_payer(svc, customer, change)
    change.events.append(
        _event(
            EventType.PROVIDER_CUSTOMER_DELETED,
            customer.id,
            customer.id,
            event,
            {"provider": event.provider, "provider_customer_id": event.provider_customer_id},
        )
    )
    svc.commit_with_notices(change)
    return _Outcome(Applied.APPLIED)


# -- helpers -----------------------------------------------------------------------------------
def _event(
    kind: EventType,
    entity_id: str,
    customer_id: str | None,
    event: ProviderEvent,
    data: dict[str, object],
) -> DomainEvent:
    # The provider event's id makes the sequence: the same delivery names the same event.
    seq = int(digest(event.provider, event.event_id, kind, size=8), 16)
    return DomainEvent(
        kind, entity_id, customer_id, event.occurred_at, seq, dict(data) | _source(event)
    )


def _source(event: ProviderEvent) -> dict[str, object]:
    return {"provider_event_id": event.event_id, "provider_event_type": event.type}


_APPLY: dict[ProviderEventKind, _Effect] = {
    ProviderEventKind.PAYMENT_UPDATED: _payment,
    ProviderEventKind.REFUND_UPDATED: _refund,
    ProviderEventKind.PAYMENT_REFUNDED: _refund,
    ProviderEventKind.DISPUTE_UPDATED: _dispute,
    ProviderEventKind.PAYMENT_METHOD_ADDED: _method_added,
    ProviderEventKind.PAYMENT_METHOD_UPDATED: _method_updated,
    ProviderEventKind.PAYMENT_METHOD_DETACHED: _method_detached,
    ProviderEventKind.CUSTOMER_DELETED: _customer_deleted,
}
