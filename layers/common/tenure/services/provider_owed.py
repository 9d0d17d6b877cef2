"""What a customer's payment provider is still owed after Tenure committed a change, done by
the due work (DueKind.PROVIDER_PHONE, DueKind.REGISTRATION_REFUND) and never inside the
request that made it owed: a provider that does not answer delays it (doubling waits) and
cannot undo or lose the change; one that refuses for good leaves it for a person.

- A phone given, changed or removed after the provider's customer was made is sent there
  (Razorpay reads its customer's `contact` on every recurring payment).
- The payment that authorised a new mandate (Razorpay's ₹1 registration, captured) is
  recorded among the customer's charges before the mandate is attached, and refunded in
  full under one idempotency key: whatever crashes or repeats, it is refunded once."""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from tenure.domain.audit import (
    SYSTEM_PORTAL,
    SYSTEM_RENEWALS,
    SYSTEM_WEBHOOKS,
    AuditAction,
    AuditEntry,
    new_entry,
)
from tenure.domain.customers import Customer
from tenure.domain.due import DueKind
from tenure.domain.errors import ConcurrencyError
from tenure.domain.money import Money
from tenure.domain.provider_owed import PhoneSync, RegistrationPayment, next_wait
from tenure.payments.gateway import (
    GatewayError,
    PaymentGateway,
    ProviderUnavailableError,
    RateLimitedError,
    ReportedRegistration,
    VerifiedMandate,
)
from tenure.ports import Commit, Marker
from tenure.services.catalog import get_customer
from tenure.services.context import Services, UnknownProviderError

logger = logging.getLogger(__name__)

# A registration is recorded against the customer's version: a concurrent write is read again.
RECORD_TRIES = 2


def owe_phone(before: Customer, after: Customer, now: datetime) -> None:
    """Make the phone `after` carries owed at the provider, when the provider's customer
    exists already (one made later is created with it) and the phone changed."""
    if before.provider_customer_id is None or before.phone == after.phone:
        return
    after.phone_sync = PhoneSync(phone=after.phone, asked_at=now, next_try_at=now)


def work_owed(svc: Services, customer_id: str, kind: DueKind) -> None:
    """Do the provider work of `kind` the customer is owed now (nothing when none is)."""
    if kind is DueKind.PROVIDER_PHONE:
        send_phone(svc, customer_id)
    elif kind is DueKind.REGISTRATION_REFUND:
        refund_registrations(svc, customer_id)


def _gateway(svc: Services, customer: Customer) -> PaymentGateway:
    gateway = svc.gateway_for(customer.provider)
    if gateway is None:  # its record is out of this deployment's reach: a person decides
        raise UnknownProviderError(customer.provider or "default", svc.provider_names())
    return gateway


def send_phone(svc: Services, customer_id: str) -> PhoneSync | None:
    """Send the customer's phone to the provider's customer: the sync as it now stands, or
    None when none was owed (another worker sent it, the customer was erased meanwhile: the
    erasure overwrites the provider's phone, or is gone)."""
    customer = svc.repo.get_customer(customer_id)
    sync = customer.phone_sync if customer is not None else None
    if customer is None or sync is None or not sync.pending:
        return None
    if customer.erased_at is not None or customer.provider_customer_id is None:
        customer.phone_sync = None
        return _save(svc, customer, None)
    now = svc.clock.now()
    provider_customer_id = customer.provider_customer_id

    def send() -> PhoneSync:
        _gateway(svc, customer).update_phone(
            provider_customer_id=provider_customer_id,
            phone=sync.phone,
            idempotency_key=f"phone:{customer.id}:{sync.idempotency_key_suffix}",
        )
        return sync.done(now)

    customer.phone_sync = owed_call(sync, now, send, "provider phone", logger)
    return _save(svc, customer, customer.phone_sync)


class Owed[T](Protocol):
    """What the provider is owed, tried until it answers: an erasure, a phone, a refund."""

    @property
    def tries(self) -> int: ...
    def tried_again(self, now: datetime, wait: timedelta) -> T: ...
    def refused(self, code: str) -> T: ...


def owed_call[T](
    owed: Owed[T], now: datetime, call: Callable[[], T], what: str, log: logging.Logger
) -> T:
    """Make the provider `call` that settles `owed` (its answer: the settled state). One not
    answered (a timeout, rate limited) is tried again after the doubling wait; one refused
    for good is left refused, its code kept, for a person."""
    try:
        return call()
    except (ProviderUnavailableError, RateLimitedError) as exc:
        log.warning(f"{what} not answered", extra={"code": exc.code})
        return owed.tried_again(now, next_wait(owed.tries))
    except (GatewayError, UnknownProviderError) as exc:
        code = getattr(exc, "code", None) or type(exc).__name__
        log.error(f"{what} refused", extra={"code": code})
        return owed.refused(str(code))


def _save[T](
    svc: Services, customer: Customer, result: T, change: Commit | None = None
) -> T | None:
    change = change if change is not None else Commit()
    change.customers.append(customer)
    try:
        svc.commit(change)
    except ConcurrencyError:  # moved meanwhile: the due item, read again, decides
        logger.info("provider work moved meanwhile")
        return None
    return result


def record_registration(
    svc: Services, customer_id: str, verified: VerifiedMandate
) -> RegistrationPayment:
    """Record the payment that authorised a new mandate, owed a refund from this commit on,
    before the mandate is attached: a crash after it still ends refunded. Recording the
    same payment again (a double submit) changes nothing."""
    return _record_once(svc, customer_id, verified, SYSTEM_PORTAL, ())[0]


def record_reported_registration(
    svc: Services, reported: ReportedRegistration, markers: Sequence[Marker]
) -> bool:
    """Record a registration payment the provider reported by webhook (read back from it:
    `reported`), as the card page would have, with `markers` in the same commit; owed a
    refund from then on. False when it was recorded already (the page's answer came, or an
    earlier delivery): nothing is written."""
    return _record_once(svc, reported.tenure_customer_id, reported, SYSTEM_WEBHOOKS, markers)[1]


def _record_once(
    svc: Services,
    customer_id: str,
    paid: VerifiedMandate | ReportedRegistration,
    actor: str,
    markers: Sequence[Marker],
) -> tuple[RegistrationPayment, bool]:
    for _ in range(RECORD_TRIES):
        try:
            return _record(svc, customer_id, paid, actor, markers)
        except ConcurrencyError:  # a concurrent submit (or another change) wrote first
            logger.info("registration record moved meanwhile")
    return _record(svc, customer_id, paid, actor, markers)


def _record(
    svc: Services,
    customer_id: str,
    verified: VerifiedMandate | ReportedRegistration,
    actor: str,
    markers: Sequence[Marker],
) -> tuple[RegistrationPayment, bool]:
    customer = get_customer(svc, customer_id)
    for known in customer.registrations:
        if known.payment_id == verified.payment_id:
            return known, False
    now = svc.clock.now()
    paid = RegistrationPayment(
        payment_id=verified.payment_id,
        order_id=verified.order_id,
        amount=verified.amount.amount_minor,
        currency=verified.amount.currency,
        at=now,
        next_try_at=now,
    )
    customer.registrations = (*customer.registrations, paid)
    entry = new_entry(
        at=now,
        actor=actor,
        action=AuditAction.MANDATE_REGISTERED,
        entity=paid.charge_id,
        customer_id=customer.id,
        note=None,
        before={},
        after={
            "payment": paid.payment_id,
            "amount": paid.amount,
            "currency": paid.currency,
            "refund": "owed",
        },
    )
    svc.commit(Commit(customers=[customer], audit=[entry], markers=list(markers)))
    return paid, True


def refund_registrations(svc: Services, customer_id: str) -> list[RegistrationPayment] | None:
    """Refund each registration payment owed a refund now, in full, under its own key (the
    provider moves the money once however often this runs). None when nothing was owed or
    another worker moved the customer meanwhile."""
    customer = svc.repo.get_customer(customer_id)
    if customer is None:
        return None
    now = svc.clock.now()
    owed = [r for r in customer.registrations if r.pending and r.next_try_at <= now]
    if not owed:
        return None
    change = Commit()
    settled: dict[str, RegistrationPayment] = {}
    for paid in owed:
        settled[paid.payment_id] = after = _refund_one(svc, customer, paid, now)
        if not after.pending:
            change.audit.append(_refund_entry(customer, after, now))
    customer.registrations = tuple(settled.get(r.payment_id, r) for r in customer.registrations)
    return _save(svc, customer, list(settled.values()), change)


def _refund_one(
    svc: Services, customer: Customer, paid: RegistrationPayment, now: datetime
) -> RegistrationPayment:

    def refund() -> RegistrationPayment:
        refund_id = _gateway(svc, customer).refund(
            payment_id=paid.payment_id,
            amount=Money(paid.amount, paid.currency),
            idempotency_key=paid.refund_key,
        )
        return paid.refunded(refund_id, now)

    return owed_call(paid, now, refund, "registration refund", logger)


def _refund_entry(customer: Customer, paid: RegistrationPayment, now: datetime) -> AuditEntry:
    refunded = paid.failure is None
    return new_entry(
        at=now,
        actor=SYSTEM_RENEWALS,
        action=AuditAction.REFUND,
        entity=paid.charge_id,
        customer_id=customer.id,
        note=None,
        before={"refund": "owed"},
        after={
            "refund": "refunded" if refunded else "refused",
            "amount": paid.amount if refunded else 0,
            "currency": paid.currency,
            "provider_refund_id": paid.refund_id,
            "failure": paid.failure,
        },
        nonce=f"registration:{paid.payment_id}",
    )
