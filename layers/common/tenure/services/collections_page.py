"""What the collections page a signed link opens shows and does (docs/collections.md): one
case of the link's customer, its balance line by line, and the two ways to settle it. The
choices go through the same services the API routes call, so a page and an API caller can
never settle a case differently."""

from dataclasses import dataclass

from tenure.domain.collection_cases import CaseStatus, CollectionCase, CollectionsPolicy
from tenure.domain.customers import Customer
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.services import collections, collections_pay
from tenure.services.catalog import get_customer
from tenure.services.context import Services
from tenure.services.self_service import ForeignSubjectError, awaits_confirmation


@dataclass(frozen=True, slots=True)
class CollectionsPage:
    customer: Customer
    case: CollectionCase
    plan: InstallmentPlan | None  # the standing (or last) repayment plan
    policy: CollectionsPolicy
    invoices: dict[str, Invoice]  # the case's owed invoices, to word its lines

    @property
    def counts(self) -> list[int]:
        """The instalment counts the page offers: every one the policy allows."""
        return list(range(self.policy.min_count, self.policy.max_count + 1))

    @property
    def choosing(self) -> bool:
        return self.case.status is CaseStatus.OPEN and self.case.balance > 0


def load_collections_page(svc: Services, customer_id: str, case_id: str) -> CollectionsPage:
    """The case as its customer sees it; ForeignSubjectError for another customer's case or
    none (the two look the same to the visitor)."""
    case = svc.repo.get_collection_case(case_id)
    if case is None or case.customer_id != customer_id:
        raise ForeignSubjectError(f"collection case {case_id} is not this customer's")
    owed = (svc.repo.get_invoice(i) for i in case.invoice_ids)
    return CollectionsPage(
        get_customer(svc, customer_id),
        case,
        collections.plan_of(svc, case),
        svc.collections,
        {i.id: i for i in owed if i is not None},
    )


def choose_plan(
    svc: Services, customer_id: str, case_id: str, count: int, every: str
) -> CollectionsPage:
    """The customer's repayment plan, as `POST /v1/collection-cases/{id}/repayment-plan`
    makes it (its refusals unchanged: nothing is written)."""
    load_collections_page(svc, customer_id, case_id)
    collections.choose_repayment_plan(svc, case_id, count, every)
    return load_collections_page(svc, customer_id, case_id)


def pay_in_full(svc: Services, customer_id: str, case_id: str) -> CollectionsPage:
    """The whole balance now, as `POST /v1/collection-cases/{id}/pay` charges it."""
    load_collections_page(svc, customer_id, case_id)
    collections_pay.pay_case_in_full(svc, case_id)
    return load_collections_page(svc, customer_id, case_id)


def payment_to_confirm(svc: Services, view: CollectionsPage) -> str | None:
    """The invoice of the case's plan whose payment waits for the customer's 3-D Secure
    confirmation (paying in full with a card whose bank asks for it), if one does."""
    if view.plan is None:
        return None
    for item in view.plan.instalments:
        invoice = svc.repo.get_invoice(item.invoice_id) if item.invoice_id else None
        if invoice is not None and awaits_confirmation(svc, invoice):
            return invoice.id
    return None
