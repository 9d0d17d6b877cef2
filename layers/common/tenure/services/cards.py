"""Card changes: a payment method stored at the provider and on the customer (with the
provider customer it needs), and what the customer owes retried on a new default."""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from tenure.domain.charges import Charge
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.errors import ConcurrencyError, DomainError, ValidationFailedError
from tenure.domain.installments import InstalmentStatus, PlanStatus
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.privacy import refuse_erased
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.payments.gateway import (
    CardDetails,
    GatewayError,
    IdempotencyConflictError,
    InvalidRequestError,
)
from tenure.ports import Commit, ProviderLink
from tenure.services import privacy, provider_owed
from tenure.services.catalog import (
    attach_payment_method,
    refuse_card_number,
    save_payer,
    write_past_listings,
)
from tenure.services.charging import collect_invoice, refusal_code
from tenure.services.context import Services

log = logging.getLogger(__name__)


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
            "payment_method", f"the provider refused it ({refusal_code(exc)})"
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
