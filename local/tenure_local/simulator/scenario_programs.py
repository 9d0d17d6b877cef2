"""What the `programs:` and `coupons:` blocks of a scenario file must agree with."""

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tenure.domain.coupon_spec import CouponSpec
from tenure.domain.timeutil import utc
from tenure_local.simulator.scenario_problems import Problem, show


def loyalty_on(raw: dict[str, Any]) -> bool:
    """Whether the file turns the loyalty program on (redeem_points needs it)."""
    programs = raw.get("programs")
    return isinstance(programs, dict) and bool(programs.get("loyalty"))


def offer_references(raw: dict[str, Any], ids: dict[str, list[str]]) -> list[Problem]:
    """Save offers name the file's own coupons and plans (`ids`: the file's ids by kind)."""
    programs = raw.get("programs")
    offers = programs.get("save_offers") if isinstance(programs, dict) else None
    problems: list[Problem] = []
    for n, offer in enumerate(offers if isinstance(offers, list) else []):
        if not isinstance(offer, dict):
            continue  # reported where the programs are validated
        for field, kind in (("coupon", "coupons"), ("plan", "plans")):
            named = offer.get(field)
            if isinstance(named, str) and named not in ids[kind]:
                problems.append(
                    Problem(
                        f"programs.save_offers[{n}].{field}",
                        f"unknown {field} {show(named)}; expected one of the {kind}: "
                        f"{some(ids[kind])}",
                    )
                )
    return problems


def cancel_problems(raw: dict[str, Any], where: str, action: Any) -> list[Problem]:
    """A `cancel` action's: a refund goes with an immediate cancel; an offer accepted must be
    one the file's programs configure."""
    problems = []
    if action.refund != "none" and action.at_period_end:
        problems.append(
            Problem(
                f"{where}.refund",
                "a refund goes with an immediate cancel; expected at_period_end false",
            )
        )
    if action.accept_offer is not None:
        programs = raw.get("programs")
        offers = programs.get("save_offers") if isinstance(programs, dict) else None
        known = [o.get("id") for o in offers or [] if isinstance(o, dict)]
        if action.accept_offer not in known:
            problems.append(
                Problem(
                    f"{where}.accept_offer",
                    f"unknown offer {show(action.accept_offer)}; expected one of "
                    f"programs.save_offers: {some([str(k) for k in known])}",
                )
            )
    return problems


class Coupons:
    """The file's coupons as its actions redeem them, in time order: what can be told before
    the run of a coupon that would be refused (unknown, past `redeem_by`, used up, for other
    plans or another currency), so the file is refused before anything runs."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.specs: dict[str, CouponSpec] = {}
        for item in listed(raw, "coupons"):
            try:
                spec = CouponSpec.model_validate(item)
            except ValidationError:
                continue  # reported where the coupon is validated
            self.specs.setdefault(spec.id, spec)
        self.currencies: dict[str, str] = {}
        for item in listed(raw, "plans"):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                self.currencies[item["id"]] = str(item.get("currency", "")).upper()
        self.redeemed: dict[str, int] = {}
        self.plans_of: dict[str, str] = {}  # each subscription's plan as the actions go

    def redeem(self, where: str, coupon_id: str, plan: str | None, at: datetime) -> list[Problem]:
        path = f"{where}.coupon"
        spec = self.specs.get(coupon_id)
        if spec is None:
            return [
                Problem(
                    path,
                    f"unknown coupon {show(coupon_id)}; expected one of the coupons: "
                    f"{some(list(self.specs))}",
                )
            ]
        if spec.redeem_by is not None and at > utc(spec.redeem_by):
            return [
                Problem(
                    path,
                    f"coupon {show(coupon_id)} could be redeemed until "
                    f"{utc(spec.redeem_by).isoformat()}; expected an action no later",
                )
            ]
        count = self.redeemed.get(coupon_id, 0)
        if spec.max_redemptions is not None and count >= spec.max_redemptions:
            return [
                Problem(
                    path,
                    f"coupon {show(coupon_id)} is already redeemed {count} times by earlier "
                    f"actions, its max_redemptions",
                )
            ]
        if plan is not None and spec.plans and plan not in spec.plans:
            return [
                Problem(
                    path,
                    f"coupon {show(coupon_id)} is for plans {', '.join(spec.plans)}, "
                    f"not {show(plan)}",
                )
            ]
        currency = self.currencies.get(plan or "")
        if spec.currency is not None and currency and spec.currency != currency:
            return [
                Problem(
                    path,
                    f"coupon {show(coupon_id)} takes off {spec.currency}; "
                    f"plan {show(plan)} is billed in {currency}",
                )
            ]
        self.redeemed[coupon_id] = count + 1
        return []


def coupon_problems(
    raw: dict[str, Any], plan_ids: list[str], start: datetime | None
) -> list[Problem]:
    """Coupons no one could redeem, as the API refuses them when the run creates them at
    `start`: one for a plan the file does not have, or whose `redeem_by` is not after start."""
    problems: list[Problem] = []
    for n, item in enumerate(listed(raw, "coupons")):
        try:
            spec = CouponSpec.model_validate(item)
        except ValidationError:
            continue  # reported where the coupon is validated
        redeem_by = utc(spec.redeem_by) if spec.redeem_by is not None else None
        if start is not None and redeem_by is not None and redeem_by <= start:
            problems.append(
                Problem(
                    f"coupons[{n}].redeem_by",
                    f"{redeem_by.isoformat()} is not after start; expected a later moment",
                )
            )
        for plan in spec.plans:
            if plan not in plan_ids:
                problems.append(
                    Problem(
                        f"coupons[{n}].plans",
                        f"unknown plan {show(plan)}; expected one of the plans: {some(plan_ids)}",
                    )
                )
    return problems


def listed(raw: dict[str, Any], key: str) -> list[Any]:
    items = raw.get(key)
    return items if isinstance(items, list) else []


def some(names: list[str], most: int = 8) -> str:
    if not names:
        return "(none yet)"
    shown = ", ".join(n if len(n) <= 40 else f"{n[:37]}..." for n in names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"
