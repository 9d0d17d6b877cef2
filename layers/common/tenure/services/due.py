"""Due work: finding what is due, for the renewals scheduler, and doing one piece of it, for
the charger. The simulator and the tests work due items through the same `work_due`."""

from collections.abc import Iterator
from datetime import datetime

from tenure.domain.audit import SYSTEM_DUNNING, SYSTEM_RENEWALS
from tenure.domain.charges import Charge
from tenure.domain.due import ChargeRef, DueKind, DueSubject
from tenure.domain.price_notices import PriceNoticeRun
from tenure.ports import DueItem, DueMessage
from tenure.services import (
    charging,
    charging_reconcile,
    credit_notes,
    price_notices,
    privacy,
    provider_owed,
    refunds,
    subscriptions,
)
from tenure.services.context import Services
from tenure.services.subscriptions import Outcome

PAGE = 1000  # due items per page; each of the index's shards gives up to its share


def due_work(svc: Services, now: datetime) -> list[DueItem]:
    """The first page of what is due at or before `now` (bounded queries on the sharded due
    index)."""
    return svc.repo.due(now, limit=PAGE)


def due_work_pages(svc: Services, now: datetime) -> Iterator[list[DueItem]]:
    """Everything due at or before `now`, a page at a time, each item once."""
    return svc.repo.due_pages(now, page=PAGE)


def work_due(
    svc: Services, work: DueItem | DueMessage
) -> Outcome | Charge | refunds.RefundGivenUp | PriceNoticeRun | None:
    """Do one piece of due work, whichever its kind. None: nothing was left to do (another
    worker did it, or it is no longer due), so a duplicate is harmless.

    A subscription's work starts from the subscription the work carries, when it carries
    one (see DueItem). An owed refund's work answers RefundGivenUp when its tries stopped
    without a refund (the charger counts those). A charge's id that is not a ChargeRef
    raises InvalidChargeRefError.

    Its commits are the work of `system:dunning` when it is an invoice's retry or the end of
    its dunning, else of `system:renewals` (renewals, trials and pauses ending, instalments,
    owed refunds, credits at the day's close, price notices, reconciling an attempt)."""
    dunning = work.kind in (DueKind.RETRY, DueKind.DUNNING_END)
    with svc.acting_as(SYSTEM_DUNNING if dunning else SYSTEM_RENEWALS):
        return _do(svc, work)


def _do(
    svc: Services, work: DueItem | DueMessage
) -> Outcome | Charge | refunds.RefundGivenUp | PriceNoticeRun | None:
    match work.kind.subject:
        case DueSubject.SUBSCRIPTION:
            return subscriptions.process_due(
                svc, work.entity_id, customer_id=work.customer_id, snapshot=work.subscription
            )
        case DueSubject.INVOICE if work.kind is DueKind.CREDIT:
            credit_notes.credit_at_close(svc, work.entity_id)
            return None
        case DueSubject.INVOICE if work.kind is DueKind.REFUND:
            made = refunds.make_owed_refund(svc, work.entity_id)
            return made if isinstance(made, refunds.RefundGivenUp) else None
        case DueSubject.INVOICE:
            return charging.retry_invoice(svc, work.entity_id)
        case DueSubject.INSTALLMENT_PLAN:
            return charging.invoice_installment(svc, work.entity_id)
        case DueSubject.PRICE_CHANGE:
            return price_notices.tell_subscribers(svc, work.entity_id)
        case DueSubject.CHARGE:
            ref = ChargeRef.parse(work.entity_id)
            return charging_reconcile.reconcile_charge(svc, ref.invoice_id, ref.attempt)
        case DueSubject.CUSTOMER if work.kind is DueKind.PROVIDER_ERASE:
            privacy.erase_at_provider(svc, work.entity_id)
            return None
        case DueSubject.CUSTOMER:
            provider_owed.work_owed(svc, work.entity_id, work.kind)
            return None
