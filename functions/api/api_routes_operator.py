"""Operator actions (scope `billing`, a required `note`, an audit entry each), the audit
trail and a customer's timeline (scope `read`). See docs/operations.md "Operator actions"."""

from typing import Annotated

from api_guard import BEARER, caller
from api_schemas import (
    PATH_ID_PATTERN,
    AuditPage,
    CancelNowRequest,
    CreditAdjustRequest,
    ExtendTrialRequest,
    InvoiceActed,
    MarkPaidRequest,
    OperatorNote,
    RenewalDateRequest,
    RetryActed,
    SubscriptionActed,
    TimelinePage,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.audit import SYSTEM_API
from tenure.services import operator_actions as ops
from tenure.services import timeline as timelines
from tenure.views import audit_view, charge_view, invoice_view, subscription_view

router = APIGatewayHttpRouter()

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]
# A page's cursor: the `next_cursor` of the page before (a moment, then ids).
Cursor = Annotated[
    str | None, Query(min_length=1, max_length=300, pattern=r"^[0-9T:.Z\-]+#[A-Za-z0-9_.:#\-]+$")
]
Limit = Annotated[int, Query(ge=1, le=100)]
Filter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]
# A window's end: an ISO 8601 moment in UTC (`Z`) or a day (its midnight, UTC).
Moment = Annotated[
    str | None,
    Query(
        min_length=10,
        max_length=30,
        pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2}))?$",
    ),
]


def actor() -> str:
    principal = caller()
    return principal.name if principal is not None else SYSTEM_API


def _invoice_acted(done: ops.Acted) -> InvoiceActed:
    assert done.invoice is not None
    return {"invoice": invoice_view(done.invoice), "audit": audit_view(done.audit)}


def _subscription_acted(done: ops.Acted) -> SubscriptionActed:
    assert done.subscription is not None
    return {"subscription": subscription_view(done.subscription), "audit": audit_view(done.audit)}


@router.post("/v1/invoices/<invoice_id>/void", security=BEARER, tags=["operator"])
def void_invoice(invoice_id: Id, body: OperatorNote) -> InvoiceActed:
    """Void an open invoice (a paid one is a 409)."""
    svc = bootstrap.wiring().services
    return _invoice_acted(ops.void_invoice(svc, invoice_id, actor=actor(), note=body.note))


@router.post("/v1/invoices/<invoice_id>/write-off", security=BEARER, tags=["operator"])
def write_off_invoice(invoice_id: Id, body: OperatorNote) -> InvoiceActed:
    """Mark an open invoice uncollectible (a paid one is a 409)."""
    svc = bootstrap.wiring().services
    return _invoice_acted(ops.write_off_invoice(svc, invoice_id, actor=actor(), note=body.note))


@router.post("/v1/invoices/<invoice_id>/mark-paid", security=BEARER, tags=["operator"])
def mark_invoice_paid(invoice_id: Id, body: MarkPaidRequest) -> InvoiceActed:
    """Record that an open invoice was paid outside the provider, with its `reference`."""
    svc = bootstrap.wiring().services
    done = ops.mark_paid_out_of_band(
        svc, invoice_id, actor=actor(), note=body.note, reference=body.reference
    )
    return _invoice_acted(done)


@router.post("/v1/invoices/<invoice_id>/retry", security=BEARER, tags=["operator"])
def retry_invoice(invoice_id: Id, body: OperatorNote) -> RetryActed:
    """Charge an open invoice now, once, through the normal charging path; the answer has
    the attempt and its outcome."""
    svc = bootstrap.wiring().services
    done = ops.retry_now(svc, invoice_id, actor=actor(), note=body.note)
    assert done.charge is not None and done.invoice is not None
    return {
        "invoice": invoice_view(done.invoice),
        "charge": charge_view(done.charge),
        "audit": audit_view(done.audit),
    }


@router.post("/v1/subscriptions/<subscription_id>/credit", security=BEARER, tags=["operator"])
def adjust_credit(subscription_id: Id, body: CreditAdjustRequest) -> SubscriptionActed:
    """Add to (or take from) the credit the subscription's next invoices use."""
    svc = bootstrap.wiring().services
    done = ops.adjust_credit(svc, subscription_id, body.amount, actor=actor(), note=body.note)
    return _subscription_acted(done)


@router.post("/v1/subscriptions/<subscription_id>/extend-trial", security=BEARER, tags=["operator"])
def extend_trial(subscription_id: Id, body: ExtendTrialRequest) -> SubscriptionActed:
    """End a trial later (`until`, at most a year ahead)."""
    svc = bootstrap.wiring().services
    done = ops.extend_trial(svc, subscription_id, body.until, actor=actor(), note=body.note)
    return _subscription_acted(done)


@router.post("/v1/subscriptions/<subscription_id>/renewal-date", security=BEARER, tags=["operator"])
def change_renewal_date(subscription_id: Id, body: RenewalDateRequest) -> SubscriptionActed:
    """Renew at `at` instead (in the future, at most a year ahead); later periods follow."""
    svc = bootstrap.wiring().services
    done = ops.change_renewal_date(svc, subscription_id, body.at, actor=actor(), note=body.note)
    return _subscription_acted(done)


@router.post("/v1/subscriptions/<subscription_id>/cancel-now", security=BEARER, tags=["operator"])
def cancel_now(subscription_id: Id, body: CancelNowRequest) -> SubscriptionActed:
    """End the subscription now, with an audit entry (no refund: refund its invoices)."""
    svc = bootstrap.wiring().services
    done = ops.cancel_now(svc, subscription_id, actor=actor(), note=body.note, reason=body.reason)
    return _subscription_acted(done)


@router.get("/v1/audit", security=BEARER, tags=["operator"])
def list_audit(
    entity: Filter = None,
    actor: Filter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    since: Moment = None,
    until: Moment = None,
) -> AuditPage:
    """Audit entries of an `entity` (the id acted on) or of an `actor` (or both), oldest
    first; pass `next_cursor` back as `cursor` for the next page. An entity's automated
    changes (`system:renewals`, `system:dunning`, `system:webhooks`, `system:portal`) are
    among them, read from their events. A `system:` actor alone is listed across the table,
    newest first, from `until` (default: now) back to `since` (default: 31 days before;
    at most 366); `since`/`until` apply only there. An unknown actor: 422."""
    svc = bootstrap.wiring().services
    page, more = timelines.audit_entries(
        svc, entity=entity, actor=actor, limit=limit, after=cursor, since=since, until=until
    )
    return {
        "data": [audit_view(e) for e in page],
        "has_more": more is not None,
        "next_cursor": more,
    }


@router.get("/v1/customers/<customer_id>/timeline", security=BEARER, tags=["operator"])
def customer_timeline(customer_id: Id, limit: Limit = 50, cursor: Cursor = None) -> TimelinePage:
    """The customer's subscriptions, invoices, payment attempts, refunds, emails and audit
    entries, oldest first, a page at a time (bounded: docs/operations.md)."""
    svc = bootstrap.wiring().services
    page, more = timelines.customer_timeline(svc, customer_id, limit, cursor)
    return {
        "data": [
            {"at": timelines.timeline_moment(i), "type": i.type, "id": i.id, "detail": i.detail}
            for i in page
        ],
        "has_more": more is not None,
        "next_cursor": more,
    }
