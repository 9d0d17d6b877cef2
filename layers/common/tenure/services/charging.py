"""Charging invoices: claim the attempt, pay in one provider request, settle.

The money path, step by step (each step survives a crash at any point):
1. claim: one transaction stores the attempt (the invoice's counter, version-checked) and a
   `charging` record with a lease; for a new invoice (a renewal, a first invoice) the
   invoice itself, its subscription and their events are in the same transaction. A
   concurrent collector loses here and calls nothing, so only a claimed attempt ever
   reaches the provider;
2. pay: one request creates the payment and confirms it off-session (Stripe: create with
   `confirm=true, off_session=true`) under key `charge:{invoice}:{attempt}:create`. Money
   moves here. The payment carries the invoice and attempt in its metadata, which is how
   webhooks find the attempt: its id is not stored yet;
3. settle: the outcome, the payment id (with the link disputes find the payment by), the
   invoice, the subscription, the dunning schedule and the events commit in one
   transaction.
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

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from functools import partial

from tenure.domain import collection, ids, mandates
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.customers import Customer, Payer, PaymentMethod
from tenure.domain.due import DueKind
from tenure.domain.errors import ConcurrencyError, DomainError, ValidationFailedError
from tenure.domain.installments import InstallmentPlan, InstalmentStatus, PlanStatus
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceStatus
from tenure.domain.money import Money
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, notice_key
from tenure.domain.privacy import refuse_erased
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import iso
from tenure.notify.policy import ReminderPolicy
from tenure.notify.timing import last_slot_by, next_slot
from tenure.payments.gateway import (
    CardDetails,
    GatewayError,
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
    StoredServerError,
)
from tenure.ports import Commit, Marker, MrrRead, ProviderLink
from tenure.services import collections as cases
from tenure.services import privacy, provider_owed
from tenure.services.catalog import (
    attach_payment_method,
    refuse_card_number,
    save_payer,
    subscription_plan,
    subscription_plan_lookup,
    write_past_listings,
)
from tenure.services.context import Services

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than one charger run; then the sweeper reconciles
PENDING_RECHECK = timedelta(hours=1)  # async payments: look again until they settle
# A request whose answer was lost is replayed under its key only while the provider surely
# keeps the key: Stripe may prune a key once it is 24 hours old, and the same key then makes
# a new payment (https://docs.stripe.com/idempotency). An hour's margin for clocks and queues.
PAY_REPLAY_WINDOW = timedelta(hours=23)
# The list of the customer's payments starts this long before the attempt's moment: the
# provider's clock is not ours.
LIST_MARGIN = timedelta(minutes=5)
SETTLE_TRIES = 3  # settles from a fresh read after a lost race, before the sweeper takes over
NOT_CHARGES = (DueKind.REFUND, DueKind.CREDIT)  # an invoice's due work that charges nothing
FINAL = (ChargeOutcome.SUCCEEDED, ChargeOutcome.DECLINED, ChargeOutcome.AUTHENTICATION_REQUIRED)


# -- entry points ---------------------------------------------------------------------------
def charge_new_invoice(
    svc: Services,
    invoice: Invoice,
    sub: Subscription,
    creating: Commit,
    customer: Customer | None = None,
) -> Charge | None:
    """Charge an invoice just made (a first invoice, a renewal, a proration) with the
    customer's default payment method; `customer` as read, or None to read it.

    `creating` is the unsaved commit that creates the invoice (with whatever else the caller
    changed): it is written exactly once, with the claim when the invoice is charged, alone
    otherwise. `sub` and `customer` are updated in place."""
    return _collect(svc, _Collection(invoice, sub, customer=customer, unsaved=creating))


def charge_new_invoice_from_copy(
    svc: Services, invoice: Invoice, sub: Subscription, creating: Commit
) -> Charge | None:
    """As `charge_new_invoice`, with the payment method the subscription's copy of its
    payer names (when it names one), without reading the customer. The claim checks the copy
    against the customer, and a copy that was wrong fails it (ConcurrencyError) before any
    money moves: the caller must start again from a fresh read."""
    return _collect(svc, _Collection(invoice, sub, from_copy=True, unsaved=creating))


def collect_invoice(svc: Services, invoice_id: str, at: datetime | None = None) -> Charge | None:
    """Charge a stored open invoice once, now, with the customer's default payment method.

    `at` dates the attempt when it answers a provider fact of that moment (a card the
    provider updated, reported by webhook): a late delivery then records what an on-time one
    would have. Without it, the attempt is dated now."""
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None:
        return None
    return _collect(svc, _Collection(invoice, at=at))


def retry_invoice(svc: Services, invoice_id: str) -> Charge | None:
    """A scheduled dunning retry (or the end of dunning) came due."""
    invoice = svc.repo.get_invoice(invoice_id)
    due = invoice.next_due() if invoice is not None else None
    if invoice is None or due is None or due[0] > svc.clock.now() or due[1] in NOT_CHARGES:
        return None  # (an owed refund and a credit are not charges: services.due routes them)
    if due[1] is DueKind.DUNNING_END:
        end_dunning(svc, invoice)
        return None
    return _collect(svc, _Collection(invoice))


def retry_invoice_now(svc: Services, invoice: Invoice, with_claim: Commit) -> Charge | None:
    """Charge a stored open invoice now, by the money path's own steps, with `with_claim`
    (an operator's audit entry) committed in the claim's transaction: written only when an
    attempt is claimed. None: it could not be charged now (nothing claimed)."""
    return _collect(svc, _Collection(invoice, with_claim=with_claim))


def invoice_installment(svc: Services, plan_id: str) -> Charge | None:
    """An installment plan's next instalment came due: invoice it and charge it, the new
    invoice and the plan written with the claim (or alone, when it cannot be charged now).
    None: nothing was due (another worker invoiced it, or the plan ended)."""
    plan = svc.repo.get_installment_plan(plan_id)
    if plan is None:
        return None
    invoice = plan.invoice_next(svc.clock.now())
    if invoice is None:
        return None
    creating = Commit(invoices=[invoice])
    creating.events.append(collection.InvoiceCreated.of(invoice).to_event())
    creating.add_installment_plan(plan)
    if svc.gateway is None:
        svc.commit_with_notices(creating)
        return None
    charge = _collect(svc, _Collection(invoice, plan=plan, unsaved=creating))
    held = invoice.next_attempt_at is not None  # a debit on a mandate waiting for its notice
    if charge is None and invoice.owed and invoice.attempts == 0 and not held:
        await_payment_method(svc, invoice.id)  # no card on file: dunned like a hard decline
    return charge


def end_dunning(svc: Services, invoice: Invoice) -> None:
    """Retries ran out (or the customer never gave a new card): apply the final action."""
    if invoice.installment_plan_id:
        _default_plan(svc, invoice)
        return
    sub = svc.repo.get_subscription(invoice.subscription_id)
    change = Commit()
    ended = invoice.dunning_ends_at or svc.clock.now()  # the deadline, when it ran late too
    invoice.next_attempt_at = None
    invoice.dunning_ends_at = None
    if sub is not None:
        _final_action(svc, sub, invoice, change, ended)
        change.add_subscription(sub)
    change.invoices.append(invoice)
    svc.commit_with_notices(change)


def await_payment_method(svc: Services, invoice_id: str) -> None:
    """An invoice that could not be charged at all (no payment method on file): past due,
    waiting for a card until the dunning deadline, like a hard decline."""
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None or not invoice.owed:
        return
    if invoice.installment_plan_id:
        plan = svc.repo.get_installment_plan(invoice.installment_plan_id)
        now = svc.clock.now()
        if plan is None or not collection.await_payment_method_for_instalment(
            invoice, svc.policy, now
        ):
            return
        plan.record_failed(invoice.id, now)
        change = Commit(invoices=[invoice])
        change.add_installment_plan(plan)
        svc.commit_with_notices(change)
        return
    sub = svc.repo.get_subscription(invoice.subscription_id)
    if not collection.await_payment_method(
        invoice, sub, svc.policy, _plans(svc, sub), svc.clock.now()
    ):
        return
    assert sub is not None  # a subscription that moved is there
    change = Commit(invoices=[invoice])
    change.add_subscription(sub)
    svc.commit_with_notices(change)


def payer_for(
    svc: Services, sub: Subscription, customer: Customer | None, from_copy: bool
) -> tuple[Payer | None, Customer | None]:
    """Whose card pays for `sub`, and the customer if it was given or read: `from_copy`, the
    subscription's copy when it names a card (no read, and no customer: the claim checks the
    copy); else the customer, read unless given (None: not found)."""
    if customer is None and from_copy and sub.payer.can_pay:
        return sub.payer, None
    customer = customer or svc.repo.get_customer(sub.customer_id)
    return (customer.payer if customer is not None else None), customer


# -- one collection: claim, pay (one request), settle ---------------------------------------
@dataclass(slots=True)
class _Collection:
    """One invoice being collected, and what its collection has read so far."""

    invoice: Invoice
    sub: Subscription | None = None  # read when needed
    customer: Customer | None = None  # read when needed, unless charging from the copy
    from_copy: bool = False  # pay with the subscription's copy of its payer (see payer_for)
    at: datetime | None = None  # the moment the attempt answers (default: now)
    unsaved: Commit | None = None  # creates the invoice: written once, alone or with the claim
    plan: InstallmentPlan | None = None  # an instalment's plan, read when needed
    with_claim: Commit | None = None  # written with the claim only (an operator's audit entry)

    def write(self, svc: Services, change: Commit | None = None) -> None:
        """Commit `change` together with the unsaved creation, as one transaction; an entity
        in both (the new invoice) is written once. The creation is written only once."""
        merged, creating = self.unsaved or change, self.unsaved
        self.unsaved = None
        if merged is None:
            return
        if creating is not None and change is not None:
            for name in (f.name for f in fields(Commit)):
                into = getattr(creating, name)
                if not isinstance(into, list):  # (Commit.source: set when committed)
                    continue
                into.extend(x for x in getattr(change, name) if not any(x is y for y in into))
        svc.commit_with_notices(merged)


class _Created(Enum):
    """How the provider answered the one request."""

    CREATED = "created"  # the payment id is known
    UNKNOWN = "unknown"  # no answer: the claim has no payment id; the sweeper reconciles it
    REFUSED = "refused"  # the provider refuses this payment as asked: a failed attempt
    CONFLICT = "conflict"  # the key was used with other parameters: the attempt is given up


def _collect(svc: Services, c: _Collection) -> Charge | None:
    """Charge `c.invoice` once. An attempt given up on an idempotency conflict is followed at
    once by the next attempt number, which charges the invoice as it is now; a second
    conflict in a row is left to the schedule."""
    charge, created = _attempt(svc, c)
    if created is _Created.CONFLICT:
        # The given-up attempt is stored (due at once, should this worker die now).
        charge, _ = _attempt(svc, c)
    return charge


def _attempt(svc: Services, c: _Collection) -> tuple[Charge | None, _Created | None]:
    """One attempt: ready, claim, pay (one request), settle."""
    payer = _ready(svc, c)
    if payer is None:
        return None, None
    assert svc.gateway is not None  # checked by _ready
    verdict = _mandate_gate(svc, c, payer)
    if verdict is _HOLD:
        return None, None
    invoice = c.invoice
    now = c.at or svc.clock.now()
    charge = Charge(
        id=f"ch_{invoice.id}_{invoice.attempts + 1}",
        invoice_id=invoice.id,
        subscription_id=invoice.subscription_id,
        customer_id=invoice.customer_id,
        attempt=invoice.attempts + 1,
        amount=invoice.total,
        currency=invoice.currency,
        at=now,
        lease_until=now + LEASE,
        payment_method=payer.payment_method,
        provider_customer=payer.provider_customer_id or invoice.customer_id,
        provider=payer.provider,
    )
    # The claim counts the request it is about to make: a worker that dies between the two
    # has made at most that one.
    charge.calls = 1
    _claim(svc, c, charge, payer)
    if verdict is mandates.Verdict.FRESH_AUTH:
        created, answer = _pay_when_present(svc, charge, payer)
    else:
        created, answer = _pay(svc, charge, payer)
    if created is _Created.CREATED:
        assert isinstance(answer, PaymentResult)
        _record(svc, c, charge, answer)
    elif created is _Created.REFUSED:
        # Retrying cannot help: a failed attempt that waits for a new payment method.
        assert isinstance(answer, InvalidRequestError)
        declined = PaymentResult("", ChargeOutcome.DECLINED, _code(answer))
        _settle(svc, invoice, charge, declined, at=c.at, subscription=c.sub)
    elif created is _Created.CONFLICT:
        # The key was first used with other parameters: by a release that created the
        # payment unconfirmed and died before claiming it (this attempt number was free), so
        # that payment is never confirmed. Give the attempt number up; the next is due now.
        _give_up(svc, invoice, charge, now)
    # UNKNOWN (no answer): maybe charged. The claim as stored (its one call counted) is all
    # there is to know; the sweeper asks the provider when its lease ends.
    return charge, created


def _ready(svc: Services, c: _Collection) -> Payer | None:
    """The payer to charge when the invoice is to be charged now, else None (with the
    invoice's schedule updated and the unsaved creation written)."""
    invoice = c.invoice
    if svc.gateway is None or not invoice.owed or invoice.dispute_open:
        # (disputed: no collection until the bank decides)
        c.write(svc)
        return None
    if invoice.installment_plan_id:
        return _ready_instalment(svc, c, invoice.installment_plan_id)
    sub = c.sub = c.sub or svc.repo.get_subscription(invoice.subscription_id)
    if sub is None or sub.status is SubscriptionStatus.CANCELED:
        # Canceled between scheduling and charging: skipped, not charged, and not due again.
        _stop_collecting(svc, c, keep_deadline=False)
        return None
    payer, c.customer = payer_for(svc, sub, c.customer, c.from_copy)
    if c.customer is not None and c.unsaved is not None and _writes(c.unsaved, sub):
        sub.copy_payer(c.customer.payer)  # written with the claim: a copy behind catches up
    if payer is None or payer.payment_method is None:
        _stop_collecting(svc, c, keep_deadline=True)
        return None  # a new payment method charges it
    svc.gateway_for(payer)  # a provider this deployment cannot reach is refused before a claim
    # An attempt in flight is settled by the sweeper first (a new invoice has none).
    if invoice.attempts and any(
        ch.status is ChargeStatus.CHARGING for ch in svc.repo.list_charges(invoice.id)
    ):
        c.write(svc)
        return None
    return payer


def _ready_instalment(svc: Services, c: _Collection, plan_id: str) -> Payer | None:
    """As `_ready`, for an instalment's invoice: its plan must stand (a defaulted plan's
    invoice is written off, never charged), and the customer's own card pays."""
    plan = c.plan = c.plan or svc.repo.get_installment_plan(plan_id)
    if plan is not None and plan.status is PlanStatus.DEFAULTED and c.unsaved is None:
        # An instalment invoiced before an earlier one defaulted the plan (weekly plans):
        # written off as that one was, rather than left open with nothing due.
        _default_plan(svc, c.invoice)
        return None
    if plan is None or plan.status is PlanStatus.DEFAULTED:
        _stop_collecting(svc, c, keep_deadline=False)
        return None
    c.customer = c.customer or svc.repo.get_customer(c.invoice.customer_id)
    payer = c.customer.payer if c.customer is not None else None
    if payer is None or payer.payment_method is None:
        _stop_collecting(svc, c, keep_deadline=True)
        return None
    svc.gateway_for(payer)  # a provider this deployment cannot reach is refused before a claim
    if c.invoice.attempts and any(
        ch.status is ChargeStatus.CHARGING for ch in svc.repo.list_charges(c.invoice.id)
    ):
        c.write(svc)
        return None
    return payer


# -- debits on a mandate (India's e-mandate rules, tenure.domain.mandates) ------------------
_HOLD = "hold"  # the gate's answer when the debit is not made now


def _mandate_gate(svc: Services, c: _Collection, payer: Payer) -> mandates.Verdict | str | None:
    """Whether the debit may be made now, by the mandate rules (None: not on a mandate,
    charged as ever). When it may not, the invoice says what happens instead (written with
    the unsaved creation) and the answer is _HOLD: no attempt is recorded, no money moves.

    The customer present (a subscription's first payment, which sets the mandate up with
    their authentication) is not a debit on the mandate."""
    invoice = c.invoice
    if not mandates.on_mandate(_provider_of(svc, payer)):
        return None
    if c.sub is not None and c.sub.status is SubscriptionStatus.INCOMPLETE:
        return None
    c.at = None  # money moves when the debit is made, not at a reported moment
    now = svc.clock.now()
    debit = invoice.failures + 1
    key = mandates.pre_debit_key(invoice.id, debit, invoice.total)
    notice = svc.repo.get_notice(key)
    if notice is None and debit == 1:
        ahead = svc.repo.get_notice(mandates.renewal_key(invoice.id))
        notice = ahead if ahead is not None and mandates.announces(ahead, invoice.total) else None
    decision = mandates.decide(
        amount_minor=invoice.total,
        currency=invoice.currency,
        mandate_max_minor=_mandate_max(svc, invoice.customer_id, payer),
        notice=notice,
        now=now,
        policy=svc.mandates,
    )
    verdict = decision.verdict
    if verdict in (mandates.Verdict.DEBIT, mandates.Verdict.FRESH_AUTH):
        return verdict
    change = Commit(invoices=[invoice])
    if verdict is mandates.Verdict.NOTICE_FIRST:
        notice = _pre_debit_notice(svc, c, key, now, {"debit": debit})
        invoice.next_attempt_at = notice.due_at + svc.mandates.notice_lead
        notice.data["debit_at"] = iso(invoice.next_attempt_at)
        change.notices.append(notice)
    elif verdict is mandates.Verdict.WAIT:
        invoice.next_attempt_at = decision.debit_at
    else:
        # Over the mandate's limit, or never announced: this debit is not made. The invoice
        # waits for a new mandate (a new payment method charges it) until dunning's
        # deadline, as when no card is on file; over the limit, the customer is asked.
        _await_new_mandate(svc, invoice)
        if verdict is mandates.Verdict.OVER_LIMIT:
            limit = _mandate_max(svc, invoice.customer_id, payer)
            over = notice_key(invoice.id, NoticeKind.PRE_DEBIT, "over_limit", invoice.total)
            change.notices.append(_pre_debit_notice(svc, c, over, now, {"limit": limit}))
    log.info(
        "mandate debit held",
        extra={"invoice": invoice.id, "verdict": str(verdict), "debit": debit},
    )
    c.write(svc, change)
    return _HOLD


def _announce_retry(
    svc: Services,
    invoice: Invoice,
    charge: Charge,
    zone: str | None,
    change: Commit,
    now: datetime,
) -> None:
    """A dunning retry of a debit on a mandate, just scheduled: its pre-debit email is
    planned with the failure, at the last slot of the customer's window a notice lead or
    more before the retry, so that the retry keeps its time; with no such slot left, the
    retry moves to a notice lead after the first one. (The charger still checks when the
    retry comes: an email sent late moves it again.)"""
    retry_at = invoice.next_attempt_at
    if retry_at is None or not mandates.on_mandate(_provider_of(svc, charge)):
        return
    if zone is None:
        customer = svc.repo.get_customer(invoice.customer_id)
        zone = customer.timezone if customer is not None else "UTC"
    lead, hours = svc.mandates.notice_lead, (svc.reminders or ReminderPolicy()).quiet_hours
    due = last_slot_by(retry_at - lead, zone, hours, not_before=now)
    if due is None:
        due = next_slot(now, zone, hours)
        invoice.next_attempt_at = retry_at = max(retry_at, due + lead)
    debit = invoice.failures + 1
    key = mandates.pre_debit_key(invoice.id, debit, invoice.total)
    more: dict[str, object] = {"debit": debit, "debit_at": iso(retry_at)}
    change.notices.append(_pre_debit(invoice, key, due, zone, now, more))


def _announce_renewal(
    svc: Services, sub: Subscription, charge: Charge, change: Commit, now: datetime
) -> None:
    """A period paid on a mandate: the next renewal's pre-debit email is planned with the
    payment, at the last slot of the customer's window a notice lead or more before the
    renewal, so that the renewal is debited on time. Its amount is worked out when it is
    sent; one that no longer holds when the renewal is invoiced (a coupon, a plan change)
    is announced again and debited a day after, by the charger."""
    if not mandates.on_mandate(_provider_of(svc, charge)):
        return
    if sub.status is not SubscriptionStatus.ACTIVE or sub.cancel_at_period_end:
        return
    hours = (svc.reminders or ReminderPolicy()).quiet_hours
    renews_at = sub.current_period_end
    due = last_slot_by(renews_at - svc.mandates.notice_lead, sub.timezone, hours, now)
    if due is None:
        return  # too near: the renewal is announced when it is invoiced
    renewal = ids.invoice_id(sub.id, InvoiceKind.RENEWAL, renews_at)
    planned = svc.repo.get_notice(mandates.renewal_key(renewal))
    if planned is not None and planned.status is not NoticeStatus.SCHEDULED:
        return  # already told (another payment this period, say a proration): kept as sent
    notice = Notice(
        key=mandates.renewal_key(renewal),
        kind=NoticeKind.PRE_DEBIT,
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        due_at=due,
        created_at=now,
        data={
            "invoice_id": renewal,
            "ahead": True,
            "renews_at": iso(renews_at),
            "debit_at": iso(renews_at),
            "currency": sub.currency,
            "debit": 1,
            "zone": sub.timezone,
        },
    )
    change.notices.append(notice)


def _provider_of(svc: Services, payer: Payer | Charge) -> str | None:
    """The provider that debits `payer` (or made the charge): theirs, else the default."""
    return payer.provider or (svc.gateway.name if svc.gateway is not None else None)


def _mandate_max(svc: Services, customer_id: str, payer: Payer) -> int | None:
    """The maximum the payer's mandate allows per debit, in minor units (None: no cap known)."""
    for method in svc.repo.list_payment_methods(customer_id):
        if method.id == payer.payment_method:
            return method.mandate_max_amount
    return None


def _await_new_mandate(svc: Services, invoice: Invoice) -> None:
    """Nothing is due until a new payment method comes, or dunning's deadline: a new invoice
    starts waiting through `await_payment_method` (its caller's); one already dunned keeps
    (or gets) the deadline its first failure set."""
    invoice.next_attempt_at = None
    if invoice.first_failed_at is not None and invoice.dunning_ends_at is None:
        invoice.dunning_ends_at = svc.policy.deadline(invoice.first_failed_at)


def _pre_debit_notice(
    svc: Services, c: _Collection, key: str, now: datetime, more: dict[str, object]
) -> Notice:
    """The pre-debit email of the invoice's next debit, due at the first slot of the
    customer's window from now; the debit follows it by the notice lead at least."""
    zone = _zone_of(svc, c)
    due = next_slot(now, zone, (svc.reminders or ReminderPolicy()).quiet_hours)
    return _pre_debit(c.invoice, key, due, zone, now, more)


def _pre_debit(
    invoice: Invoice, key: str, due: datetime, zone: str, now: datetime, more: dict[str, object]
) -> Notice:
    return Notice(
        key=key,
        kind=NoticeKind.PRE_DEBIT,
        customer_id=invoice.customer_id,
        subscription_id=invoice.subscription_id or None,
        due_at=due,
        created_at=now,
        data={
            "invoice_id": invoice.id,
            "amount": invoice.total,
            "currency": invoice.currency,
            "zone": zone,
            **more,
        },
    )


def _zone_of(svc: Services, c: _Collection) -> str:
    if c.sub is not None:
        return c.sub.timezone
    c.customer = c.customer or svc.repo.get_customer(c.invoice.customer_id)
    return c.customer.timezone if c.customer is not None else "UTC"


def _pay_when_present(
    svc: Services, charge: Charge, payer: Payer
) -> tuple[_Created, PaymentResult | InvalidRequestError | None]:
    """2. for a debit that needs the customer's fresh authentication: the payment is made
    but not confirmed (no money moves), and waits for the customer on the confirm page
    (the payment_action_required email), as a payment the bank asked to confirm does."""
    gateway = svc.gateway_for(charge)
    assert gateway is not None
    payment_method = charge.payment_method or payer.payment_method
    assert payment_method is not None
    try:
        payment_id = gateway.create_payment(
            amount=Money(charge.amount, charge.currency),
            customer_id=charge.provider_customer or _provider_customer(payer, charge),
            payment_method=payment_method,
            invoice_id=charge.invoice_id,
            attempt=charge.attempt,
            idempotency_key=f"{charge.idempotency_key}:create",
            subscription_id=charge.subscription_id,
            tenure_customer_id=charge.customer_id,
        )
    except IdempotencyConflictError:
        return _Created.CONFLICT, None
    except InvalidRequestError as exc:
        return _Created.REFUSED, exc
    except GatewayError:
        return _Created.UNKNOWN, None
    outcome = ChargeOutcome.AUTHENTICATION_REQUIRED
    return _Created.CREATED, PaymentResult(payment_id, outcome, "authentication_required")


def _needs_presence(svc: Services, charge: Charge) -> bool:
    """Whether an attempt was one the customer must confirm (a debit on a mandate above
    the no-authentication limit): never replayed nor confirmed off-session."""
    return mandates.on_mandate(_provider_of(svc, charge)) and svc.mandates.needs_fresh_auth(
        charge.amount, charge.currency
    )


def _pay(
    svc: Services, charge: Charge, payer: Payer
) -> tuple[_Created, PaymentResult | InvalidRequestError | None]:
    """2. pay, once claimed: the provider's answer, or why there is none."""
    try:
        return _Created.CREATED, _pay_request(svc, charge, payer)
    except IdempotencyConflictError:
        return _Created.CONFLICT, None
    except InvalidRequestError as exc:
        return _Created.REFUSED, exc
    except GatewayError:
        return _Created.UNKNOWN, None


def _pay_request(svc: Services, charge: Charge, payer: Payer | None) -> PaymentResult:
    """The provider's one request for this attempt, from the charge as claimed: a replay
    (the sweeper's, of a request whose answer was lost) is the identical request, even when
    the customer's card changed since. `payer` fills in what a claim stored by an earlier
    release does not hold."""
    gateway = svc.gateway_for(charge)
    assert gateway is not None
    payment_method = charge.payment_method or (payer.payment_method if payer else None)
    assert payment_method is not None
    return gateway.create_and_confirm_payment(
        amount=Money(charge.amount, charge.currency),
        customer_id=charge.provider_customer or _provider_customer(payer, charge),
        payment_method=payment_method,
        invoice_id=charge.invoice_id,
        attempt=charge.attempt,
        idempotency_key=f"{charge.idempotency_key}:create",
        subscription_id=charge.subscription_id,
        tenure_customer_id=charge.customer_id,
    )


def _provider_customer(payer: Payer | None, charge: Charge) -> str:
    return (payer.provider_customer_id if payer is not None else None) or charge.customer_id


def _claim(svc: Services, c: _Collection, charge: Charge, payer: Payer) -> None:
    """1. the claim: the attempt, with the new invoice and its subscription when the invoice
    is new. A concurrent collector fails here (ConcurrencyError) and calls nothing. A payer
    taken from the subscription's copy (no customer read) is checked against the customer."""
    c.invoice.attempts = charge.attempt
    c.invoice.next_attempt_at = None
    claim = Commit(invoices=[c.invoice], charges=[charge])
    if c.customer is None and not _copy_is_current(c):
        claim.payer_checks.append(payer)
    if c.with_claim is not None:
        claim.audit.extend(c.with_claim.audit)
        claim.events.extend(c.with_claim.events)
        c.with_claim = None  # a second attempt (after a conflict) is not audited twice
    c.write(svc, claim)


def _copy_is_current(c: _Collection) -> bool:
    """Whether the subscription's copy of the payer is surely the customer's without a check:
    the claim writes the subscription at the version the copy was read with, and its customer
    lists it, so no card change has passed it by (Subscription.listed)."""
    sub, creating = c.sub, c.unsaved
    if sub is None or not sub.listed or creating is None:
        return False
    return any(s is sub for s in creating.subscriptions)


def _record(svc: Services, c: _Collection, charge: Charge, result: PaymentResult) -> None:
    """3. settle what the provider answered, with the payment id: now, or by the sweeper;
    never surfaced as the caller's failure."""
    links = _learn(svc, charge, result.payment_id)
    try:
        _settle(svc, c.invoice, charge, result, at=c.at, subscription=c.sub, links=links)
    except ConcurrencyError:
        _settle_from_store(svc, charge, result, c.at)


def _learn(svc: Services, charge: Charge, payment_id: str) -> list[ProviderLink]:
    """Store the payment id the provider answered with, and the link disputes (which name
    only the payment) find the attempt by, once: [] when it was known already."""
    gateway = svc.gateway_for(charge)
    assert gateway is not None
    if not payment_id or charge.payment_id == payment_id:
        return []
    charge.payment_id = payment_id
    return [ProviderLink(gateway.name, payment_id, charge.due_id)]


def _writes(change: Commit, sub: Subscription) -> bool:
    return any(s is sub for s in change.subscriptions)


def _stop_collecting(svc: Services, c: _Collection, keep_deadline: bool) -> None:
    invoice = c.invoice
    unchanged = invoice.next_attempt_at is None and (
        keep_deadline or invoice.dunning_ends_at is None
    )
    invoice.next_attempt_at = None
    if not keep_deadline:
        invoice.dunning_ends_at = None
    if c.unsaved is not None:
        c.write(svc)  # a new invoice is stored whatever happens
    elif not unchanged:
        svc.commit_with_notices(Commit(invoices=[invoice]))


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
            links, result = _learn(svc, charge, found.payment_id), found
        else:
            charge.calls += 1
            result = gateway.retrieve_payment(charge.payment_id)
        if (
            result.outcome is ChargeOutcome.UNKNOWN
            and charge.payment_id is not None
            and _needs_presence(svc, charge)
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
        _keep_claim(svc, charge, links)
        return charge
    try:
        _settle(svc, invoice, charge, result, links=links)
    except ConcurrencyError:
        # Another sweeper (or the webhook) got there first, from the same answer.
        _settle_from_store(svc, charge, result, None)
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
    replayable = known_card and not _needs_presence(svc, charge)
    if now - charge.at < PAY_REPLAY_WINDOW and invoice.status is InvoiceStatus.OPEN and replayable:
        try:
            charge.calls += 1
            return _pay_request(svc, charge, payer)
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
            customer_id=_provider_customer(payer, charge),
            invoice_id=charge.invoice_id,
            attempt=charge.attempt,
            created_from=charge.at - LIST_MARGIN,
            created_until=now,
        )
    except GatewayError:
        _wait(svc, charge, now)
        return None
    if found is None:
        _give_up(svc, invoice, charge, now)
    return found


def _wait(svc: Services, charge: Charge, now: datetime) -> None:
    charge.lease_until = now + LEASE
    _keep_claim(svc, charge)


def _give_up(svc: Services, invoice: Invoice, charge: Charge, now: datetime) -> None:
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


def collect_open_invoices(
    svc: Services,
    customer_id: str,
    changed_at: datetime | None = None,
    listed: list[Subscription] | None = None,
) -> list[Charge]:
    """A new payment method retries what the customer owes at once, soft or hard declines.

    `changed_at`: the moment the provider says the card changed (a webhook). Only invoices
    not tried since then are retried, dated by that moment: the attempt a late or repeated
    delivery would add has already been made, or is made as the on-time delivery would.
    `listed`: the customer's subscriptions as the card's commit just listed them (that
    commit held only while no other had joined the customer), not listed again; each one's
    invoices are still read afresh."""
    if changed_at is not None:
        invoices = invoices_untried_since(svc, customer_id, changed_at)
        found = (collect_invoice(svc, invoice.id, at=changed_at) for invoice in invoices)
        return [charge for charge in found if charge is not None]
    charges = [
        charge
        for charge in map(partial(collect_invoice, svc), owed_instalment_invoices(svc, customer_id))
        if charge is not None
    ]
    for sub in svc.repo.list_subscriptions(customer_id) if listed is None else listed:
        if sub.status is SubscriptionStatus.CANCELED:
            continue
        for invoice in svc.repo.list_invoices(sub.id):
            if invoice.status is InvoiceStatus.OPEN:
                charge = collect_invoice(svc, invoice.id)
                if charge is not None:
                    charges.append(charge)
    return charges


def owed_instalment_invoices(svc: Services, customer_id: str) -> list[str]:
    """The invoices of the customer's standing installment plans still being collected."""
    owed = (InstalmentStatus.OPEN, InstalmentStatus.PAST_DUE)
    return [
        item.invoice_id
        for plan in svc.repo.list_installment_plans(customer_id)
        if plan.status is PlanStatus.ACTIVE
        for item in plan.instalments
        if item.invoice_id is not None and item.status in owed
    ]


def invoices_untried_since(svc: Services, customer_id: str, moment: datetime) -> list[Invoice]:
    """The customer's open, collectable invoices with no attempt at or after `moment`."""
    found = []
    for invoice_id in owed_instalment_invoices(svc, customer_id):
        owed = svc.repo.get_invoice(invoice_id)
        if owed is None or not owed.owed or owed.dispute_open:
            continue
        if owed.attempts and any(c.at >= moment for c in svc.repo.list_charges(owed.id)):
            continue
        found.append(owed)
    for sub in svc.repo.list_subscriptions(customer_id):
        if sub.status is SubscriptionStatus.CANCELED:
            continue
        for invoice in svc.repo.list_invoices(sub.id):
            if invoice.status is not InvoiceStatus.OPEN or invoice.total <= 0:
                continue
            if invoice.dispute_open:
                continue
            if invoice.attempts and any(c.at >= moment for c in svc.repo.list_charges(invoice.id)):
                continue
            found.append(invoice)
    return found


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
    _settle(
        svc,
        invoice,
        charge,
        result,
        at=at,
        markers=markers,
        subscription=subscription,
        mrr_read=mrr_read,
        links=_learn(svc, charge, result.payment_id),
    )


@dataclass(frozen=True, slots=True)
class CardUpdate:
    """What updating a payment method did. The method is stored whenever this is returned;
    `retry_pending` says retrying what was owed on it failed for now (a conflict with a
    renewal, the provider down): the dunning schedule retries on the new card."""

    method: PaymentMethod
    retry_pending: bool = False


def update_payment_method(
    svc: Services, customer_id: str, payment_method_id: str, provider: str, make_default: bool
) -> CardUpdate:
    """Attach a payment method; when it becomes the default, retry what is owed at once.

    The default sent again is no change, and retries nothing: a card that was declined hard
    or needed authentication is never charged again blindly (docs/dunning.md).

    Raises only when nothing was stored (a card the provider refuses, a lost race on the
    customer). Storing the card and retrying the invoices are separate commits, and a
    failure of the retry is returned as `retry_pending`, never raised: a caller told of a
    failure would send the card again, or tell the customer nothing happened."""
    refuse_card_number(payment_method_id)  # before the provider hears of the customer
    # A new subscription or plan of the customer's, made meanwhile, is no reason to refuse.
    stored = write_past_listings(
        svc,
        customer_id,
        lambda before: _store_card(svc, before, payment_method_id, provider, make_default),
    )
    method, before, pending = stored.method, stored.before, stored.change
    was_default = stored.was_default
    # The first method becomes the default unasked: what is stored decides, not the flag.
    # `before` is what is stored: attach_payment_method wrote it whole (at the version read,
    # so nothing came between), or found nothing to change on it.
    if was_default or before.default_payment_method != payment_method_id:
        return CardUpdate(method)
    try:
        collect_open_invoices(svc, customer_id, listed=pending.subscriptions_read.get(customer_id))
    except (DomainError, GatewayError) as exc:
        log.warning(
            "card saved, retry of what is owed failed",
            extra={"customer": customer_id, "error": type(exc).__name__},
        )
        return CardUpdate(method, retry_pending=True)
    return CardUpdate(method)


@dataclass(frozen=True, slots=True)
class _CardStored:
    """What storing a card did: the method, the customer as read for it and then written,
    whether the card was its default already, and the change committed."""

    method: PaymentMethod
    before: Customer
    was_default: bool
    change: Commit


def _store_card(
    svc: Services, before: Customer, payment_method_id: str, provider: str, make_default: bool
) -> _CardStored:
    """The card at the provider and in one commit with what it changes (`before` is the
    customer as read for it)."""
    refuse_erased(before, "attach a payment method to")  # nor of an erased one
    if before.provider is not None:
        provider = before.provider  # the method lives where the customer's provider keeps it
    was_default = before.default_payment_method == payment_method_id
    details = None
    # A provider customer made for this card is stored with the card, in one commit: a card
    # the provider refuses leaves no card behind; the provider customer it made is kept on
    # the customer alone (_left_behind), for an erasure to know of it.
    pending = Commit()
    had = before.provider_customer_id
    try:
        if svc.gateway is not None:
            details = _register_with_provider(svc, before, payment_method_id, pending)
        method = attach_payment_method(
            svc,
            before.id,
            payment_method_id,
            provider,
            make_default,
            details,
            customer=before,
            change=pending,
        )
    except (DomainError, GatewayError) as exc:
        if had is None:
            _left_behind(svc, before, exc)
        raise
    return _CardStored(method, before, was_default, pending)


def _register_with_provider(
    svc: Services, customer: Customer, payment_method_id: str, change: Commit
) -> CardDetails | None:
    """The provider must know the customer and hold the method before it can be charged.

    Both calls carry deterministic keys, so a retried request creates nothing twice. A new
    provider customer is added to `change`, for the caller to commit with the method."""
    gateway = svc.gateway_for(customer.provider)
    assert gateway is not None
    provider_customer_id = ensure_provider_customer(svc, customer, change)
    try:
        return gateway.attach_payment_method(
            provider_customer_id=provider_customer_id,
            payment_method=payment_method_id,
            idempotency_key=f"attach:{customer.id}:{payment_method_id}",
        )
    except InvalidRequestError as exc:
        raise ValidationFailedError(
            "payment_method", f"the provider refused it ({_code(exc)})"
        ) from exc


def ensure_provider_customer(
    svc: Services, customer: Customer, change: Commit | None = None
) -> str:
    """The provider's id of the customer, created (with a deterministic key) if need be, and
    stored: in `change` when given (the caller commits it), else at once.

    A new one is marked on the customer in a commit of its own before the provider is asked
    (provider_owed.mark_making), and the mark is cleared with the id stored: a request that
    dies between the provider's answer and its commit leaves the mark, for the due work and
    any erasure to learn the provider customer it made (docs/privacy.md)."""
    gateway = svc.gateway_for(customer.provider)
    assert gateway is not None
    if customer.provider_customer_id is None:
        refuse_erased(customer, "attach a payment method to")  # never made for an erased one
        provider_owed.mark_making(svc, customer, gateway.name)
        key = provider_owed.provider_customer_key(customer.id)
        try:
            made = provider_owed.create_provider_customer(gateway, customer, key)
        except InvalidRequestError as exc:
            if not isinstance(exc, IdempotencyConflictError):  # refused: nothing was made
                provider_owed.unmark_making(svc, customer)
            raise
        customer.provider_customer_id, customer.provider_customer_pending = made, None
        # The link lets webhooks about this provider customer find Tenure's.
        link = ProviderLink(gateway.name, made, customer.id)
        stored = change if change is not None else Commit()
        stored.provider_links.append(link)
        save_payer(svc, customer, stored)
        if change is None:
            try:
                svc.commit_with_notices(stored)
            except DomainError as exc:
                _left_behind(svc, customer, exc)
                raise
    return customer.provider_customer_id


def _left_behind(svc: Services, customer: Customer, exc: Exception) -> None:
    """The provider customer this request made for `customer` (read before it had one) was
    not stored with what the request wrote (`exc` says why): it is recorded on the customer
    alone, so that an erasure knows of it, and when the customer was erased meanwhile it is
    owed its erasure and the request is refused as for any erased customer
    (privacy.keep_left_behind). After a lost race (ConcurrencyError) only an erasure's: the
    request is made again from a fresh read (catalog.write_past_listings), which stores it,
    or answers 409, and a write of the customer here would turn the first into the second."""
    made = customer.provider_customer_id
    gateway = svc.gateway_for(customer.provider)
    if made is not None and gateway is not None:
        erased_only = isinstance(exc, ConcurrencyError)
        privacy.keep_left_behind(svc, customer.id, made, gateway.name, erased_only=erased_only)


def _code(exc: InvalidRequestError) -> str:
    return exc.code or "invalid_request"


# -- settling ---------------------------------------------------------------------------------
def _keep_claim(svc: Services, charge: Charge, links: Sequence[ProviderLink] = ()) -> None:
    """Record what we know (calls made, payment id) and leave the claim to the sweeper."""
    with contextlib.suppress(ConcurrencyError):
        # Already moved on: a webhook or the sweeper recorded more than we know.
        svc.commit_with_notices(Commit(charges=[charge], provider_links=list(links)))


def _settle_from_store(
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
        links = _learn(svc, stored, result.payment_id)
        try:
            _settle(svc, invoice, stored, result, at=at, links=links)
            return
        except ConcurrencyError:
            continue


def _settle(
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
        recorded = collection.record_payment(invoice, charge, sub, _plans(svc, sub), now)
        if was_unpaid and recorded.events:
            assert sub is not None
            cases.follow_invoice_paid(svc, sub, invoice, change)
        if sub is not None and recorded.events:
            _announce_renewal(svc, sub, charge, change, now)
    else:
        recorded = collection.record_failure(
            invoice, charge, sub, svc.policy, _plans(svc, sub), now, answered_at
        )
        _announce_retry(svc, invoice, charge, sub.timezone if sub else None, change, now)
    change.events.extend(event.to_event() for event in recorded.events)
    if isinstance(recorded.next, collection.FinalActionDue):
        assert sub is not None  # only a subscription's invoice is dunned
        _final_action(svc, sub, invoice, change, charge.at)  # the last attempt's moment
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
    from `answered_at`, as _settle says); when the retries run out the plan defaults."""
    plan = svc.repo.get_installment_plan(invoice.installment_plan_id or "")
    paid = 0
    if result.outcome is ChargeOutcome.SUCCEEDED:
        recorded = collection.record_payment(invoice, charge, None, _plans(svc, None), now)
        moved = plan is not None and plan.record_paid(invoice.id, now)
        paid = invoice.total if moved else 0
    else:
        recorded = collection.record_instalment_failure(
            invoice, charge, svc.policy, now, answered_at
        )
        moved = plan is not None and plan.record_failed(invoice.id, now)
        _announce_retry(svc, invoice, charge, None, change, now)
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


def _default_plan(svc: Services, invoice: Invoice) -> None:
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


def _final_action(
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


def _plans(svc: Services, sub: Subscription | None) -> collection.PlanLookup:
    """The plans a payment's outcome may price the subscription by (its MRR when it comes
    back or goes): the subscription's own plan priced for its seats and add-ons."""
    return partial(subscription_plan_lookup, svc, sub)
