"""Loyalty points: a customer's balance and history, and redeeming points as a credit on
the next invoice (earning and reversing follow the money: services.points_planning)."""

from datetime import datetime

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import Invoice
from tenure.domain.points import PointsAccount, PointsMove, not_enough
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.ports import Commit, Marker
from tenure.services.catalog import get_customer
from tenure.services.context import Services
from tenure.services.points_planning import reversal

# The subscriptions that will have a next period invoice, and when it comes.
_RENEWING = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def get_points(svc: Services, customer_id: str) -> PointsAccount:
    get_customer(svc, customer_id)  # an unknown customer is a 404, not an empty account
    return svc.repo.get_points(customer_id)


def redeem_points(
    svc: Services, customer_id: str, points: int, claim: Marker | None = None
) -> PointsAccount:
    """Take `points` from the balance for a credit on the customer's next period invoice.
    Refused (ValidationFailedError on `points`, nothing written) while the loyalty program
    is off, beyond the balance (also when a concurrent redemption took it meanwhile: the
    balance is checked by the write itself), or with no subscription to invoice. `claim`: a
    marker written with the redemption (AlreadyExistsError, nothing written, when it exists)."""
    get_customer(svc, customer_id)
    if svc.repo.get_programs().programs.loyalty is None:
        raise ValidationFailedError("points", "the loyalty program is off")
    if points < 1:
        raise ValidationFailedError("points", "redeem at least one point")
    balance = svc.repo.get_points(customer_id).balance
    if balance < points:
        raise ValidationFailedError("points", not_enough(customer_id, points, balance))
    sub = next_invoiced(svc.repo.list_subscriptions(customer_id))
    if sub is None:
        raise ValidationFailedError(
            "points", f"customer {customer_id!r} has no subscription whose next invoice to credit"
        )
    sub.take_points(points, svc.clock.now())
    change = Commit(
        points=[PointsMove(customer_id, -points, points, at_least=points)],
        markers=[claim] if claim is not None else [],
    )
    change.add_subscription(sub)
    svc.commit_with_notices(change)
    return svc.repo.get_points(customer_id)


def next_invoiced(subs: list[Subscription]) -> Subscription | None:
    """The subscription whose next period invoice comes first (a pause with an end counts
    from its end; one paused until resumed comes last), the oldest on a tie."""
    dated: list[tuple[datetime, datetime, Subscription]] = []
    for sub in subs:
        if sub.status in _RENEWING and not sub.cancel_at_period_end:
            dated.append((sub.current_period_end, sub.created_at, sub))
        elif sub.status is SubscriptionStatus.PAUSED:
            dated.append(
                (
                    sub.paused_until or datetime.max.replace(tzinfo=sub.created_at.tzinfo),
                    sub.created_at,
                    sub,
                )
            )
    return min(dated, key=lambda d: (d[0], d[1]))[2] if dated else None


def reverse_points(
    svc: Services, invoice: Invoice, refunded_so_far: int, at: datetime, change: Commit
) -> None:
    """Add to `change` the points a refund of `invoice` takes back: `refunded_so_far` is the
    invoice's amount refunded in all, this refund included. Not needed when the change
    carries an `InvoiceRefunded` event with `amount_refunded` and is committed through
    `Services.commit_with_notices`: that reverses them already (once: a change that
    carries points moves is not planned again)."""
    event = DomainEvent(
        EventType.INVOICE_REFUNDED,
        invoice.id,
        invoice.customer_id,
        at,
        0,
        {"amount_refunded": refunded_so_far, "currency": invoice.currency},
    )
    change.points.extend(reversal(svc.repo, change, invoice.customer_id, event))
