"""How a change moves loyalty points, read off the change itself before it commits.

Points follow money, wherever in the code the money moved: an invoice paid (an
`InvoicePaid` event) earns them, redeemed points credited on an invoice (a
`LoyaltyPointsApplied` event) leave `pending`, a refund (an `InvoiceRefunded` event with
the invoice's amount refunded so far) takes back its share. So every path that pays or
refunds an invoice (charges, webhooks, the refunds use case) moves points in the same
transaction as the money, and none has to remember to. Planned once per change: a commit
tried again keeps the moves it was given.
"""

from datetime import datetime

from tenure.domain.events import DomainEvent, EventType
from tenure.domain.points import (
    PointsEntry,
    PointsKind,
    PointsMove,
    points_to_give_back,
    points_to_reverse,
)
from tenure.domain.programs import Programs
from tenure.ports import BillingStore, Commit

_MOVING = (EventType.INVOICE_PAID, EventType.LOYALTY_POINTS_APPLIED, EventType.INVOICE_REFUNDED)


def plan_points(repo: BillingStore, change: Commit) -> None:
    """Add to `change` the points its events move (and the events saying so)."""
    moving = [e for e in change.events if e.type in _MOVING and e.customer_id]
    if not moving or change.points:
        return  # nothing moves points, or this change was planned already
    programs: Programs | None = None
    for event in moving:
        customer = str(event.customer_id)
        if event.type is EventType.LOYALTY_POINTS_APPLIED:
            change.points.append(applied(customer, event))
            continue
        if event.type is EventType.INVOICE_REFUNDED:
            change.points.extend(reversal(repo, change, customer, event))
            continue
        programs = programs or repo.get_programs().programs
        if programs.loyalty is None:
            continue
        paid = int(event.data.get("total", 0))
        points = programs.loyalty.points_for(paid)
        if points:
            at = event.occurred_at
            entry = PointsEntry(customer, at, PointsKind.EARNED, points, event.entity_id, paid)
            change.points.append(PointsMove(customer, balance=points, entry=entry))
            change.events.append(
                _event(EventType.LOYALTY_POINTS_EARNED, event, at, points=points, paid=paid)
            )


def applied(customer: str, event: DomainEvent) -> PointsMove:
    used, returned = int(event.data["points"]), int(event.data["returned"])
    entry = None
    if used:
        invoice = str(event.data["invoice"])
        entry = PointsEntry(customer, event.occurred_at, PointsKind.REDEEMED, -used, invoice)
    return PointsMove(customer, balance=returned, pending=-(used + returned), entry=entry)


def reversal(
    repo: BillingStore, change: Commit, customer: str, event: DomainEvent
) -> list[PointsMove]:
    """The share of an invoice's points that its refunds so far take back, less what earlier
    refunds took back already (the refunds use case may call this for its own change)."""
    invoice = event.entity_id
    read = next((a for a in change.points_read if a.customer_id == customer), None)
    account = read if read is not None else repo.get_points(customer)
    history = [e for e in account.entries if e.invoice == invoice]
    earned = next((e for e in history if e.kind is PointsKind.EARNED), None)
    if earned is None:
        return []
    refunded = int(event.data.get("amount_refunded", 0))
    already = -sum(e.points for e in history if e.kind is PointsKind.REVERSED)
    points = points_to_reverse(earned.points, earned.amount, refunded, already)
    if not points and int(event.data.get("amount", 0)) < 0:
        # Less is refunded than before (a refund failed): what its reversal took comes back,
        # as a reversal of a negative number of points.
        points = -points_to_give_back(earned.points, earned.amount, refunded, already)
    if not points:
        return []
    at = event.occurred_at
    entry = PointsEntry(customer, at, PointsKind.REVERSED, -points, invoice, refunded)
    change.events.append(
        _event(EventType.LOYALTY_POINTS_REVERSED, event, at, points=points, refunded=refunded)
    )
    return [PointsMove(customer, balance=-points, entry=entry)]


def _event(kind: EventType, cause: DomainEvent, at: datetime, **data: int) -> DomainEvent:
    # About the invoice, like the event that caused it; its seq keeps two reversals of one
    # invoice in one second apart.
    currency = cause.data.get("currency")
    seq = data.get("refunded", 0) % 1_000_000
    return DomainEvent(
        kind, cause.entity_id, cause.customer_id, at, seq, {**data, "currency": currency}
    )
