"""Paying a collections case in full, now: a one-instalment plan of the balance, charged at
once by the money path every instalment takes (apart from services.collections because it
charges, and services.charging_settle already follows cases through that module)."""

from tenure.domain.collection_cases import CollectionCase
from tenure.domain.installments import InstallmentPlan
from tenure.domain.privacy import refuse_erased
from tenure.services import charging
from tenure.services.catalog import get_customer
from tenure.services.collections import get_case, plan_of, settle_unchargeable, start_plan
from tenure.services.context import Services


def pay_case_in_full(svc: Services, case_id: str) -> tuple[CollectionCase, InstallmentPlan | None]:
    """Charge the open case's whole balance now with the customer's card. The plan is
    committed first, so a charge that fails is dunned like any instalment (the case stays
    in its plan); paid, the case settles in the charge's own commit. A balance under the
    currency's charge step (KWD 0.005) is forgiven and settles the case at once: nothing is
    sent to the provider, and no plan is made (the case's last plan, if any, is returned).
    Refused, nothing written: an unknown case
    (NotFoundError), a case not open or an erased customer's (IllegalTransitionError)."""
    case = get_case(svc, case_id)
    customer = get_customer(svc, case.customer_id)
    refuse_erased(customer, "pay a collections case of")  # its case may still be open
    plan = case.pay_in_full(svc.clock.now())
    if plan is None:
        settle_unchargeable(svc, case)
        return svc.repo.get_collection_case(case.id) or case, plan_of(svc, case)
    start_plan(svc, case, plan, customer.timezone or "UTC")
    charging.invoice_installment(svc, plan.id)
    after_case, after_plan = (
        svc.repo.get_collection_case(case.id),
        svc.repo.get_installment_plan(plan.id),
    )
    return after_case or case, after_plan or plan
