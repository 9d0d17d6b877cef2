"""A customer's timeline: what happened to the account, in time order, for support staff.

Built from the customer's own records by key and bounded queries (no scan): its
subscriptions' lifecycle, their latest invoices with the attempts and refunds of each, its
installment and repayment plans with their instalments' invoices (attempts and refunds too),
the emails owed or sent, and the audit entries. Domain events are not indexed by customer (they
are kept by day for the metrics), so the timeline shows the records they describe; the
automated changes among them (renewals, dunning, provider webhooks, the customer's own pages)
are read from the events of the days those records name and of the days the customer's
other automated changes kept (`activity_days`), and shown as audit entries of their
`system:` actor (tenure.domain.audit.automated_entries; docs/operations.md).
"""

from dataclasses import dataclass, field
from datetime import datetime

from tenure.domain.audit import AuditEntry, automated_entries, is_system_actor
from tenure.domain.errors import NotFoundError, ValidationFailedError
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.timeutil import iso
from tenure.ports import Repository
from tenure.services import audit_listing
from tenure.services.context import Services

# The size bound: the newest invoices of each subscription, the subscriptions, the emails
# and the audit entries read are each capped, so one request costs a bounded number of reads.
INVOICES_PER_SUBSCRIPTION = 24
SUBSCRIPTIONS_READ = 20
# Installment and repayment plans (a collections case pays through one): the newest, each
# with every instalment invoiced so far (at most 12 a plan), read in one batch.
PLANS_READ = 20
EMAILS_READ = 200
AUDIT_READ = 200
# The newest days of automated changes no record names (ADAY#): one event query each.
ACTIVITY_DAYS_READ = 100

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
    items = _record_items(svc, customer_id)
    entries = svc.repo.list_customer_audit(customer_id, AUDIT_READ)
    entries += _automated(svc, customer_id, items)
    for entry in entries:
        detail: Detail = {
            "actor": entry.actor,
            "action": str(entry.action),
            "entity": entry.entity,
            "note": entry.note,
            "reference": entry.reference,
        }
        if is_system_actor(entry.actor):
            detail["events"] = entry.after.get("events")
            if "link" in entry.after:  # the portal link a customer acted through
                detail["link"] = entry.after["link"]
        items.append(TimelineItem(entry.at, "audit", entry.id, detail))
    items.sort(key=lambda i: i.order)
    if after is not None:
        items = [i for i in items if i.order > after]
    page = items[:limit]
    return page, (page[-1].order if len(items) > limit and page else None)


def _automated(svc: Services, customer_id: str, records: list[TimelineItem]) -> list[AuditEntry]:
    """The customer's automated changes: on the days their records name, and on the days
    the automated commits that wrote no such record kept for them (a pause ending with
    nothing charged, a card updated through a page: tenure.domain.audit.unnamed_days).
    Each day's events are read once."""
    days = {i.at.strftime("%Y-%m-%d") for i in records}
    days.update(svc.repo.activity_days(customer_id, ACTIVITY_DAYS_READ))
    return automated_entries(svc.repo.sourced_events(customer_id, sorted(days)))


def _record_items(svc: Services, customer_id: str) -> list[TimelineItem]:
    """The timeline's items read from the customer's records (all but audit entries).
    Unknown customer: NotFoundError."""
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
            items += _invoice_items(svc, invoice)
    plans = svc.repo.list_installment_plans(customer_id)[-PLANS_READ:]
    for plan in plans:
        detail: Detail = {
            "amount": plan.amount,
            "currency": plan.currency,
            "count": plan.count,
            "every": str(plan.every),
            "collection_case": plan.collection_case_id,
        }
        items.append(TimelineItem(plan.created_at, "installment_plan.created", plan.id, detail))
    for invoice in instalment_invoices(svc.repo, plans):
        items += _invoice_items(svc, invoice)
    for notice in svc.repo.list_notices(customer_id)[-EMAILS_READ:]:
        at = notice.sent_at or notice.due_at
        detail = {"kind": str(notice.kind), "status": str(notice.status)}
        items.append(TimelineItem(at, "email", notice.key, detail))
    return items


def _invoice_items(svc: Services, invoice: Invoice) -> list[TimelineItem]:
    """An invoice's items: created, paid, and each of its attempts and refunds."""
    money: Detail = {"total": invoice.total, "currency": invoice.currency}
    created = money | {"status": str(invoice.status)}
    if invoice.installment_plan_id:  # an instalment's: its plan says what it pays for
        created["installment_plan"] = invoice.installment_plan_id
    items = [TimelineItem(invoice.created_at, "invoice.created", invoice.id, created)]
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
    return items


def instalment_invoices(repo: Repository, plans: list[InstallmentPlan]) -> list[Invoice]:
    """The invoices of the plans' instalments invoiced so far, in the plans' order: listed
    under their plan, not a subscription, so found by the ids the plan holds (one batch
    read per 100)."""
    ids = [i.invoice_id for plan in plans for i in plan.instalments if i.invoice_id]
    found = repo.get_invoices(ids) if ids else {}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def timeline_moment(item: TimelineItem) -> str:
    text = iso(item.at)
    assert text is not None
    return text


def audit_entries(
    svc: Services,
    *,
    entity: str | None,
    actor: str | None,
    limit: int,
    after: str | None,
    since: str | None = None,
    until: str | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """A page of audit entries of an `entity` or an `actor` (or both), oldest first, and the
    cursor of the next page (None at the end). An automated actor alone is listed across
    the table, newest first, between `since` and `until` (services.audit_listing)."""
    if entity is None and actor is None:
        raise ValidationFailedError("entity", "name an entity or an actor (or both)")
    if actor is not None:
        audit_listing.check_actor(actor)
    if actor is not None and is_system_actor(actor) and entity is None:
        return audit_listing.automated_trail(
            svc,
            actor,
            limit=limit,
            after=after,
            since=audit_listing.moment("since", since),
            until=audit_listing.moment("until", until),
        )
    if since is not None or until is not None:
        field_name = "since" if since is not None else "until"
        raise ValidationFailedError(
            field_name, "a window applies to an automated actor's listing without an entity"
        )
    # Stored entries, people's and the few an automated actor writes (an erasure finished
    # by the renewals), then the automated changes read from the events.
    people, people_next = svc.repo.list_audit(entity=entity, actor=actor, limit=limit, after=after)
    automated = _automated_of_entity(svc, entity, actor) if entity is not None else []
    # Two streams in one order (AuditEntry.order): each read past the cursor, merged, cut.
    merged = sorted(
        people + [e for e in automated if after is None or e.order > after],
        key=lambda e: e.order,
    )
    page = merged[:limit]
    more = people_next is not None or len(merged) > limit
    return page, (page[-1].order if more and page else None)


def _automated_of_entity(svc: Services, entity: str, actor: str | None) -> list[AuditEntry]:
    """The automated changes of `entity`: a customer, or a subscription, invoice,
    installment plan or collections case of one (another entity, such as a webhook
    endpoint, has none)."""
    customer_id = _customer_of(svc, entity)
    if customer_id is None:
        return []
    found = _automated(svc, customer_id, _record_items(svc, customer_id))
    return [e for e in found if e.entity == entity and (actor is None or e.actor == actor)]


def _customer_of(svc: Services, entity: str) -> str | None:
    if svc.repo.get_customer(entity) is not None:
        return entity
    sub = svc.repo.get_subscription(entity)
    if sub is not None:
        return sub.customer_id
    invoice = svc.repo.get_invoice(entity)
    if invoice is not None:
        return invoice.customer_id
    # Then the plans and cases (instalments' invoices and repayments record their events
    # on them), read last: an entity of another kind costs these two reads more.
    plan = svc.repo.get_installment_plan(entity)
    if plan is not None:
        return plan.customer_id
    case = svc.repo.get_collection_case(entity)
    return case.customer_id if case is not None else None
