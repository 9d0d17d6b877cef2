"""refund_invoice: give back some or all of what an invoice's payment took, once.

Exactly once without a claim: the n-th refund of an invoice goes to the provider under the
key `refund:{invoice}:{n}` (n counts the refunds the invoice knows of, those the provider
reported included), and is recorded with the invoice's version check and a refund item that
must not exist. Two requests racing for the same refund send the same key, so the provider
moves the money once and answers both with the same refund; one commit wins, the other
finds that refund on the invoice and answers with it. A crash between the provider's answer
and the commit is repaired by a retry (the same n, the same key: the provider replays) or
by the provider's webhook, which records the refund on the invoice.

A refund a cancellation asks for is first written as owed (`Invoice.refund_owed`) in the
cancellation's own commit, with its number n fixed, and is due work from then on: the
cancellation tries it at once, and the renewals schedule tries it again (`make_owed_refund`)
while the provider does not answer, under the same key each time, until it is recorded.
When the tries stop without a refund (the key's 23 hours ran out, or the provider refused
it), the owed refund stays on the invoice as failed and an InvoiceRefundFailed event says
so: a person decides, and the refunds they make through the API clear it.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenure.domain.audit import SYSTEM_API, AuditAction, AuditEntry, check_note, new_entry
from tenure.domain.charges import Charge, ChargeOutcome
from tenure.domain.credit_notes import credit_refund
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import (
    Invoice,
    OwedRefund,
    OwedRefundFailure,
    RefundStatus,
)
from tenure.domain.money import Money
from tenure.domain.programs import RefundPolicy
from tenure.domain.refunds import (
    Refund,
    RefundBasis,
    idempotency_key,
    policy_refund,
    refund_id,
    requested_refund,
)
from tenure.domain.timeutil import iso
from tenure.payments.gateway import (
    IdempotencyConflictError,
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from tenure.ports import Commit
from tenure.services import unused_credit
from tenure.services.context import Services
from tenure.services.programs import read_current_programs
from tenure.services.provider_events import refunds_reported

ATTEMPTS = 3
# An owed refund the provider did not answer is tried again after this, doubling, capped.
OWED_FIRST_WAIT = timedelta(minutes=10)
OWED_MAX_WAIT = timedelta(hours=2)
# The provider keeps a key's answer for 24 hours (Stripe prunes keys after that): a try past
# this could refund a second time, so the tries stop and the refund is left to a person.
OWED_KEY_KEPT = timedelta(hours=23)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RefundGivenUp:
    """The tries of an owed refund stopped without a refund: the invoice keeps it as failed."""

    invoice_id: str
    failure: OwedRefundFailure


class RefundRefusedError(IllegalTransitionError):
    """The provider refused the refund (it knows the payment as refunded already, or the key
    was taken by a different refund racing this one): nothing was refunded or written."""


def refund_invoice(
    svc: Services,
    invoice_id: str,
    *,
    amount: int | None = None,
    reason: str | None = None,
    note: str | None = None,
    policy: RefundPolicy | None = None,
    actor: str = SYSTEM_API,
) -> Refund:
    """Refund `amount` of the invoice's payment, or (None) what `policy` gives back now (with
    no policy: all that is left). Refused with nothing changed: an unknown invoice (404), an
    unpaid or fully refunded one (409), an amount over what is left (422), a policy that gives
    nothing back (422 on `amount`). The refund's audit entry names `actor` and is committed
    with the refund."""
    note = check_note(note, required=False)
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None:
        raise NotFoundError("invoice", invoice_id)
    if invoice.refund_owed is not None and invoice.refund_owed.pending:
        # It would take the owed refund's number, and so its key, for another amount.
        raise RefundRefusedError(
            "refund",
            "being refunded",
            "the refund its cancellation asked for is still being made; retry later",
        )
    used = unused_credit.used_credit(svc, invoice)
    value, basis = _amount(invoice, amount, policy, svc.clock.now(), used)
    if value <= 0:
        raise ValidationFailedError(
            "amount",
            "the refund policy gives nothing back for this invoice now; "
            "name an amount to refund anyway",
        )
    return _refund(svc, invoice, value, basis, reason, note, actor=actor)


def owe_refund_for_cancel(
    invoice: Invoice,
    basis: str,
    policy: RefundPolicy | None,
    reason: str | None,
    now: datetime,
    used: int = 0,
    stopped_at: datetime | None = None,
) -> bool:
    """Set on `invoice` the refund a cancellation asks for (`full` or `policy`) of an invoice
    it ends early, for the caller to commit with the cancellation; False when the policy gives
    nothing back or nothing is left to refund (the cancellation stands all the same). `used`:
    what of it was credited as unused time and used (not refundable); `stopped_at`: when a
    pause stopped the service, the moment the policy's prorated share is counted from."""
    chosen = None if basis == "full" else policy
    try:
        value, how = _amount(invoice, None, chosen, now, used, stopped_at)
    except IllegalTransitionError:
        return False  # nothing left to refund of it (refunded already): nothing to owe
    if value <= 0:
        return False
    number = len(invoice.refunds) + 1
    invoice.refund_owed = OwedRefund(
        number,
        value,
        str(how),
        reason,
        now,
        now + OWED_FIRST_WAIT,
        refunded_before=invoice.amount_refunded,
    )
    return True


def make_owed_refund(svc: Services, invoice_id: str) -> Refund | RefundGivenUp | None:
    """Make the refund the invoice owes, under its fixed key: the refund; or None when none
    is owed any more, or the provider did not answer (the next try is then scheduled); or
    RefundGivenUp when the provider refused it for good or the key's 23 hours ran out (the
    owed refund is kept as failed, with an event: a person decides). Safe to run twice at
    once: the same key makes one refund, one commit records it."""
    invoice = svc.repo.get_invoice(invoice_id)
    owed = invoice.refund_owed if invoice is not None else None
    if invoice is None or owed is None or not owed.pending:
        return None
    made = next(
        (
            r
            for r in svc.repo.list_refunds(invoice.id)
            if r.id == refund_id(invoice.id, owed.number)
        ),
        None,
    )
    now = svc.clock.now()
    if made is not None:
        return _settle_owed(svc, invoice, made)
    if now - owed.asked_at > OWED_KEY_KEPT:
        return _give_up(svc, invoice, owed, OwedRefundFailure.UNANSWERED)
    try:
        return _refund(
            svc, invoice, owed.amount, RefundBasis(owed.basis), owed.reason, None, owed.number
        )
    except (ProviderUnavailableError, RateLimitedError) as exc:
        logger.warning("owed refund not answered", extra={"invoice": invoice.id, "code": exc.code})
        last_safe = owed.asked_at + OWED_KEY_KEPT
        if now >= last_safe:
            return _give_up(svc, invoice, owed, OwedRefundFailure.UNANSWERED)
        wait = min(OWED_FIRST_WAIT * 2 ** (owed.tries + 1), OWED_MAX_WAIT, last_safe - now)
        invoice.refund_owed = owed.tried_again(now, wait)
        _commit_quietly(svc, invoice)
        return None
    except (RefundRefusedError, IllegalTransitionError) as exc:
        logger.error(
            "owed refund refused", extra={"invoice": invoice.id, "error": type(exc).__name__}
        )
        return _give_up(svc, invoice, owed, OwedRefundFailure.REFUSED)


def _settle_owed(svc: Services, invoice: Invoice, made: Refund) -> Refund:
    invoice.refund_owed = None
    _commit_quietly(svc, invoice)
    return made


def _give_up(
    svc: Services, invoice: Invoice, owed: OwedRefund, failure: OwedRefundFailure
) -> RefundGivenUp | None:
    """Stop the tries: the owed refund stays on the invoice as failed, no longer due, and an
    event tells the business's application (and the operator's alarm) that money the
    customer was promised did not go back. None when another writer moved the invoice
    meanwhile: the due item, read again, decides."""
    now = svc.clock.now()
    logger.error(
        "owed refund given up",
        extra={"invoice": invoice.id, "tries": owed.tries, "failure": str(failure)},
    )
    invoice.refund_owed = owed.given_up(now, failure)
    event = DomainEvent(
        EventType.INVOICE_REFUND_FAILED,
        invoice.id,
        invoice.customer_id,
        now,
        owed.number,
        {
            "refund": refund_id(invoice.id, owed.number),
            "amount": owed.amount,
            "currency": invoice.currency,
            "policy": owed.basis,
            "reason": owed.reason,
            "failure": str(failure),
            "tries": owed.tries,
            "asked_at": iso(owed.asked_at),
        },
    )
    if not _commit_quietly(svc, invoice, [event]):
        return None
    return RefundGivenUp(invoice.id, failure)


def _commit_quietly(
    svc: Services, invoice: Invoice, events: list[DomainEvent] | None = None
) -> bool:
    """Write the owed refund's new state; a conflict means another writer changed the
    invoice meanwhile (a webhook, a racing try): the due item is read again next run."""
    try:
        svc.commit(Commit(invoices=[invoice], events=events or []))
        return True
    except ConcurrencyError:
        logger.info("owed refund state moved meanwhile", extra={"invoice": invoice.id})
        return False


def list_refunds(svc: Services, invoice_id: str) -> list[Refund]:
    return svc.repo.list_refunds(invoice_id)


def _amount(
    invoice: Invoice,
    amount: int | None,
    policy: RefundPolicy | None,
    now: datetime,
    used: int = 0,
    stopped_at: datetime | None = None,
) -> tuple[int, RefundBasis]:
    if amount is not None:
        return requested_refund(invoice, amount, used)
    return policy_refund(invoice, policy, now, used, stopped_at)


def _refund(
    svc: Services,
    invoice: Invoice,
    value: int,
    basis: RefundBasis,
    reason: str | None,
    note: str | None,
    number: int | None = None,
    actor: str | None = None,
) -> Refund:
    """`actor`: who asked, for the audit entry committed with the refund (None: an owed
    refund the schedule makes, which writes none)."""
    charge = _paying_charge(svc, invoice)
    gateway = svc.gateway_for(charge)
    if gateway is None or charge.payment_id is None:
        raise IllegalTransitionError(
            "refund", "paid", "its payment was not made through a provider", entity="invoice"
        )
    n = number if number is not None else len(invoice.refunds) + 1
    try:
        provider_refund_id = gateway.refund(
            payment_id=charge.payment_id,
            amount=Money(value, invoice.currency),
            idempotency_key=idempotency_key(invoice.id, n),
        )
    except IdempotencyConflictError as exc:
        raise RefundRefusedError(
            "refund", "being refunded", "another refund of it is being made; retry"
        ) from exc
    except InvalidRequestError as exc:
        raise RefundRefusedError("refund", "paid", f"the provider refused: {exc}") from exc
    now = svc.clock.now()
    record = Refund(
        id=refund_id(invoice.id, n),
        invoice_id=invoice.id,
        subscription_id=invoice.subscription_id,
        customer_id=invoice.customer_id,
        charge_id=charge.id,
        payment_id=charge.payment_id,
        provider_refund_id=provider_refund_id,
        amount=value,
        currency=invoice.currency,
        at=now,
        basis=basis,
        reason=reason,
        note=note,
    )
    return _record(svc, invoice, record, actor)


def _audit(invoice: Invoice, record: Refund, actor: str | None, before: int) -> list[AuditEntry]:
    if actor is None:
        return []
    summary = {"status": str(invoice.status), "currency": invoice.currency}
    return [
        new_entry(
            at=record.at,
            actor=actor,
            action=AuditAction.REFUND,
            entity=invoice.id,
            customer_id=invoice.customer_id,
            note=record.note,
            reference=record.id,
            before=summary | {"amount_refunded": before},
            after=summary | {"amount_refunded": before + record.amount},
            nonce=record.id,
        )
    ]


def _record(svc: Services, invoice: Invoice, record: Refund, actor: str | None = None) -> Refund:
    """Record a refund the provider made, with the invoice. The money has moved: a lost
    commit is never answered by refunding again, only by recording the same refund on the
    invoice as it now stands (unless a racing request or the provider's webhook did)."""
    for attempt in range(ATTEMPTS):
        n = int(record.id.rsplit("_", 1)[1])
        if invoice.refund_owed is not None and (
            invoice.refund_owed.number == n or not invoice.refund_owed.pending
        ):
            # Made (or, for one that failed, a person refunded instead): no longer owed.
            invoice.refund_owed = None
        if record.provider_refund_id in invoice.refunds:
            # The provider's webhook recorded it before this try (an owed refund replayed
            # under its key): its event and receipt are planned; only the record is missing.
            before = invoice.amount_refunded - invoice.refunds[record.provider_refund_id].amount
            audit = _audit(invoice, record, actor, before)
            svc.commit(Commit(invoices=[invoice], refunds=[record], audit=audit))
            return record
        audit = _audit(invoice, record, actor, invoice.amount_refunded)
        # Pending until the provider's webhook says it succeeded; a pending refund counts.
        invoice.record_refund(
            record.provider_refund_id, record.amount, RefundStatus.PENDING, record.at
        )
        event = DomainEvent(
            EventType.INVOICE_REFUNDED,
            invoice.id,
            invoice.customer_id,
            record.at,
            n,
            {
                "amount_refunded": invoice.amount_refunded,
                "refund_status": invoice.refund_status,
                "currency": invoice.currency,
                "amount": record.amount,
                "refund": record.id,
                "policy": str(record.basis),
                "reason": record.reason,
            }
            # After a refund of it failed, the receipt is keyed by all ever reported: a
            # refund of the failed one's amount is told, not taken for the failed one's.
            | refunds_reported(invoice),
        )
        change = Commit(invoices=[invoice], refunds=[record], events=[event], audit=audit)
        credited = credit_refund(
            invoice, record.amount, record.at, (record.id, record.provider_refund_id)
        )
        change.credit_notes.extend(filter(None, [credited]))
        # The credit the invoice's unused time left on the subscription goes with the refund.
        holder = unused_credit.take_back_refunded(svc, invoice, record.amount, record.at)
        if holder is not None:
            change.add_subscription(holder)
        try:
            svc.commit_with_notices(change)
            return record
        except (ConcurrencyError, AlreadyExistsError):
            for made in svc.repo.list_refunds(invoice.id):
                if made.provider_refund_id == record.provider_refund_id:
                    return made  # a request racing this one under the same key recorded it
            fresh = svc.repo.get_invoice(invoice.id)
            if fresh is None or attempt == ATTEMPTS - 1:
                raise
            if record.provider_refund_id in fresh.refunds:
                # The provider's webhook came first: the invoice holds the refund and its
                # receipt is planned; only the record is missing.
                if fresh.refund_owed is not None and (
                    fresh.refund_owed.number == n or not fresh.refund_owed.pending
                ):
                    fresh.refund_owed = None
                before = fresh.amount_refunded - fresh.refunds[record.provider_refund_id].amount
                audit = _audit(fresh, record, actor, before)
                svc.commit(Commit(invoices=[fresh], refunds=[record], audit=audit))
                return record
            invoice = fresh
    raise AssertionError("unreachable")  # pragma: no cover


def _paying_charge(svc: Services, invoice: Invoice) -> Charge:
    paid = [c for c in svc.repo.list_charges(invoice.id) if c.outcome is ChargeOutcome.SUCCEEDED]
    if not paid:
        raise IllegalTransitionError(
            "refund", "paid", "no payment of it was taken through the provider", entity="invoice"
        )
    return paid[-1]


def configured_policy(svc: Services) -> RefundPolicy | None:
    """The business's refund policy (`programs.refunds`); None while none is configured.
    Read as stored now, past the copy a container keeps for renewals: money moves by it, and
    with that copy a refund in the minute after a policy change followed the old one."""
    return read_current_programs(svc).programs.refunds
