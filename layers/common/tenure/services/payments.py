"""Collecting invoices: claim an attempt, move money through the gateway, settle in one commit."""

from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.customers import PaymentMethod
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.money import Money
from tenure.domain.subscription import SubscriptionStatus
from tenure.payments.gateway import PaymentResult
from tenure.ports import Commit
from tenure.services.catalog import attach_payment_method, get_plan
from tenure.services.context import Services


def collect_invoice(svc: Services, invoice_id: str) -> Charge | None:
    """Charge an open invoice once with the customer's default payment method.

    The attempt is claimed (invoice version check + a `charging` record) before the provider
    is called, the provider's payment id is stored with the claim before confirming, and the
    outcome, the invoice, the subscription and the events commit together. Provider calls
    carry `charge:{invoice}:{attempt}` keys, so a replay cannot charge twice.
    """
    if svc.gateway is None:
        return None
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None or invoice.status is not InvoiceStatus.OPEN or invoice.total <= 0:
        return None
    customer = svc.repo.get_customer(invoice.customer_id)
    if customer is None or not customer.default_payment_method:
        return None  # stays open until a payment method arrives
    now = svc.clock.now()
    invoice.attempts += 1
    charge = Charge(
        id=f"ch_{invoice.id}_{invoice.attempts}",
        invoice_id=invoice.id,
        subscription_id=invoice.subscription_id,
        customer_id=invoice.customer_id,
        attempt=invoice.attempts,
        amount=invoice.total,
        currency=invoice.currency,
        at=now,
    )
    svc.repo.commit(Commit(invoices=[invoice], charges=[charge]))  # the claim
    key = charge.idempotency_key
    charge.payment_id = svc.gateway.create_payment(
        amount=Money(invoice.total, invoice.currency),
        customer_id=invoice.customer_id,
        payment_method=customer.default_payment_method,
        invoice_id=invoice.id,
        attempt=charge.attempt,
        idempotency_key=f"{key}:create",
    )
    svc.repo.commit(Commit(charges=[charge]))  # the payment id, stored before money moves
    result = svc.gateway.confirm_payment(charge.payment_id, idempotency_key=f"{key}:confirm")
    _settle(svc, invoice, charge, result)
    return charge


def collect_open_invoices(svc: Services, customer_id: str) -> list[Charge]:
    """A new payment method retries what the customer owes, at once."""
    charges = []
    for sub in svc.repo.list_subscriptions(customer_id):
        for invoice in svc.repo.list_invoices(sub.id):
            if invoice.status is InvoiceStatus.OPEN:
                charge = collect_invoice(svc, invoice.id)
                if charge is not None:
                    charges.append(charge)
    return charges


def _settle(svc: Services, invoice: Invoice, charge: Charge, result: PaymentResult) -> None:
    now = svc.clock.now()
    charge.outcome = result.outcome
    charge.decline_code = result.decline_code
    if result.outcome in (ChargeOutcome.PENDING, ChargeOutcome.UNKNOWN):
        svc.repo.commit(Commit(charges=[charge]))  # still charging: reconciled later
        return
    charge.status = ChargeStatus.SETTLED
    change = Commit(charges=[charge])
    sub = svc.repo.get_subscription(invoice.subscription_id)
    plan = get_plan(svc, sub.plan_id) if sub else None
    if result.outcome is ChargeOutcome.SUCCEEDED:
        invoice.mark_paid(now)
        change.invoices.append(invoice)
        change.events.append(
            DomainEvent(
                EventType.INVOICE_PAID,
                invoice.id,
                invoice.customer_id,
                now,
                invoice.version,
                {"total": invoice.total, "currency": invoice.currency, "charge": charge.id},
            )
        )
        if (
            sub
            and plan
            and sub.status
            in (
                SubscriptionStatus.INCOMPLETE,
                SubscriptionStatus.PAST_DUE,
                SubscriptionStatus.UNPAID,
            )
        ):
            sub.activate(plan, now)
            change.add_subscription(sub)
    else:
        change.events.append(
            DomainEvent(
                EventType.PAYMENT_FAILED,
                invoice.id,
                invoice.customer_id,
                now,
                charge.attempt,
                {"outcome": str(result.outcome), "decline_code": result.decline_code},
            )
        )
        if sub and plan and sub.status is SubscriptionStatus.ACTIVE:
            sub.mark_past_due(plan, now)
            change.add_subscription(sub)
    svc.repo.commit(change)


def update_payment_method(
    svc: Services, customer_id: str, payment_method_id: str, provider: str, make_default: bool
) -> PaymentMethod:
    """Attach a payment method; when it becomes the default, retry what is owed at once."""
    method = attach_payment_method(svc, customer_id, payment_method_id, provider, make_default)
    customer = svc.repo.get_customer(customer_id)
    if customer is not None and customer.default_payment_method == payment_method_id:
        collect_open_invoices(svc, customer_id)
    return method
