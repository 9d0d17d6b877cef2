"""What a customer's payment provider is still owed after Tenure committed a change, done by
the due work (DueKind.PROVIDER_PHONE, DueKind.REGISTRATION_REFUND) and never inside the
request that made it owed: a provider that does not answer delays it (doubling waits) and
cannot undo or lose the change; one that refuses for good leaves it for a person.

- A phone given, changed or removed after the provider's customer was made is sent there
  (Razorpay reads its customer's `contact` on every recurring payment).
- The payment that authorised a new mandate (Razorpay's ₹1 registration, captured) is
  recorded among the customer's charges before the mandate is attached, and refunded in
  full under one idempotency key: whatever crashes or repeats, it is refunded once.
- A provider customer is marked as being made before the provider is asked to make it
  (`Customer.provider_customer_pending`, DueKind.PROVIDER_CUSTOMER): a request that dies
  after the provider answered leaves the mark, and the due work replays the same call under
  the same key, which answers the same customer, and stores it (docs/privacy.md)."""

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
    Summary,
    new_entry,
)
from tenure.domain.customers import Customer
from tenure.domain.due import DueKind
from tenure.domain.errors import ConcurrencyError
from tenure.domain.money import Money
from tenure.domain.privacy import refuse_erased
from tenure.domain.provider_owed import (
    PhoneSync,
    ProviderCustomerPending,
    RegistrationPayment,
    next_wait,
)
from tenure.payments.gateway import (
    GatewayError,
    PaymentGateway,
    ProviderUnavailableError,
    RateLimitedError,
    ReportedRegistration,
    VerifiedMandate,
)
from tenure.ports import Commit, Marker, ProviderLink
from tenure.services.catalog import get_customer, save_payer
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
    elif kind is DueKind.PROVIDER_CUSTOMER:
        record_provider_customer(svc, customer_id)


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


# -- a provider customer being made -------------------------------------------------------------
def provider_customer_key(customer_id: str) -> str:
    """The key of the call that makes the customer's provider customer: one per customer, so
    every request (and every replay) within the provider's 24 hours gets the same one."""
    return f"customer:{customer_id}"


def create_provider_customer(gateway: PaymentGateway, customer: Customer, key: str) -> str:
    """Ask the provider to make the customer's provider customer under `key`: the one call a
    request and a replay both make, so that the replay is the identical request (a key
    refuses a changed one)."""
    # The phone only when given: a gateway is asked exactly as before otherwise.
    contact = {"contact": customer.phone} if customer.phone else {}
    return gateway.create_customer(
        customer_id=customer.id,
        email=customer.email,
        name=customer.name or None,
        idempotency_key=key,
        **contact,
    )


def mark_making(svc: Services, customer: Customer, provider: str) -> None:
    """Commit on `customer` (read for the request) that a provider customer is being made at
    `provider`, before the provider is called: written once for a customer's first card, and
    cleared by the commit that stores the provider's id. A mark a request that died left
    (same key, still replayable) is kept: this request's call is its replay. Raises
    ConcurrencyError when the customer moved since it was read (nothing was asked of the
    provider).

    Not counted as the request's write (Services.commits), as keep_left_behind's: a request
    refused after it (a card the provider refuses) wrote nothing of its own."""
    now = svc.clock.now()
    key = provider_customer_key(customer.id)
    before = customer.provider_customer_pending
    if before is not None and before.pending and before.replayable(now):
        return  # written by a request that died, under this same key: this call replays it
    change = Commit(customers=[customer])
    if before is not None and before.pending:  # its key may be gone: say so before it goes
        change.audit.append(_making_entry(customer, before.refused("replay_window_passed"), now))
        logger.error("provider customer left unresolved", extra={"code": "replay_window_passed"})
    customer.provider_customer_pending = ProviderCustomerPending.written(provider, key, now)
    try:
        svc.repo.commit(change)  # the store moves `customer`'s version with it
    except ConcurrencyError:
        customer.provider_customer_pending = before
        # Erased since it was read: refused as for any erased customer, the provider unasked.
        refuse_erased(get_customer(svc, customer.id), "attach a payment method to")
        raise


def unmark_making(svc: Services, customer: Customer) -> None:
    """Clear the mark mark_making wrote: the provider refused to make the customer, so
    nothing is unknown. A customer moved meanwhile keeps it: the due work's replay is
    refused the same way and leaves it for a person."""
    customer.provider_customer_pending = None
    try:
        svc.repo.commit(Commit(customers=[customer]))
    except ConcurrencyError:
        logger.info("provider customer mark moved meanwhile")


def replay_making(
    svc: Services, customer: Customer, now: datetime
) -> ProviderCustomerPending | None:
    """Learn the provider customer `customer`'s mark stands for by making the same call again
    under the same key: the provider answers the customer it made (and makes it, when the
    first call never reached it). None: learned, its id on `customer` and the mark cleared
    (the caller commits both with the id's link). Else the mark as it now stands on
    `customer`: tried again later (the provider did not answer), or unresolved (`failure`:
    the key may be gone, the provider refused the replay, or the customer was erased and the
    replay could no longer be identical), for a person."""
    making = customer.provider_customer_pending
    assert making is not None and making.pending
    if customer.erased_at is not None:
        settled = making.refused("customer_erased")
    elif not making.replayable(now):
        settled = making.refused("replay_window_passed")
    else:

        def replay() -> ProviderCustomerPending:
            gateway = _gateway(svc, customer)
            made = create_provider_customer(gateway, customer, making.idempotency_key)
            customer.provider_customer_id = made
            return making

        settled = owed_call(making, now, replay, "provider customer replay", logger)
    if customer.provider_customer_id is not None:
        customer.provider_customer_pending = None
        return None
    customer.provider_customer_pending = settled
    return settled


def record_provider_customer(svc: Services, customer_id: str) -> ProviderCustomerPending | None:
    """The due work of a mark a request left (DueKind.PROVIDER_CUSTOMER): the provider
    customer learned by the replay and stored with its link, as the request would have (None
    returned), or the mark as it now stands (tried again later, or unresolved: an audit
    entry and an error line say so, and it is no longer due). None also when nothing was
    owed or another worker moved the customer meanwhile."""
    customer = svc.repo.get_customer(customer_id)
    making = customer.provider_customer_pending if customer is not None else None
    if customer is None or making is None or not making.pending:
        return None
    now = svc.clock.now()
    if customer.provider_customer_id is not None:  # stored meanwhile: nothing is unknown
        customer.provider_customer_pending = None
        return _save(svc, customer, None)
    settled = replay_making(svc, customer, now)
    change = Commit()
    if settled is None and customer.provider_customer_id is not None:
        made = customer.provider_customer_id
        change.provider_links.append(ProviderLink(making.provider, made, customer.id))
        change.audit.append(_making_entry(customer, making, now, recorded=made))
        save_payer(svc, customer, change)  # the customer, and its subscriptions' copies
        logger.info("provider customer of a request that died recorded")
        try:
            svc.commit(change)
        except ConcurrencyError:  # moved meanwhile: the due item, read again, decides
            logger.info("provider work moved meanwhile")
        return None
    assert settled is not None
    if not settled.pending:
        change.audit.append(_making_entry(customer, settled, now))
        logger.error("provider customer left unresolved", extra={"code": settled.failure})
    return _save(svc, customer, settled, change)


def _making_entry(
    customer: Customer, making: ProviderCustomerPending, now: datetime, recorded: str = ""
) -> AuditEntry:
    after: Summary = (
        {"provider_customer": "recorded", "provider_customer_id": recorded}
        if recorded
        else {"provider_customer": "unresolved", "failure": making.failure}
    )
    return new_entry(
        at=now,
        actor=SYSTEM_RENEWALS,
        action=AuditAction.PROVIDER_CUSTOMER,
        entity=customer.id,
        customer_id=customer.id,
        note=None,
        before={"provider_customer": "unknown", "since": making.at.isoformat()},
        after=after,
        nonce=f"provider-customer:{making.at.isoformat()}",
    )
