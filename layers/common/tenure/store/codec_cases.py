"""Collections and installments, and retention offers' save attempts, to and from plain
attribute maps."""

from typing import Any

from tenure.domain.collection_cases import CaseLine, CaseStatus, CollectionCase
from tenure.domain.installments import (
    Every,
    InstallmentPlan,
    Instalment,
    InstalmentStatus,
    PlanStatus,
)
from tenure.domain.offers import AttemptStatus, SaveAttempt, SaveOffer
from tenure.store.codec_values import parse_time, require_time, time_text


def installment_plan_to_attrs(p: InstallmentPlan) -> dict[str, Any]:
    return {
        "id": p.id,
        "customer_id": p.customer_id,
        "amount": p.amount,
        "currency": p.currency,
        "count": p.count,
        "every": str(p.every),
        "description": p.description,
        "start": time_text(p.start),
        "created_at": time_text(p.created_at),
        "status": str(p.status),
        "instalments": [
            {
                "number": i.number,
                "due_at": time_text(i.due_at),
                "amount": i.amount,
                "invoice_id": i.invoice_id,
                "status": str(i.status),
            }
            for i in p.instalments
        ],
    } | ({"collection_case_id": p.collection_case_id} if p.collection_case_id else {})


def installment_plan_from_attrs(a: dict[str, Any]) -> InstallmentPlan:
    return InstallmentPlan(
        id=a["id"],
        customer_id=a["customer_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        count=int(a["count"]),
        every=Every(a["every"]),
        description=a["description"],
        start=require_time(a["start"]),
        created_at=require_time(a["created_at"]),
        status=PlanStatus(a["status"]),
        instalments=[
            Instalment(
                number=int(i["number"]),
                due_at=require_time(i["due_at"]),
                amount=int(i["amount"]),
                invoice_id=i.get("invoice_id"),
                status=InstalmentStatus(i["status"]),
            )
            for i in a["instalments"]
        ],
        collection_case_id=a.get("collection_case_id"),
        version=int(a.get("version", 0)),
    )


def collection_case_to_attrs(c: CollectionCase) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "subscription_id": c.subscription_id,
        "currency": c.currency,
        "lines": [
            {
                "invoice_id": ln.invoice_id,
                "period_start": time_text(ln.period_start),
                "period_end": time_text(ln.period_end),
                "description": ln.description,
                "amount": ln.amount,
            }
            for ln in c.lines
        ],
        "opened_at": time_text(c.opened_at),
        "status": str(c.status),
        "recovered": c.recovered,
        "forgiven": c.forgiven,
        "plan_id": c.plan_id,
        "plans_made": c.plans_made,
        "closed_at": time_text(c.closed_at),
    }


def collection_case_from_attrs(a: dict[str, Any]) -> CollectionCase:
    return CollectionCase(
        id=a["id"],
        customer_id=a["customer_id"],
        subscription_id=a["subscription_id"],
        currency=a["currency"],
        lines=[
            CaseLine(
                invoice_id=ln["invoice_id"],
                period_start=require_time(ln["period_start"]),
                period_end=require_time(ln["period_end"]),
                description=ln["description"],
                amount=int(ln["amount"]),
            )
            for ln in a["lines"]
        ],
        opened_at=require_time(a["opened_at"]),
        status=CaseStatus(a["status"]),
        recovered=int(a["recovered"]),
        forgiven=int(a.get("forgiven", 0)),  # absent from cases stored before it was kept
        plan_id=a.get("plan_id"),
        plans_made=int(a.get("plans_made", 0)),
        closed_at=parse_time(a.get("closed_at")),
        version=int(a.get("version", 0)),
    )


def save_attempt_to_attrs(a: SaveAttempt) -> dict[str, Any]:
    return {
        "id": a.subscription_id,
        "subscription_id": a.subscription_id,
        "customer_id": a.customer_id,
        "currency": a.currency,
        "offers": [o.to_dict() for o in a.offers],
        "presented_at": time_text(a.presented_at),
        "reason": a.reason,
        "reason_text": a.reason_text,
        "status": str(a.status),
        "decided_at": time_text(a.decided_at),
        "accepted": a.accepted,
        "presentations": a.presentations,
    }


def save_attempt_from_attrs(a: dict[str, Any]) -> SaveAttempt:
    offers = tuple(
        SaveOffer(
            id=o["id"],
            kind=o["kind"],
            months=int(o["months"]) if o.get("months") is not None else None,
            coupon=o.get("coupon"),
            plan=o.get("plan"),
        )
        for o in a.get("offers") or []
    )
    return SaveAttempt(
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        currency=a["currency"],
        offers=offers,
        presented_at=require_time(a["presented_at"]),
        reason=a.get("reason"),
        reason_text=a.get("reason_text"),
        status=AttemptStatus(a["status"]),
        decided_at=parse_time(a.get("decided_at")),
        accepted=a.get("accepted"),
        presentations=int(a.get("presentations", 1)),
        version=int(a.get("version", 0)),
    )
