"""What a customer may do through a signed link: replace the card, confirm a payment that
needed authentication, pause, cancel at period end, keep or come back.

The link names the customer; every use case here first checks that the invoice or
subscription it acts on is that customer's (`ForeignSubjectError` otherwise), then goes
through the same services the API and the webhooks use.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from tenure.domain.charges import Charge, ChargeOutcome
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.errors import DomainError, ValidationFailedError
from tenure.domain.invoices import Invoice, InvoiceStatus, plan_lines, with_tax
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.payments.gateway import PaymentAuthentication, PaymentResult
from tenure.services import payments, subscriptions
from tenure.services.catalog import get_customer, get_plan
from tenure.services.context import Services

S = SubscriptionStatus


class ForeignSubjectError(DomainError):
    """The invoice or subscription is not the link's customer's (or does not exist)."""


class NothingToConfirmError(DomainError):
    """The invoice needs no authentication: paid, or its last attempt did not ask for it."""


# -- the card -----------------------------------------------------------------------------------
@dataclass(slots=True)
class CardView:
    customer: Customer
    owed: list[Invoice]  # open invoices with money due, oldest first
    card: PaymentMethod | None  # the default payment method, as stored
    last_declines: dict[str, str] = field(default_factory=dict)  # invoice id -> decline code


def card_view(svc: Services, customer_id: str) -> CardView:
    customer = get_customer(svc, customer_id)
    owed = owed_invoices(svc, customer_id)
    card = next(
        (
            m
            for m in svc.repo.list_payment_methods(customer_id)
            if m.id == customer.default_payment_method
        ),
        None,
    )
    return CardView(customer, owed, card, _last_declines(svc, owed))


def owed_invoices(svc: Services, customer_id: str) -> list[Invoice]:
    """Open invoices with money due on the customer's subscriptions that still run."""
    found = [
        invoice
        for sub in svc.repo.list_subscriptions(customer_id)
        if sub.status is not S.CANCELED
        for invoice in svc.repo.list_invoices(sub.id)
        if invoice.status is InvoiceStatus.OPEN and invoice.total > 0
    ]
    return sorted(found, key=lambda i: (i.created_at, i.id))


def card_subject_is_owned(svc: Services, customer_id: str, subject: str) -> None:
    """An update-card link names the customer or one of the customer's invoices."""
    if subject == customer_id:
        get_customer(svc, customer_id)
        return
    owned_invoice(svc, customer_id, subject)


def begin_card_setup(svc: Services, customer_id: str, now: datetime) -> str:
    """A provider SetupIntent for the customer's new card; returns its client secret.

    The key names the card being replaced and the day: reloading the page reuses the same
    SetupIntent, and once the card has changed the next visit gets a fresh one."""
    if svc.gateway is None:
        raise ValidationFailedError("payment_method", "no payment provider is configured")
    customer = get_customer(svc, customer_id)
    provider_customer = payments.ensure_provider_customer(svc, customer)
    key = f"setup:{customer.id}:{customer.default_payment_method or '-'}:{now:%Y-%m-%d}"
    return svc.gateway.create_setup_intent(
        provider_customer_id=provider_customer, idempotency_key=key
    )


def replace_card(svc: Services, customer_id: str, payment_method: str, provider: str) -> CardView:
    """The customer's new default card; what was owed is retried at once on it."""
    payments.update_payment_method(svc, customer_id, payment_method, provider, make_default=True)
    return card_view(svc, customer_id)


def _last_declines(svc: Services, invoices: list[Invoice]) -> dict[str, str]:
    declines = {}
    for invoice in invoices:
        last = latest_charge(svc, invoice)
        if last is not None and last.outcome is not ChargeOutcome.SUCCEEDED:
            declines[invoice.id] = last.decline_code or str(last.outcome)
    return declines


# -- confirming a payment -------------------------------------------------------------------------
@dataclass(slots=True)
class ConfirmView:
    customer: Customer
    invoice: Invoice
    charge: Charge | None  # the attempt that asked for authentication, if it still waits


def owned_invoice(svc: Services, customer_id: str, invoice_id: str) -> Invoice:
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None or invoice.customer_id != customer_id:
        raise ForeignSubjectError(f"invoice {invoice_id} is not this customer's")
    return invoice


def latest_charge(svc: Services, invoice: Invoice) -> Charge | None:
    charges = svc.repo.list_charges(invoice.id)
    return max(charges, key=lambda c: c.attempt) if charges else None


def confirm_view(svc: Services, customer_id: str, invoice_id: str) -> ConfirmView:
    invoice = owned_invoice(svc, customer_id, invoice_id)
    customer = get_customer(svc, customer_id)
    return ConfirmView(customer, invoice, _awaiting_authentication(svc, invoice))


def _awaiting_authentication(svc: Services, invoice: Invoice) -> Charge | None:
    if invoice.status is not InvoiceStatus.OPEN:
        return None
    charge = latest_charge(svc, invoice)
    if (
        charge is None
        or charge.outcome is not ChargeOutcome.AUTHENTICATION_REQUIRED
        or not charge.payment_id
    ):
        return None
    return charge


def payment_authentication(svc: Services, view: ConfirmView) -> PaymentAuthentication:
    """What Stripe.js needs to let the customer authenticate the waiting payment."""
    if view.charge is None or view.charge.payment_id is None or svc.gateway is None:
        raise NothingToConfirmError(f"invoice {view.invoice.id} has nothing to confirm")
    return svc.gateway.payment_authentication(view.charge.payment_id)


@runtime_checkable
class ConfirmsOnSession(Protocol):
    """A provider whose payments the server can confirm with the customer present (the
    sandbox). Stripe's are confirmed by Stripe.js in the customer's browser instead."""

    def confirm_on_session(self, payment_id: str, *, idempotency_key: str) -> PaymentResult: ...


def confirm_on_session(
    svc: Services, customer_id: str, invoice_id: str
) -> tuple[ConfirmView, PaymentResult]:
    """The customer confirms the waiting payment here and now; settled as a webhook would."""
    view = confirm_view(svc, customer_id, invoice_id)
    charge = view.charge
    if charge is None or charge.payment_id is None:
        raise NothingToConfirmError(f"invoice {invoice_id} has nothing to confirm")
    if not isinstance(svc.gateway, ConfirmsOnSession):
        raise ValidationFailedError("payment", "this provider confirms payments in the browser")
    result = svc.gateway.confirm_on_session(
        charge.payment_id, idempotency_key=f"{charge.idempotency_key}:on_session"
    )
    return settle_confirmed_payment(svc, customer_id, invoice_id, result), result


def settle_confirmed_payment(
    svc: Services, customer_id: str, invoice_id: str, result: PaymentResult
) -> ConfirmView:
    """The customer authenticated the payment on-session and the provider says how it
    ended: settled by the path a `payment_intent.succeeded` webhook takes."""
    view = confirm_view(svc, customer_id, invoice_id)
    charge = view.charge
    if charge is None or result.payment_id != charge.payment_id:
        raise NothingToConfirmError(f"invoice {invoice_id} has nothing to confirm")
    if result.outcome is ChargeOutcome.SUCCEEDED:
        payments.settle_reported_payment(svc, view.invoice, charge, result, at=svc.clock.now())
    return confirm_view(svc, customer_id, invoice_id)


# -- the subscription -----------------------------------------------------------------------------
@dataclass(slots=True)
class SubscriptionView:
    customer: Customer
    subscription: Subscription
    plan: Plan
    next_amount: int  # minor units the next renewal should cost (before any new credit)
    replaced_by: Subscription | None = None  # set after "come back"


def owned_subscription(svc: Services, customer_id: str, subscription_id: str) -> Subscription:
    sub = svc.repo.get_subscription(subscription_id)
    if sub is None or sub.customer_id != customer_id:
        raise ForeignSubjectError(f"subscription {subscription_id} is not this customer's")
    return sub


def subscription_view(svc: Services, customer_id: str, subscription_id: str) -> SubscriptionView:
    sub = owned_subscription(svc, customer_id, subscription_id)
    plan = get_plan(svc, sub.plan_id)
    lines = with_tax(plan_lines(plan, max(sub.cycle + 1, 0), plan.name or plan.id), plan)
    next_amount = max(sum(line.amount for line in lines) - sub.credit, 0)
    return SubscriptionView(get_customer(svc, customer_id), sub, plan, next_amount)


SUBSCRIPTION_ACTIONS = ("pause", "cancel", "keep", "come_back")


def change_subscription(
    svc: Services, customer_id: str, subscription_id: str, action: str
) -> SubscriptionView:
    """Apply one of SUBSCRIPTION_ACTIONS through the subscription services:
    - pause: billing stops now for one period's length (the unused rest becomes credit);
    - cancel: at the end of the paid period, reason "customer_self_service";
    - keep: withdraw a scheduled cancellation, or end a pause now;
    - come_back: a new subscription on the same plan, charged as any new one.
    A double submit of "come back" finds the subscription the first one made."""
    sub = owned_subscription(svc, customer_id, subscription_id)
    if action == "pause":
        length = sub.current_period_end - sub.current_period_start
        subscriptions.pause(svc, sub.id, svc.clock.now() + length)
    elif action == "cancel":
        subscriptions.cancel(svc, sub.id, at_period_end=True, reason="customer_self_service")
    elif action == "keep":
        subscriptions.resume(svc, sub.id)
    elif action == "come_back":
        return _come_back(svc, customer_id, sub)
    else:
        raise ValidationFailedError("action", f"unknown action {action!r}")
    return subscription_view(svc, customer_id, subscription_id)


def comeback_id(sub: Subscription) -> str:
    # The ended subscription never changes again, so its version names this comeback.
    return f"{sub.id}.r{sub.version}"


def _come_back(svc: Services, customer_id: str, sub: Subscription) -> SubscriptionView:
    if sub.status is not S.CANCELED:
        raise ValidationFailedError("action", "only an ended subscription can come back")
    new_id = comeback_id(sub)
    if svc.repo.get_subscription(new_id) is None:
        subscriptions.subscribe(svc, new_id, customer_id, sub.plan_id)
    view = subscription_view(svc, customer_id, sub.id)
    view.replaced_by = subscriptions.get_subscription(svc, new_id)
    return view
