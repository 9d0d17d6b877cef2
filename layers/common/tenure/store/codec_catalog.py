"""The catalogue to and from plain attribute maps: plans (their tiers and price changes),
coupons and the discounts they grant, the loyalty programs, and price notice runs."""

from decimal import Decimal
from typing import Any

from tenure.domain.discounts import Coupon, Discount, DiscountTerms
from tenure.domain.plans import Plan, PlanKind, TaxBehavior, Tier
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.prices import PriceChange
from tenure.domain.programs import ProgramsSetting, programs_from_json
from tenure.store.codec_values import parse_time, require_time, time_text


def plan_to_attrs(p: Plan) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "amount": p.amount,
        "currency": p.currency,
        "interval": str(p.interval),
        "interval_count": p.interval_count,
        "trial_days": p.trial_days,
        "intro": [{"periods": i.periods, "percent_off": str(i.percent_off)} for i in p.intro],
        "tax_rate": str(p.tax_rate),
        "tax_behavior": str(p.tax_behavior),
        # Written only when set: the items of plans as they were stay as they were.
        **({"kind": str(p.kind)} if p.kind is not PlanKind.PLAN else {}),
        **({"tiers": [_tier_to_attrs(t) for t in p.tiers]} if p.tiers else {}),
        # Written only once there are some: plans without changes stay as they were.
        **(
            {"price_changes": [_price_change_to_attrs(c) for c in p.price_changes]}
            if p.price_changes
            else {}
        ),
    }


def _price_change_to_attrs(c: PriceChange) -> dict[str, Any]:
    return {
        "id": c.id,
        "amount": c.amount,
        "effective_at": time_text(c.effective_at),
        "notice_days": c.notice_days,
        "grandfather": c.grandfather,
        "announced_at": time_text(c.announced_at),
        **({"tiers": [_tier_to_attrs(t) for t in c.tiers]} if c.tiers else {}),
    }


def _price_change_from_attrs(a: dict[str, Any]) -> PriceChange:
    return PriceChange(
        id=a["id"],
        amount=int(a["amount"]),
        effective_at=require_time(a["effective_at"]),
        notice_days=int(a["notice_days"]),
        grandfather=bool(a["grandfather"]),
        announced_at=require_time(a["announced_at"]),
        tiers=tuple(_tier_from_attrs(t) for t in a.get("tiers") or ()),
    )


def _tier_to_attrs(t: Tier) -> dict[str, Any]:
    return {"up_to": t.up_to, "unit_amount": t.unit_amount, "flat_amount": t.flat_amount}


def _tier_from_attrs(a: dict[str, Any]) -> Tier:
    up_to = a.get("up_to")
    return Tier(
        up_to=int(up_to) if up_to is not None else None,
        unit_amount=int(a["unit_amount"]),
        flat_amount=int(a.get("flat_amount", 0)),
    )


def plan_from_attrs(a: dict[str, Any]) -> Plan:
    return Plan(
        id=a["id"],
        name=a.get("name") or "",
        amount=int(a["amount"]),
        currency=a["currency"],
        interval=a["interval"],
        interval_count=int(a.get("interval_count", 1)),
        trial_days=int(a.get("trial_days", 0)),
        # Stored as text ("12.5", "exclusive"): Plan holds them as Decimal and enums.
        intro=a.get("intro") or (),
        tax_rate=a.get("tax_rate", "0"),
        tax_behavior=a.get("tax_behavior", TaxBehavior.EXCLUSIVE),
        kind=a.get("kind", PlanKind.PLAN),
        tiers=tuple(_tier_from_attrs(t) for t in a.get("tiers") or ()),
        price_changes=tuple(_price_change_from_attrs(c) for c in a.get("price_changes") or ()),
    )


def _terms_to_attrs(t: DiscountTerms) -> dict[str, Any]:
    return {
        "percent_off": str(t.percent_off) if t.percent_off is not None else None,
        "amount_off": t.amount_off,
        "currency": t.currency,
    }


def _terms_from_attrs(a: dict[str, Any]) -> DiscountTerms:
    percent = a.get("percent_off")
    amount = a.get("amount_off")
    return DiscountTerms(
        percent_off=Decimal(percent) if percent is not None else None,
        amount_off=int(amount) if amount is not None else None,
        currency=a.get("currency"),
    )


def coupon_to_attrs(c: Coupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        **_terms_to_attrs(c.terms),
        "duration": str(c.duration),
        "duration_in_periods": c.duration_in_periods,
        "max_redemptions": c.max_redemptions,
        "redeem_by": time_text(c.redeem_by),
        "plans": list(c.plans),
        "created_at": time_text(c.created_at),
        "times_redeemed": c.times_redeemed,
    }


def coupon_from_attrs(a: dict[str, Any]) -> Coupon:
    periods, most = a.get("duration_in_periods"), a.get("max_redemptions")
    return Coupon(
        id=a["id"],
        name=a.get("name") or "",
        terms=_terms_from_attrs(a),
        duration=a["duration"],
        duration_in_periods=int(periods) if periods is not None else None,
        max_redemptions=int(most) if most is not None else None,
        redeem_by=parse_time(a.get("redeem_by")),
        plans=tuple(a.get("plans") or ()),
        created_at=require_time(a["created_at"]),
        times_redeemed=int(a.get("times_redeemed", 0)),
        version=int(a.get("version", 0)),
    )


def discount_to_attrs(d: Discount | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "coupon_id": d.coupon_id,
        "name": d.name,
        **_terms_to_attrs(d.terms),
        "plans": list(d.plans),
        "periods_left": d.periods_left,
        "starts": time_text(d.starts),
    }


def discount_from_attrs(a: dict[str, Any] | None) -> Discount | None:
    if not a:
        return None
    left = a.get("periods_left")
    return Discount(
        coupon_id=a["coupon_id"],
        name=a.get("name") or a["coupon_id"],
        terms=_terms_from_attrs(a),
        plans=tuple(a.get("plans") or ()),
        periods_left=int(left) if left is not None else None,
        starts=require_time(a["starts"]),
    )


def programs_to_attrs(setting: ProgramsSetting) -> dict[str, Any]:
    # As JSON text: the document is read and written whole, never queried inside, and its
    # exact percentages survive as written.
    return {
        "id": "programs",
        "document": setting.programs.model_dump_json(exclude_none=True),
        "updated_at": time_text(setting.updated_at),
    }


def programs_from_attrs(a: dict[str, Any]) -> ProgramsSetting:
    return ProgramsSetting(
        programs=programs_from_json(a["document"]),
        version=int(a.get("version", 0)),
        updated_at=parse_time(a.get("updated_at")),
    )


def price_run_to_attrs(r: PriceNoticeRun) -> dict[str, Any]:
    return {
        "change_id": r.change_id,
        "price_id": r.price_id,
        "started_at": time_text(r.started_at),
        "cursor": r.cursor,
        "pages": r.pages,
        "finished_at": time_text(r.finished_at),
    }


def price_run_from_attrs(a: dict[str, Any]) -> PriceNoticeRun:
    return PriceNoticeRun(
        change_id=a["change_id"],
        price_id=a["price_id"],
        started_at=require_time(a["started_at"]),
        cursor=a.get("cursor"),
        pages=int(a.get("pages") or 0),
        finished_at=parse_time(a.get("finished_at")),
        version=int(a.get("version") or 0),
    )
