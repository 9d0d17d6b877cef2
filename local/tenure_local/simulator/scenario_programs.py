"""What a scenario file's `programs:` block must agree with elsewhere in the file."""

from collections.abc import Callable
from typing import Any

from tenure_local.simulator.scenario_problems import Problem, show


def loyalty_on(raw: dict[str, Any]) -> bool:
    """Whether the file turns the loyalty program on (redeem_points needs it)."""
    programs = raw.get("programs")
    return isinstance(programs, dict) and bool(programs.get("loyalty"))


def offer_references(
    raw: dict[str, Any], ids: dict[str, list[str]], listing: Callable[[list[str]], str]
) -> list[Problem]:
    """Save offers name the file's own coupons and plans (`ids`: the file's ids by kind;
    `listing`: how a problem lists the ids there are)."""
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
                        f"{listing(ids[kind])}",
                    )
                )
    return problems
