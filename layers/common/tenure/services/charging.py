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
anything retries it (services.charging_reconcile). A timeout is `unknown`, never a failure.
Debits on a mandate are gated in services.charging_mandates, the outcome is recorded by
services.charging_settle, and card changes are services.cards'.
"""

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum

from tenure.domain import collection, mandates
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.customers import Customer, Payer
from tenure.domain.due import DueKind
from tenure.domain.errors import ConcurrencyError
from tenure.domain.installments import InstallmentPlan, PlanStatus
from tenure.domain.invoices import Invoice
from tenure.domain.money import Money
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.payments.gateway import (
    GatewayError,
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentResult,
)
from tenure.ports import Commit
from tenure.services.charging_mandates import HOLD, mandate_gate
from tenure.services.charging_settle import (
    LEASE,
    default_plan,
    final_action,
    give_up,
    learn,
    plans,
    settle,
    settle_from_store,
)
from tenure.services.context import Services

NOT_CHARGES = (DueKind.REFUND, DueKind.CREDIT)  # an invoice's due work that charges nothing


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
    return _collect(svc, Collection(invoice, sub, customer=customer, unsaved=creating))


def charge_new_invoice_from_copy(
    svc: Services, invoice: Invoice, sub: Subscription, creating: Commit
) -> Charge | None:
    """As `charge_new_invoice`, with the payment method the subscription's copy of its
    payer names (when it names one), without reading the customer. The claim checks the copy
    against the customer, and a copy that was wrong fails it (ConcurrencyError) before any
    money moves: the caller must start again from a fresh read."""
    return _collect(svc, Collection(invoice, sub, from_copy=True, unsaved=creating))


def collect_invoice(svc: Services, invoice_id: str, at: datetime | None = None) -> Charge | None:
    """Charge a stored open invoice once, now, with the customer's default payment method.

    `at` dates the attempt when it answers a provider fact of that moment (a card the
    provider updated, reported by webhook): a late delivery then records what an on-time one
    would have. Without it, the attempt is dated now."""
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None:
        return None
    return _collect(svc, Collection(invoice, at=at))


def retry_invoice(svc: Services, invoice_id: str) -> Charge | None:
    """A scheduled dunning retry (or the end of dunning) came due."""
    invoice = svc.repo.get_invoice(invoice_id)
    due = invoice.next_due() if invoice is not None else None
    if invoice is None or due is None or due[0] > svc.clock.now() or due[1] in NOT_CHARGES:
        return None  # (an owed refund and a credit are not charges: services.due routes them)
    if due[1] is DueKind.DUNNING_END:
        end_dunning(svc, invoice)
        return None
    return _collect(svc, Collection(invoice))


def retry_invoice_now(svc: Services, invoice: Invoice, with_claim: Commit) -> Charge | None:
    """Charge a stored open invoice now, by the money path's own steps, with `with_claim`
    (an operator's audit entry) committed in the claim's transaction: written only when an
    attempt is claimed. None: it could not be charged now (nothing claimed)."""
    return _collect(svc, Collection(invoice, with_claim=with_claim))


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
    charge = _collect(svc, Collection(invoice, plan=plan, unsaved=creating))
    held = invoice.next_attempt_at is not None  # a debit on a mandate waiting for its notice
    if charge is None and invoice.owed and invoice.attempts == 0 and not held:
        await_payment_method(svc, invoice.id)  # no card on file: dunned like a hard decline
    return charge


def end_dunning(svc: Services, invoice: Invoice) -> None:
    """Retries ran out (or the customer never gave a new card): apply the final action."""
    if invoice.installment_plan_id:
        default_plan(svc, invoice)
        return
    sub = svc.repo.get_subscription(invoice.subscription_id)
    change = Commit()
    ended = invoice.dunning_ends_at or svc.clock.now()  # the deadline, when it ran late too
    invoice.next_attempt_at = None
    invoice.dunning_ends_at = None
    if sub is not None:
        final_action(svc, sub, invoice, change, ended)
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
        invoice, sub, svc.policy, plans(svc, sub), svc.clock.now()
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
class Collection:
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


def _collect(svc: Services, c: Collection) -> Charge | None:
    """Charge `c.invoice` once. An attempt given up on an idempotency conflict is followed at
    once by the next attempt number, which charges the invoice as it is now; a second
    conflict in a row is left to the schedule."""
    charge, created = _attempt(svc, c)
    if created is _Created.CONFLICT:
        # The given-up attempt is stored (due at once, should this worker die now).
        charge, _ = _attempt(svc, c)
    return charge


def _attempt(svc: Services, c: Collection) -> tuple[Charge | None, _Created | None]:
    """One attempt: ready, claim, pay (one request), settle."""
    payer = _ready(svc, c)
    if payer is None:
        return None, None
    assert svc.gateway is not None  # checked by _ready
    verdict = mandate_gate(svc, c, payer)
    if verdict is HOLD:
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
        declined = PaymentResult("", ChargeOutcome.DECLINED, refusal_code(answer))
        settle(svc, invoice, charge, declined, at=c.at, subscription=c.sub)
    elif created is _Created.CONFLICT:
        # The key was first used with other parameters: by a release that created the
        # payment unconfirmed and died before claiming it (this attempt number was free), so
        # that payment is never confirmed. Give the attempt number up; the next is due now.
        give_up(svc, invoice, charge, now)
    # UNKNOWN (no answer): maybe charged. The claim as stored (its one call counted) is all
    # there is to know; the sweeper asks the provider when its lease ends.
    return charge, created


def _ready(svc: Services, c: Collection) -> Payer | None:
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


def _ready_instalment(svc: Services, c: Collection, plan_id: str) -> Payer | None:
    """As `_ready`, for an instalment's invoice: its plan must stand (a defaulted plan's
    invoice is written off, never charged), and the customer's own card pays."""
    plan = c.plan = c.plan or svc.repo.get_installment_plan(plan_id)
    if plan is not None and plan.status is PlanStatus.DEFAULTED and c.unsaved is None:
        # An instalment invoiced before an earlier one defaulted the plan (weekly plans):
        # written off as that one was, rather than left open with nothing due.
        default_plan(svc, c.invoice)
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
            customer_id=charge.provider_customer or provider_customer(payer, charge),
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


def _pay(
    svc: Services, charge: Charge, payer: Payer
) -> tuple[_Created, PaymentResult | InvalidRequestError | None]:
    """2. pay, once claimed: the provider's answer, or why there is none."""
    try:
        return _Created.CREATED, pay_request(svc, charge, payer)
    except IdempotencyConflictError:
        return _Created.CONFLICT, None
    except InvalidRequestError as exc:
        return _Created.REFUSED, exc
    except GatewayError:
        return _Created.UNKNOWN, None


def pay_request(svc: Services, charge: Charge, payer: Payer | None) -> PaymentResult:
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
        customer_id=charge.provider_customer or provider_customer(payer, charge),
        payment_method=payment_method,
        invoice_id=charge.invoice_id,
        attempt=charge.attempt,
        idempotency_key=f"{charge.idempotency_key}:create",
        subscription_id=charge.subscription_id,
        tenure_customer_id=charge.customer_id,
    )


def provider_customer(payer: Payer | None, charge: Charge) -> str:
    return (payer.provider_customer_id if payer is not None else None) or charge.customer_id


def _claim(svc: Services, c: Collection, charge: Charge, payer: Payer) -> None:
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


def _copy_is_current(c: Collection) -> bool:
    """Whether the subscription's copy of the payer is surely the customer's without a check:
    the claim writes the subscription at the version the copy was read with, and its customer
    lists it, so no card change has passed it by (Subscription.listed)."""
    sub, creating = c.sub, c.unsaved
    if sub is None or not sub.listed or creating is None:
        return False
    return any(s is sub for s in creating.subscriptions)


def _record(svc: Services, c: Collection, charge: Charge, result: PaymentResult) -> None:
    """3. settle what the provider answered, with the payment id: now, or by the sweeper;
    never surfaced as the caller's failure."""
    links = learn(svc, charge, result.payment_id)
    try:
        settle(svc, c.invoice, charge, result, at=c.at, subscription=c.sub, links=links)
    except ConcurrencyError:
        settle_from_store(svc, charge, result, c.at)


def _writes(change: Commit, sub: Subscription) -> bool:
    return any(s is sub for s in change.subscriptions)


def _stop_collecting(svc: Services, c: Collection, keep_deadline: bool) -> None:
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


def refusal_code(exc: InvalidRequestError) -> str:
    return exc.code or "invalid_request"
