"""A new mandate's registration payment that the provider reported by webhook, recorded and
owed its refund as the card page records it, for when Checkout's answer never reached the
page (the customer closed the browser after paying, the network dropped).

Only the payment's id is taken from the webhook. The payment and its order are read back
from the provider, and the order must be a registration Tenure made for a customer of this
deployment who pays through that provider, as that customer's own provider customer: a
forged or foreign order records nothing. The page and the webhook may come in either order
or race: the payment is recorded once, by its id (`provider_owed`).

The mandate the payment made is not attached from here. The customer never saw the page
confirm it, so it does not become the one Tenure debits behind their back; the card page
stays the only way a mandate becomes the default (docs/razorpay.md)."""

import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tenure.payments.gateway import (
    InvalidRequestError,
    PaymentGateway,
    ReportedRegistration,
)
from tenure.ports import Marker
from tenure.services import provider_owed
from tenure.services.context import Services, UnknownProviderError

logger = logging.getLogger(__name__)


class Reported(StrEnum):
    """What became of a reported registration payment."""

    RECORDED = "recorded"  # recorded now, its refund owed
    KNOWN = "known"  # recorded already (the page's answer, an earlier delivery)
    NOT_OURS = "not_ours"  # not a registration Tenure made for one of its customers


@runtime_checkable
class ReadsRegistrations(Protocol):
    """A provider that can tell which registration one of its payments paid (Razorpay)."""

    def reported_registration(self, payment_id: str) -> ReportedRegistration: ...


def record_reported_registration(
    svc: Services,
    provider: str,
    payment_id: str,
    named_customer: str | None,
    markers: Sequence[Marker] = (),
) -> Reported:
    """Record the registration payment `payment_id` that `provider` reported, with `markers`
    in the same commit. `named_customer` is the customer the webhook's notes name: only
    where to look for a record already made (which was verified when it was made), never
    whom to record it for. A provider that does not answer raises, so that the webhook is
    delivered again."""
    if _recorded_on(svc, named_customer, payment_id):
        return Reported.KNOWN  # asks the provider nothing
    try:
        gateway = svc.gateway_for(provider)
    except UnknownProviderError:
        gateway = None
    if not isinstance(gateway, ReadsRegistrations):
        logger.warning("registration reported by a provider without registrations")
        return Reported.NOT_OURS
    try:
        reported = gateway.reported_registration(payment_id)
    except InvalidRequestError as exc:  # refused or not a registration: believed in nothing
        logger.warning(
            "reported registration not recognised",
            extra={"provider": provider, "payment": payment_id, "code": exc.code},
        )
        return Reported.NOT_OURS
    if not _pays_through(svc, reported, gateway):
        logger.warning(
            "reported registration of no customer paying there",
            extra={"provider": provider, "payment": payment_id},
        )
        return Reported.NOT_OURS
    if not provider_owed.record_reported_registration(svc, reported, markers):
        return Reported.KNOWN
    logger.info(
        "registration recorded from the provider's webhook; its mandate is not attached",
        extra={"customer": reported.tenure_customer_id, "payment": payment_id},
    )
    return Reported.RECORDED


def _recorded_on(svc: Services, customer_id: str | None, payment_id: str) -> bool:
    customer = svc.repo.get_customer(customer_id) if customer_id else None
    return customer is not None and any(r.payment_id == payment_id for r in customer.registrations)


def _pays_through(
    svc: Services, reported: ReportedRegistration, gateway: PaymentGateway | ReadsRegistrations
) -> bool:
    """The order's customer exists here, pays through this gateway, and is the provider's
    customer who paid: an order made for one customer and paid by another is not theirs."""
    customer = svc.repo.get_customer(reported.tenure_customer_id)
    if customer is None or customer.provider_customer_id != reported.provider_customer_id:
        return False
    try:
        return svc.gateway_for(customer.provider) is gateway
    except UnknownProviderError:
        return False
