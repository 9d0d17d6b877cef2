"""Installment plans: creating one for a customer, canceling one, and reading them (charging each
instalment when due is services.charging.invoice_installment)."""

from datetime import datetime

from tenure.domain.charges import ChargeStatus
from tenure.domain.errors import ConcurrencyError, IllegalTransitionError, NotFoundError
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.mandates import refuse_other_currency
from tenure.domain.privacy import refuse_erased
from tenure.ports import Commit
from tenure.services.catalog import get_customer
from tenure.services.context import Services


def create_installment_plan(
    svc: Services,
    customer_id: str,
    plan_id: str,
    amount: object,
    currency: object,
    count: object,
    every: object,
    description: object,
    start: datetime | None = None,
) -> InstallmentPlan:
    """A new plan whose first instalment is due at `start` (default: now) and charged by the
    due work from then on. An unknown customer is NotFoundError; every broken rule is a
    ValidationFailedError naming its field; a taken id is AlreadyExistsError. Nothing is
    written unless everything holds."""
    customer = get_customer(svc, customer_id)
    refuse_erased(customer, "create an installment plan for")
    now = svc.clock.now()
    plan = InstallmentPlan.create(
        plan_id, customer_id, amount, currency, count, every, description, start or now, now
    )
    refuse_other_currency(svc.provider_of(customer.provider), plan.currency, "currency")
    change = Commit(zones=[(customer.id, customer.timezone or "UTC")])
    change.add_installment_plan(plan)  # with an installment_due email before each instalment
    svc.commit_with_notices(change)
    return plan


def get_installment_plan(svc: Services, plan_id: str) -> InstallmentPlan:
    plan = svc.repo.get_installment_plan(plan_id)
    if plan is None:
        raise NotFoundError("installment plan", plan_id)
    return plan


def list_installment_plans(svc: Services, customer_id: str) -> list[InstallmentPlan]:
    get_customer(svc, customer_id)  # an unknown customer is a 404, not an empty list
    return svc.repo.list_installment_plans(customer_id)


def cancel_installment_plan(svc: Services, plan_id: str) -> InstallmentPlan:
    """End a plan on request: its instalments not yet charged are canceled and an instalment
    being collected has its invoice voided, in one commit, so nothing is charged afterwards.
    NotFoundError for an unknown plan; IllegalTransitionError once it is paid, defaulted or
    canceled; ConcurrencyError while an instalment's charge is in flight (the provider may be
    moving the money: voiding its invoice now could lose that payment), nothing written."""
    plan = get_installment_plan(svc, plan_id)
    if plan.collection_case_id is not None:
        # Its case holds the balance: leaving the plan goes through the case, which opens
        # again for what is left (collections.cancel_repayment_plan).
        raise IllegalTransitionError(
            "cancel",
            plan.status,
            f"a repayment plan is left through its case {plan.collection_case_id}",
            entity="installment plan",
        )
    now = svc.clock.now()
    voided = []
    for invoice_id in plan.cancel(now):
        invoice = svc.repo.get_invoice(invoice_id)
        if invoice is None or invoice.status is not InvoiceStatus.OPEN:
            continue  # settled meanwhile: the version check on the plan catches a race
        if any(c.status is ChargeStatus.CHARGING for c in svc.repo.list_charges(invoice.id)):
            raise ConcurrencyError(f"instalment invoice {invoice.id} is being charged now")
        invoice.void()
        voided.append(invoice)
    change = Commit(invoices=voided)
    change.add_installment_plan(plan)
    svc.commit_with_notices(change)
    return plan
