"""Collections cases: opening one when dunning leaves a subscription unpaid, the customer's
choice of a repayment plan, and what the plan's instalments do to the case
(docs/collections.md). Charging the instalments is services.charging's, as for any plan."""

from datetime import datetime

from tenure.domain.collection_cases import CaseStatus, CollectionCase, SettleAction
from tenure.domain.errors import NotFoundError
from tenure.domain.installments import InstallmentPlan, PlanStatus
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.privacy import refuse_erased
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.ports import Commit
from tenure.services.catalog import get_customer, subscription_plan
from tenure.services.context import Services


def open_case(
    svc: Services, sub: Subscription, invoice: Invoice, change: Commit, dunning_ended_at: datetime
) -> None:
    """`sub` just became unpaid over `invoice` (both part of `change`), whose dunning ended
    at `dunning_ended_at`: its owed invoices become a collections case, written in the same
    commit."""
    stored = [i for i in svc.repo.list_invoices(sub.id) if i.id != invoice.id]
    owed = [*stored, invoice]
    case = CollectionCase.open(sub.customer_id, sub.id, owed, svc.clock.now(), dunning_ended_at)
    if case is not None:
        change.add_collection_case(case)


def choose_repayment_plan(
    svc: Services, case_id: str, count: object, every: object
) -> tuple[CollectionCase, InstallmentPlan]:
    """The customer pays the case's balance off in `count` instalments `every` week or two,
    the first due now. The case's invoices are written off in the same commit (the plan's
    instalments collect their money now, so nothing else may charge them). Refused, nothing
    written: an unknown case (NotFoundError), a case not open (IllegalTransitionError), a
    plan outside the policy (ValidationFailedError naming the field), an erased customer
    (IllegalTransitionError: never charged by a new action)."""
    case = get_case(svc, case_id)
    customer = get_customer(svc, case.customer_id)
    refuse_erased(customer, "choose a repayment plan for")  # its case may still be open
    plan = case.choose_plan(count, every, svc.collections, svc.clock.now())
    start_plan(svc, case, plan, customer.timezone or "UTC")
    return case, plan


def start_plan(svc: Services, case: CollectionCase, plan: InstallmentPlan, zone: str) -> None:
    """Commit the case's new plan: the case's invoices written off into it (the plan's
    instalments collect their money now, so nothing else may charge them)."""
    change = Commit(zones=[(case.customer_id, zone)])
    write_off_invoices(svc, case, change)
    change.add_collection_case(case)
    change.add_installment_plan(plan)  # with an installment_due email before each instalment
    svc.commit_with_notices(change)


def settle_unchargeable(svc: Services, case: CollectionCase) -> None:
    """Commit a case that settled with no charge (`CollectionCase.pay_in_full`: nothing of
    its balance could be charged, KWD 0.005, so it was forgiven): its invoices written off
    into it, never charged again, and its subscription brought back by policy, as when a
    repayment plan is paid off."""
    change = Commit()
    write_off_invoices(svc, case, change)
    _after_settled(svc, case, change, svc.clock.now())
    change.add_collection_case(case)
    svc.commit_with_notices(change)


def write_off_invoices(svc: Services, case: CollectionCase, change: Commit) -> None:
    """The case's invoices still open, written off into it in `change`: the case collects
    (or forgave) their money now, so nothing else may charge them."""
    for invoice_id in case.invoice_ids:
        invoice = svc.repo.get_invoice(invoice_id)
        if invoice is not None and invoice.status is InvoiceStatus.OPEN:
            invoice.mark_uncollectible()
            change.invoices.append(invoice)


def cancel_repayment_plan(
    svc: Services, case_id: str
) -> tuple[CollectionCase, InstallmentPlan | None]:
    """The customer leaves the case's plan between instalments: its later instalments are
    never charged and the case is open again for the balance left. Refused, nothing written:
    an unknown case (NotFoundError), a case not in a plan or an instalment being collected
    (IllegalTransitionError)."""
    case = get_case(svc, case_id)
    plan = plan_of(svc, case)
    now = svc.clock.now()
    if plan is None:
        case.cancel_plan(now)  # refused: a case in a plan always has one
        return case, None
    plan.cancel_between_instalments(now)
    case.cancel_plan(now)
    change = Commit()
    change.add_collection_case(case)
    change.add_installment_plan(plan)
    svc.commit_with_notices(change)
    return case, plan


def get_case(svc: Services, case_id: str) -> CollectionCase:
    case = svc.repo.get_collection_case(case_id)
    if case is None:
        raise NotFoundError("collection case", case_id)
    return case


def plan_of(svc: Services, case: CollectionCase) -> InstallmentPlan | None:
    """The case's standing (or last) repayment plan, if it ever had one."""
    return svc.repo.get_installment_plan(case.plan_id) if case.plan_id else None


def list_cases(svc: Services, customer_id: str) -> list[CollectionCase]:
    get_customer(svc, customer_id)  # an unknown customer is a 404, not an empty list
    return svc.repo.list_collection_cases(customer_id)


def follow_plan(svc: Services, plan: InstallmentPlan, paid: int, change: Commit) -> None:
    """A repayment plan moved in `change`: `paid` minor units of an instalment were just
    collected (0 when none), or it defaulted. The case follows in the same commit; paid off,
    its subscription is reactivated or left, by policy."""
    case = svc.repo.get_collection_case(plan.collection_case_id or "")
    if case is None or case.plan_id != plan.id:
        return
    now = svc.clock.now()
    if paid and case.status is CaseStatus.IN_PLAN:
        if case.record_instalment_paid(paid, now):
            _after_settled(svc, case, change, now)
    elif plan.status is PlanStatus.DEFAULTED and case.status is CaseStatus.IN_PLAN:
        case.write_off(now)
    else:
        return
    change.add_collection_case(case)


def follow_invoice_paid(svc: Services, sub: Subscription, invoice: Invoice, change: Commit) -> None:
    """An unpaid subscription's own invoice was paid directly (a new card retried it) while
    its case waited for a plan: the case records it (and settles when nothing is left). The
    payment itself already reactivated the subscription, as before there were cases."""
    for case in svc.repo.list_collection_cases(sub.customer_id):
        if case.subscription_id == sub.id and case.record_invoice_paid(invoice.id, svc.clock.now()):
            if case.forgiven:  # what is left no provider can charge: its invoices too
                write_off_invoices(svc, case, change)
            change.add_collection_case(case)


def _after_settled(svc: Services, case: CollectionCase, change: Commit, now: datetime) -> None:
    if svc.collections.settle is not SettleAction.REACTIVATE:
        return
    sub = svc.repo.get_subscription(case.subscription_id)
    if sub is None or sub.status is not SubscriptionStatus.UNPAID:
        return  # canceled meanwhile by the business: nothing to bring back
    sub.reactivate_after_collections(subscription_plan(svc, sub), now)
    change.add_subscription(sub)
