"""A customer's timeline: what happened to the account, in time order, for support staff.

Built from the customer's own records by key and bounded queries (no scan): its
subscriptions' lifecycle, their latest invoices with the attempts and refunds of each, the
emails owed or sent, and the audit entries. Domain events are not indexed by customer (they
are kept by day for the metrics), so the timeline shows the records they describe.
"""

from dataclasses import dataclass, field
from datetime import datetime

from tenure.domain.errors import NotFoundError
from tenure.domain.timeutil import iso
from tenure.services.context import Services

# The size bound: the newest invoices of each subscription, the subscriptions, the emails
# and the audit entries read are each capped, so one request costs a bounded number of reads.
INVOICES_PER_SUBSCRIPTION = 24
SUBSCRIPTIONS_READ = 20
EMAILS_READ = 200
AUDIT_READ = 200

Detail = dict[str, str | int | bool | None]


@dataclass(frozen=True, slots=True)
class TimelineItem:
    at: datetime
    type: str
    id: str
    detail: Detail = field(default_factory=dict)

    @property
    def order(self) -> str:
        return f"{self.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{self.type}#{self.id}"


def customer_timeline(
    svc: Services, customer_id: str, limit: int = 50, after: str | None = None
) -> tuple[list[TimelineItem], str | None]:
    """A page of the customer's timeline, oldest first, after the cursor `after` (the
    `order` of the last item of the page before). Unknown customer: NotFoundError."""
    customer = svc.repo.get_customer(customer_id)
    if customer is None:
        raise NotFoundError("customer", customer_id)
    items = [TimelineItem(customer.created_at, "customer.created", customer.id)]
    for sub in svc.repo.list_subscriptions(customer_id)[-SUBSCRIPTIONS_READ:]:
        items.append(
            TimelineItem(sub.created_at, "subscription.created", sub.id, {"plan": sub.plan_id})
        )
        if sub.canceled_at is not None:
            items.append(
                TimelineItem(
                    sub.canceled_at, "subscription.canceled", sub.id, {"reason": sub.cancel_reason}
                )
            )
        for invoice in svc.repo.list_invoices(sub.id)[-INVOICES_PER_SUBSCRIPTION:]:
            money: Detail = {"total": invoice.total, "currency": invoice.currency}
            items.append(
                TimelineItem(
                    invoice.created_at,
                    "invoice.created",
                    invoice.id,
                    money | {"status": str(invoice.status)},
                )
            )
            if invoice.paid_at is not None:
                items.append(TimelineItem(invoice.paid_at, "invoice.paid", invoice.id, money))
            if invoice.attempts:
                for charge in svc.repo.list_charges(invoice.id):
                    outcome = str(charge.outcome) if charge.outcome else str(charge.status)
                    detail: Detail = {
                        "invoice": invoice.id,
                        "attempt": charge.attempt,
                        "amount": charge.amount,
                        "outcome": outcome,
                        "decline_code": charge.decline_code,
                    }
                    items.append(TimelineItem(charge.at, "charge", charge.id, detail))
            if invoice.refunds:
                for refund in svc.repo.list_refunds(invoice.id):
                    detail = {
                        "invoice": invoice.id,
                        "amount": refund.amount,
                        "currency": refund.currency,
                    }
                    items.append(TimelineItem(refund.at, "refund", refund.id, detail))
    for notice in svc.repo.list_notices(customer_id)[-EMAILS_READ:]:
        at = notice.sent_at or notice.due_at
        detail = {"kind": str(notice.kind), "status": str(notice.status)}
        items.append(TimelineItem(at, "email", notice.key, detail))
    for entry in svc.repo.list_customer_audit(customer_id, AUDIT_READ):
        detail = {
            "actor": entry.actor,
            "action": str(entry.action),
            "entity": entry.entity,
            "note": entry.note,
            "reference": entry.reference,
        }
        items.append(TimelineItem(entry.at, "audit", entry.id, detail))
    items.sort(key=lambda i: i.order)
    if after is not None:
        items = [i for i in items if i.order > after]
    page = items[:limit]
    return page, (page[-1].order if len(items) > limit and page else None)


def timeline_moment(item: TimelineItem) -> str:
    text = iso(item.at)
    assert text is not None
    return text
