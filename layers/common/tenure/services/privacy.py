"""Data-protection requests: export everything Tenure holds about a customer, and erase the
customer's personal data, keeping only what tax law obliges (docs/privacy.md).

Everything is found from the customer's own records by key and bounded queries, never by a
scan. Domain events are kept by day, not by customer: those read are the ones of the days
the customer's records point to (see `_event_days`).
"""

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tenure.domain.audit import SYSTEM_RENEWALS, AuditAction, AuditEntry, check_note, new_entry
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Customer, PaymentMethod, ProviderErasure
from tenure.domain.errors import ConcurrencyError, IllegalTransitionError, NotFoundError
from tenure.domain.installments import InstallmentPlan, PlanStatus
from tenure.domain.invoices import Invoice
from tenure.domain.notices import Notice, NoticeStatus
from tenure.domain.offers import SaveAttempt
from tenure.domain.points import PointsAccount
from tenure.domain.privacy import (
    ERASED_TEXT,
    LegalHold,
    pseudonym_contact,
    pseudonym_email,
    pseudonym_name,
    refuse_erased,
    scrub,
)
from tenure.domain.provider_owed import FIRST_WAIT
from tenure.domain.refunds import Refund
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.webhooks_out import WebhookDelivery, delivery_id
from tenure.ports import Commit, EmailMove, ProviderLink
from tenure.services import provider_owed
from tenure.services.catalog import customer_subscriptions, save_payer
from tenure.services.context import Services, UnknownProviderError
from tenure.services.provider_owed import owed_call
from tenure.services.timeline import ACTIVITY_DAYS_READ, instalment_invoices

logger = logging.getLogger(__name__)

# How many audit entries an export or an erasure reads (newest kept): far above what one
# customer's account collects, and a bound on the reads of one request.
AUDIT_READ = 5000
# Items per commit while erasing: under DynamoDB's 100 operations per transaction.
ERASE_BATCH = 40
ERASED_REASON = "customer_erased"
# How long an erasure at a provider that did not answer waits before its next try: doubling
# from the first wait up to the longest, and tried until the provider answers.
PROVIDER_FIRST_WAIT = FIRST_WAIT  # the first wait of an erasure the provider did not answer
# Tries at recording a provider customer a lost request left behind: each lost try means
# another write of the erased customer came first (its due work, another loser).
LEFT_BEHIND_ATTEMPTS = 5


@dataclass(slots=True)
class CustomerRecords:
    """Everything read about one customer, for an export or an erasure."""

    customer: Customer
    payment_methods: list[PaymentMethod] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    save_attempts: list[SaveAttempt] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    credit_notes: list[CreditNote] = field(default_factory=list)
    installment_plans: list[InstallmentPlan] = field(default_factory=list)
    collection_cases: list[CollectionCase] = field(default_factory=list)
    points: PointsAccount | None = None
    notices: list[Notice] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    event_days: list[str] = field(default_factory=list)


def _customer(svc: Services, customer_id: str) -> Customer:
    customer = svc.repo.get_customer(customer_id)
    if customer is None:
        raise NotFoundError("customer", customer_id)
    return customer


def _subscriptions(svc: Services, customer: Customer) -> list[Subscription]:
    """The customer's subscriptions (catalog.customer_subscriptions), in the index's order."""
    subs = customer_subscriptions(svc, customer)
    return sorted(subs, key=lambda s: (s.created_at, s.id))


def _installment_plans(svc: Services, customer: Customer) -> list[InstallmentPlan]:
    """The customer's installment and repayment plans, as _subscriptions finds theirs."""
    plans = svc.repo.list_installment_plans(customer.id)
    shown = {plan.id for plan in plans}
    for plan_id in sorted(customer.installment_plan_ids - shown):
        if (listed := svc.repo.get_installment_plan(plan_id)) is not None:
            plans.append(listed)
    return sorted(plans, key=lambda p: (p.created_at, p.id))


def customer_records(svc: Services, customer_id: str) -> CustomerRecords:
    """What Tenure holds about the customer (NotFoundError when there is no such customer)."""
    repo = svc.repo
    found = CustomerRecords(_customer(svc, customer_id))
    found.payment_methods = repo.list_payment_methods(customer_id)
    found.subscriptions = _subscriptions(svc, found.customer)
    for sub in found.subscriptions:
        saved = repo.get_save_attempt(sub.id)
        if saved is not None:
            found.save_attempts.append(saved)
        found.invoices.extend(repo.list_invoices(sub.id))
    found.installment_plans = _installment_plans(svc, found.customer)
    known = {i.id for i in found.invoices}
    for invoice in instalment_invoices(repo, found.installment_plans):
        if invoice.id not in known:
            found.invoices.append(invoice)
            known.add(invoice.id)
    for invoice in found.invoices:
        if invoice.attempts:
            found.charges.extend(repo.list_charges(invoice.id))
        if invoice.refunds:
            found.refunds.extend(repo.list_refunds(invoice.id))
        if invoice.credit_notes:
            found.credit_notes.extend(repo.list_credit_notes(invoice.id))
    found.collection_cases = repo.list_collection_cases(customer_id)
    found.points = repo.get_points(customer_id)
    found.notices = repo.list_notices(customer_id)
    found.audit = repo.list_customer_audit(customer_id, AUDIT_READ)
    # Days of automated changes no record names (a pause on the portal, say) are kept apart.
    kept = repo.activity_days(customer_id, ACTIVITY_DAYS_READ)
    found.event_days = sorted(set(_event_days(found)) | set(kept))
    found.events = repo.customer_events(customer_id, found.event_days)
    endpoints = repo.list_webhook_endpoints()
    for event in found.events:
        for endpoint in endpoints:
            delivery = repo.get_webhook_delivery(delivery_id(endpoint.id, str(event["id"])))
            if delivery is not None:
                found.deliveries.append(delivery)
    return found


def _event_days(found: CustomerRecords) -> list[str]:
    """The days on which the customer's records say something happened to them, and the
    days whose events carry their words (Subscription.words_on): the events of those days
    are read (and filtered by customer). An event of another day (a pause's end, say) is
    not found without a scan, and is not included; it carries nothing personal."""
    moments: list[datetime | None] = [found.customer.created_at]
    for sub in found.subscriptions:
        moments += [sub.created_at, sub.canceled_at, sub.trial_end, sub.current_period_start]
    days = {day for sub in found.subscriptions for day in sub.words_on}
    for saved in found.save_attempts:
        moments += [saved.presented_at, saved.decided_at]
    for invoice in found.invoices:
        moments += [invoice.created_at, invoice.paid_at]
    moments += [c.at for c in found.charges] + [r.at for r in found.refunds]
    moments += [n.created_at for n in found.credit_notes]
    moments += [p.created_at for p in found.installment_plans]
    moments += [c.opened_at for c in found.collection_cases]
    moments += [e.at for e in found.audit]
    return sorted(days | {m.strftime("%Y-%m-%d") for m in moments if m is not None})


# -- erasure ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure left: the customer as every read now shows it, its audit entry (None
    when it was erased before: a second erasure changes nothing), and whether a legal hold
    was kept."""

    customer: Customer
    audit: AuditEntry | None
    legal_hold: bool


def erase_customer(svc: Services, customer_id: str, *, actor: str, note: str | None) -> Erased:
    """Replace the customer's personal data with a pseudonym in every record found, keep
    what tax law requires of issued invoices in the legal hold, and drop the emails still
    owed. Refused (409, nothing written) while a subscription or an installment plan is
    live: the operator cancels it first, so the churn is recorded as a cancellation with its
    reason, never as a side effect of an erasure (docs/privacy.md).

    Written in batches and the customer last, so an erasure interrupted part-way is
    finished by asking again: the customer's `erased_at` says it is done."""
    note = check_note(note)
    customer = _customer(svc, customer_id)
    if customer.erased_at is not None:
        return Erased(customer, None, svc.repo.get_legal_hold(customer_id) is not None)
    # Read with the customer, not from the indexes alone (which lag): one made after this
    # read fails the erasure's commit (the customer is written only while its lists are the
    # ones read), one made before is found here.
    _refuse_while_live(_subscriptions(svc, customer), _installment_plans(svc, customer))
    now = svc.clock.now()
    learned, unresolved = _learn_provider_customer(svc, customer, now)
    found = customer_records(svc, customer_id)
    hold = _legal_hold(found, now)
    if hold is not None:  # first: nothing the law keeps is lost if a later write fails
        svc.repo.save_legal_hold(hold)
    _erase_copies(svc, found, now)
    # The API's stored answers to requests about the customer (which replay their name and
    # email) go too; each key then answers "erased" rather than run its request again.
    svc.repo.forget_idempotency(customer_id)
    # The search index forgets the address with the customer (the pseudonym is not indexed).
    unindexed = EmailMove(customer.id, customer.email, None)
    customer.email, customer.name = pseudonym_email(customer.id), pseudonym_name(customer.id)
    customer.billing, customer.metadata, customer.erased_at = None, {}, now
    customer.phone = None
    customer.phone_sync = None  # the erasure overwrites the provider's phone: none is sent
    if customer.provider_customer_id is not None:
        # Owed at the provider from this commit on and done by the due work, never inside
        # this request: a provider that is down delays it and cannot undo the erasure here.
        customer.provider_erasure = ProviderErasure(asked_at=now, next_try_at=now)
    entry = new_entry(
        at=now,
        actor=actor,
        action=AuditAction.ERASE,
        entity=customer.id,
        customer_id=customer.id,
        note=note,
        before={"erased": False},
        after={"erased": True, "legal_hold": hold is not None}
        | ({"provider_customer": "unresolved"} if unresolved else {}),
    )
    change = Commit(customers=[customer], audit=[entry], email_moves=[unindexed])
    change.provider_links += learned
    svc.commit(change)  # moves `customer`'s version, as every commit does
    return Erased(customer, entry, hold is not None)


def _learn_provider_customer(
    svc: Services, customer: Customer, now: datetime
) -> tuple[list[ProviderLink], bool]:
    """The provider customer a request that died marked on `customer` and never stored,
    learned before the pseudonym replaces the name and email: only the identical call under
    the same key finds it again (the provider's key refuses changed parameters), so it is
    replayed here, in the erasure's request (provider_owed.replay_making), and the erasure
    then owes its erasure there as for any provider customer. Returns the link to commit
    with the customer, and whether the mark was left unresolved for a person (the key may
    be gone, or the provider refused the replay). A provider that does not answer refuses
    the erasure (409, nothing written): asked again, it is replayed again, and past the
    replay window the due work has left it unresolved, so an erasure is held back by at
    most that."""
    making = customer.provider_customer_pending
    if customer.provider_customer_id is not None or making is None or not making.pending:
        return [], False
    settled = provider_owed.replay_making(svc, customer, now)
    if settled is None and customer.provider_customer_id is not None:
        logger.info("provider customer of a request that died learned by an erasure")
        return [ProviderLink(making.provider, customer.provider_customer_id, customer.id)], False
    assert settled is not None
    if settled.pending:
        # Read as "cannot erase a customer that is being looked up at the payment provider:
        # ...": the API's 409 and the console's problem page show it as it stands.
        raise IllegalTransitionError(
            "erase",
            "being looked up at the payment provider",
            "the provider did not answer when asked for the customer record a request that "
            "did not finish may have made there; nothing was erased, ask again",
            "customer",
        )
    logger.error("provider customer left unresolved by an erasure", extra={"code": settled.failure})
    return [], True


def erase_at_provider(svc: Services, customer_id: str) -> ProviderErasure | None:
    """Tell the customer's payment provider to replace the personal data its customer
    record holds with the pseudonym (Services.gateway_for; idempotent at the provider): the
    erasure as it now stands, or None when none was owed (another worker did it, or the
    customer is gone). A provider that does not answer is asked again later (doubling
    waits); one that refuses for good leaves the erasure failed, for a person to decide."""
    customer = svc.repo.get_customer(customer_id)
    erasure = customer.provider_erasure if customer is not None else None
    if customer is None or erasure is None or not erasure.pending:
        return None
    now = svc.clock.now()

    def erase() -> ProviderErasure:
        gateway = svc.gateway_for(customer.provider)
        if gateway is None:  # its record is out of this deployment's reach: a person decides
            raise UnknownProviderError(customer.provider or "default", svc.provider_names())
        if customer.provider_customer_id is not None:
            gateway.erase_customer(
                provider_customer_id=customer.provider_customer_id,
                email=pseudonym_email(customer.id),
                name=pseudonym_name(customer.id),
                idempotency_key=f"erase:{customer.id}",
            )
        return erasure.done(now)

    customer.provider_erasure = owed_call(erasure, now, erase, "provider erasure", logger)
    change = Commit(customers=[customer])
    settled = customer.provider_erasure
    if not settled.pending:
        change.audit.append(
            new_entry(
                at=now,
                actor=SYSTEM_RENEWALS,
                action=AuditAction.ERASE,
                entity=customer.id,
                customer_id=customer.id,
                note=None,
                before={"at_provider": "owed"},
                after={"at_provider": "erased" if settled.failure is None else "refused"},
                nonce="provider",
            )
        )
    try:
        svc.commit(change)
    except ConcurrencyError:  # moved meanwhile: the due item, read again, decides
        logger.info("provider erasure moved meanwhile")
        return None
    return settled


def keep_left_behind(
    svc: Services,
    customer_id: str,
    provider_customer_id: str,
    provider: str,
    *,
    erased_only: bool = False,
) -> None:
    """A request made the customer's provider customer (with their name and email) and did
    not store it: the provider refused the card, or the request's commit failed. Recorded
    on the customer alone, so that an erasure, later or already done, knows of it: on a
    customer still there, the provider customer and its link (the next card reuses it, as
    the provider's key `customer:<id>` would hand it back anyway), then return for the
    caller to raise what it met; on one erased meanwhile (whose erasure read the customer
    before the provider customer was stored), with its erasure owed, as the erasure's own
    commit would have (done by the due work, never in the request), and refuse as for any
    erased customer (IllegalTransitionError). Idempotent: a customer that already holds a
    provider customer (another loser, the same key at the provider) is left as it is.

    Not counted as the request's write (Services.commits): the request answers its refusal
    as one that wrote nothing and its key is released (docs/api.md); what it records is the
    provider's, never the request's change. `erased_only`: record it only on an erased
    customer (the caller makes the request again, which stores it)."""
    erased = False
    for _ in range(LEFT_BEHIND_ATTEMPTS):
        customer = svc.repo.get_customer(customer_id)
        if customer is None or (erased_only and customer.erased_at is None):
            return
        erased = customer.erased_at is not None
        if customer.provider_customer_id is not None:  # recorded, owed, or erased there
            if customer.erased_at is not None:
                refuse_erased(customer, "attach a payment method to")
            return
        customer.provider_customer_id = provider_customer_id
        customer.provider_customer_pending = None  # the mark its request wrote: now known
        change = Commit(provider_links=[ProviderLink(provider, provider_customer_id, customer_id)])
        if customer.erased_at is None:
            save_payer(svc, customer, change)  # the customer, and its subscriptions' copies
        else:
            now = svc.clock.now()
            customer.provider_erasure = ProviderErasure(asked_at=now, next_try_at=now)
            change.customers.append(customer)
        try:
            svc.repo.commit(change)
        except ConcurrencyError:  # another write of the customer came first: read it again
            continue
        if customer.erased_at is None:
            logger.info("provider customer of a request that stored nothing recorded")
            return
        logger.info("provider customer left behind by an erasure owed its erasure")
        refuse_erased(customer, "attach a payment method to")
    if not erased:  # the request's own error stands: its next try records it
        logger.warning("provider customer of a request that stored nothing not recorded")
        return
    raise ConcurrencyError(f"customer {customer_id} kept changing: try again")


def _refuse_while_live(subs: list[Subscription], plans: list[InstallmentPlan]) -> None:
    live = [s for s in subs if s.status is not SubscriptionStatus.CANCELED]
    if live:
        raise IllegalTransitionError(
            "erase",
            "still subscribed",
            f"subscription {live[0].id} is {live[0].status}; cancel it first",
            "customer",
        )
    active = [p for p in plans if p.status is PlanStatus.ACTIVE]
    if active:
        raise IllegalTransitionError(
            "erase",
            "on an installment plan",
            f"installment plan {active[0].id} is active; cancel it first",
            "customer",
        )


def _legal_hold(found: CustomerRecords, now: datetime) -> LegalHold | None:
    """What numbered invoices and credit notes were made out to: kept while tax law says
    (docs/privacy.md). None when the customer was never invoiced with a legal number."""
    invoices = tuple(i.number for i in found.invoices if i.number)
    notes = tuple(n.number for n in found.credit_notes if n.number)
    if not invoices and not notes:
        return None
    customer, billing = found.customer, found.customer.billing
    return LegalHold(
        customer_id=customer.id,
        erased_at=now,
        name=(billing.name if billing and billing.name else None) or customer.name or None,
        address=billing.address if billing else None,
        tax_id=billing.tax_id if billing else None,
        invoices=invoices,
        credit_notes=notes,
    )


def _erase_copies(svc: Services, found: CustomerRecords, now: datetime) -> None:
    customer_id = found.customer.id
    subs = []
    for sub in found.subscriptions:
        if sub.contact is None and not sub.cancel_reason_text:
            continue
        if sub.contact is not None:
            sub.contact = pseudonym_contact(customer_id, sub.contact)
        sub.cancel_reason_text = None
        subs.append(sub)
    saves = [replace(s, reason_text=None) for s in found.save_attempts if s.reason_text]
    notices = [_erased_notice(n) for n in found.notices]
    for n in range(0, max(len(subs), len(saves), len(notices)), ERASE_BATCH):
        change = Commit(notices=notices[n : n + ERASE_BATCH])
        for sub in subs[n : n + ERASE_BATCH]:
            change.add_subscription(sub)
        change.save_attempts = saves[n : n + ERASE_BATCH]
        svc.commit(change)
    audit = [_erased_entry(e) for e in found.audit]
    svc.repo.rewrite_audit([e for e, old in zip(audit, found.audit, strict=True) if e != old])
    events = [scrub(e) for e in found.events]
    changed = {e["id"] for e, old in zip(events, found.events, strict=True) if e != old}
    svc.repo.rewrite_events([e for e in events if e["id"] in changed])
    for delivery in found.deliveries:
        if delivery.event_id in changed:
            body = scrub(json.loads(delivery.payload))  # written as webhooks_out.payload does
            payload = json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)
            svc.repo.save_webhook_delivery(replace(delivery, payload=payload), now)


def _erased_notice(notice: Notice) -> Notice:
    """The notice without the person: its copies pseudonymized, and, while still owed,
    dropped (skipped), so that nothing is ever sent to the customer again."""
    if notice.contact is not None:
        notice.contact = pseudonym_contact(notice.customer_id, notice.contact)
    if notice.subscription is not None:
        notice.subscription = replace(notice.subscription, cancel_reason_text=None)
    notice.data = scrub(notice.data)
    if notice.status is NoticeStatus.SCHEDULED:
        notice.status, notice.reason = NoticeStatus.SKIPPED, ERASED_REASON
    return notice


def _erased_entry(entry: AuditEntry) -> AuditEntry:
    return replace(
        entry,
        note=ERASED_TEXT if entry.note else entry.note,
        before=scrub(entry.before),
        after=scrub(entry.after),
    )


def legal_hold(svc: Services, customer_id: str) -> LegalHold:
    """The legal hold of an erased customer (NotFoundError: no such customer, or none
    kept)."""
    _customer(svc, customer_id)
    hold = svc.repo.get_legal_hold(customer_id)
    if hold is None:
        raise NotFoundError("legal hold", customer_id)
    return hold
