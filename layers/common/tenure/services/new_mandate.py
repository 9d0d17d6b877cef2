"""A customer who pays on a mandate (Razorpay) gives a new one on the card page: a
registration order opened in the provider's checkout, whose answer is verified before its
token is attached through the path the API's `POST /customers/{id}/payment-methods` takes.

The new token becomes the default payment method, so the old mandate is charged no more,
and what is owed is retried on the new one by the mandate rules (announced, then debited).
An answer is taken once: the first use of a registration order claims it, and the same
answer posted again changes nothing (a double submit is answered as done, an older answer
replayed after a newer mandate is refused)."""

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from tenure.domain.customers import Customer
from tenure.domain.errors import AlreadyExistsError, DomainError, ValidationFailedError
from tenure.domain.installments import InstalmentStatus
from tenure.domain.mandates import MANDATE_CURRENCY
from tenure.domain.money import Money
from tenure.domain.subscription import SubscriptionStatus
from tenure.payments.gateway import (
    CheckoutAnswer,
    CheckoutOrder,
    MandateTerms,
    PaymentResult,
    VerifiedMandate,
)
from tenure.ports import Commit, Marker
from tenure.services import cards, provider_owed, self_service
from tenure.services.catalog import get_customer, write_past_listings
from tenure.services.context import Services

log = logging.getLogger(__name__)

# The kinds of mandate a customer may give (Razorpay's registration order's `method`).
MANDATE_KINDS = ("upi", "card")
# With nothing to debit yet, the mandate carries Razorpay's own default ceiling (₹15,000).
DEFAULT_MAX_MINOR = 1_500_000
# The most a mandate set up here may carry: ₹1,00,000, UPI AutoPay's ceiling for most
# businesses. A larger debit is authenticated by the customer anyway (above ₹15,000).
CEILING_MINOR = 10_000_000
# How long the mandate lasts (`token.expire_at`): ten years, Razorpay's own default for a
# mandate that names no end.
MANDATE_LASTS = timedelta(days=3653)
# How long an answer's claim is kept: long after any page that could post it has expired.
CLAIM_KEPT = timedelta(days=400)


class MandateAnswerUsedError(DomainError):
    """This registration's answer was already taken, and another mandate replaced it since:
    posting it again cannot bring the old mandate back."""


@runtime_checkable
class RegistersMandates(Protocol):
    """A provider whose mandates are registered in its checkout (Razorpay)."""

    def begin_mandate(
        self,
        *,
        provider_customer_id: str,
        tenure_customer_id: str,
        terms: MandateTerms,
        reference: str,
    ) -> CheckoutOrder: ...

    def verify_mandate(
        self, answer: CheckoutAnswer, *, provider_customer_id: str, tenure_customer_id: str
    ) -> VerifiedMandate: ...


@dataclass(frozen=True, slots=True)
class MandateOffer:
    """What the card page offers: the registration to open and the terms it asks for."""

    checkout: CheckoutOrder
    terms: MandateTerms


def _upcoming_debits(svc: Services, customer_id: str) -> Iterator[Money]:
    """What the customer will be charged: what is owed now, each running subscription's
    next renewal (with a carried proration), and each instalment still to come."""
    for invoice in self_service.owed_invoices(svc, customer_id):
        yield Money(invoice.total, invoice.currency)
    for sub in svc.repo.list_subscriptions(customer_id):
        if sub.status is SubscriptionStatus.CANCELED or sub.cancel_at_period_end:
            continue
        page = self_service.load_subscription_page(svc, customer_id, sub.id)
        yield Money(page.next_amount + sub.carried, sub.currency)
    waiting = (InstalmentStatus.SCHEDULED, InstalmentStatus.OPEN, InstalmentStatus.PAST_DUE)
    for plan in svc.repo.list_installment_plans(customer_id):
        for instalment in plan.instalments:
            if instalment.status in waiting:
                yield Money(instalment.amount, plan.currency)


def mandate_max_amount(svc: Services, customer_id: str, headroom_percent: int) -> Money:
    """The most one debit may take on the new mandate: the largest debit the customer faces
    now, plus `headroom_percent`, rounded up to a whole rupee, within CEILING_MINOR; with
    nothing to debit, Razorpay's default ceiling."""
    largest = max(
        (m.amount_minor for m in _upcoming_debits(svc, customer_id) if m.currency == "INR"),
        default=0,
    )
    if largest <= 0:
        return Money(DEFAULT_MAX_MINOR, MANDATE_CURRENCY)
    with_headroom = -(-largest * (100 + headroom_percent) // 100)  # rounded up
    rupees = -(-with_headroom // 100) * 100
    return Money(min(rupees, CEILING_MINOR), MANDATE_CURRENCY)


def _registrar(svc: Services, customer_id: str) -> tuple[RegistersMandates, str]:

    def registrar(customer: Customer) -> tuple[RegistersMandates, str]:
        gateway = svc.gateway_for(customer.provider)
        if not isinstance(gateway, RegistersMandates):
            raise ValidationFailedError("payment_method", "this provider registers no mandates")
        return gateway, cards.ensure_provider_customer(svc, customer)

    # A new subscription or plan of the customer's, made meanwhile, is no reason to refuse.
    return write_past_listings(svc, customer_id, registrar)


def default_kind(svc: Services, customer_id: str) -> str:
    """The kind a new mandate is offered as first: the kind of the mandate on file, else UPI."""
    customer = get_customer(svc, customer_id)
    current = next(
        (
            m
            for m in svc.repo.list_payment_methods(customer_id)
            if m.id == customer.default_payment_method
        ),
        None,
    )
    kind = current.mandate_kind if current is not None else None
    return kind if kind in MANDATE_KINDS else "upi"


def begin_new_mandate(
    svc: Services,
    customer_id: str,
    headroom_percent: int,
    now: datetime,
    method: str | None = None,
) -> MandateOffer:
    """The registration order for the customer's new mandate, on terms that cover what they
    will be charged, by `method` (default: the kind of the mandate on file, else UPI). The
    same customer, mandate on file, method and day reuse one unpaid order."""
    customer = get_customer(svc, customer_id)
    if method is not None and method not in MANDATE_KINDS:
        raise ValidationFailedError("mandate_kind", f"must be one of {', '.join(MANDATE_KINDS)}")
    gateway, provider_customer = _registrar(svc, customer_id)
    terms = MandateTerms(
        method=method or default_kind(svc, customer_id),
        max_amount=mandate_max_amount(svc, customer_id, headroom_percent),
        expire_at=now + MANDATE_LASTS,
    )
    on_file = customer.default_payment_method or "-"
    reference = f"mandate:{customer_id}:{on_file}:{terms.method}:{now:%Y-%m-%d}"
    checkout = gateway.begin_mandate(
        provider_customer_id=provider_customer,
        tenure_customer_id=customer_id,
        terms=terms,
        reference=reference,
    )
    return MandateOffer(checkout, terms)


def claim_key(order_id: str) -> str:
    return f"mandate_answer:{order_id}"


def take_new_mandate(
    svc: Services, customer_id: str, answer: CheckoutAnswer
) -> self_service.CardPage:
    """The customer authorised a new mandate in the checkout, whose answer came through
    their browser: believed once the provider verifies it (UnverifiedCheckoutError, nothing
    changed), then its token attached as the default, as the API attaches one. Once per
    registration order (MandateAnswerUsedError for an old answer replayed)."""
    gateway, provider_customer = _registrar(svc, customer_id)
    verified = gateway.verify_mandate(
        answer, provider_customer_id=provider_customer, tenure_customer_id=customer_id
    )
    token = verified.token
    # The rupee the registration took is recorded, owed back, before anything else is
    # written: whatever happens to the attach after it, the due work refunds it once.
    provider_owed.record_registration(svc, customer_id, verified)
    key = claim_key(answer.order_id)
    if svc.repo.has_marker(key):
        if get_customer(svc, customer_id).default_payment_method == token:
            return self_service.load_card_page(svc, customer_id)  # a double submit: done
        raise MandateAnswerUsedError(f"registration {answer.order_id} was already taken")
    customer = get_customer(svc, customer_id)
    view = self_service.replace_card(svc, customer_id, token, customer.provider or "razorpay")
    expires = svc.clock.now() + CLAIM_KEPT
    # A concurrent submit of the same answer may have claimed it: its token is the same.
    with contextlib.suppress(AlreadyExistsError):
        svc.repo.commit(Commit(markers=[Marker(key, expires)]))
    log.info("new mandate attached", extra={"customer": customer_id})
    return view


@runtime_checkable
class RegistersInSandbox(Protocol):
    """A sandbox that can play the customer in the checkout."""

    def checkout_in_sandbox(
        self, order: CheckoutOrder, pay_with: str
    ) -> CheckoutAnswer | PaymentResult: ...


def give_mandate_in_sandbox(
    svc: Services, customer_id: str, pay_with: str, method: str, headroom_percent: int
) -> self_service.CardPage | PaymentResult:
    """Locally, the sandbox plays the customer authorising a registration by `method` with
    a test UPI id or card; its answer then goes the way a real checkout's does, signature
    and all. A registration that fails in the checkout is its failed payment (nothing
    attached)."""
    offer = begin_new_mandate(svc, customer_id, headroom_percent, svc.clock.now(), method)
    customer = get_customer(svc, customer_id)
    gateway = svc.gateway_for(customer.provider)
    if not isinstance(gateway, RegistersInSandbox):
        raise ValidationFailedError("payment_method", "only a sandbox plays the checkout")
    answer = gateway.checkout_in_sandbox(offer.checkout, pay_with)
    if isinstance(answer, PaymentResult):
        return answer
    return take_new_mandate(svc, customer_id, answer)
