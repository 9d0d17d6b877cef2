"""Retention of the customers in each retention program against those outside it, over a
simulated period, from the state it ended in (docs/metrics.md, "Retention by program").

Pure: reads a state.json-shaped document, so the local report can show it; the deployed
report has no such state and leaves it out."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Fewer customers than this in either group and a difference says nothing: the section
# shows the counts and says so instead of comparing.
MIN_GROUP = 10
# A customer who has any subscription in one of these at the end is still a customer.
_STAYING = frozenset({"trialing", "active", "past_due", "paused"})


@dataclass(frozen=True, slots=True)
class Group:
    customers: int
    churned: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.customers if self.customers else None

    @property
    def retention(self) -> float | None:
        rate = self.churn_rate
        return None if rate is None else 1 - rate


@dataclass(frozen=True, slots=True)
class ProgramRetention:
    program: str
    inside: Group
    outside: Group

    @property
    def comparable(self) -> bool:
        return min(self.inside.customers, self.outside.customers) >= MIN_GROUP

    @property
    def difference(self) -> float | None:
        """Retention inside less retention outside, when both groups are big enough."""
        if not self.comparable or self.inside.retention is None or self.outside.retention is None:
            return None
        return self.inside.retention - self.outside.retention


def program_retention(state: dict[str, Any]) -> list[ProgramRetention]:
    """Each program at least one paying customer was in: the paying customers in it and the
    rest, how many of each churned by the end. Paying customers: those with a paid invoice."""
    invoices = state.get("invoices") or []
    paying = {i["customer"] for i in invoices if i.get("status") == "paid"}
    if not paying:
        return []
    staying = {
        s["customer"] for s in state.get("subscriptions") or [] if s.get("status") in _STAYING
    }
    churned = paying - staying
    members = {
        "coupons": _with_line(invoices, "coupon"),
        "loyalty points (redeemed)": {
            customer
            for customer, account in (state.get("points") or {}).items()
            if any(e.get("kind") == "redeemed" for e in account.get("entries") or [])
        },
        "tenure discount": _with_line(invoices, "tenure_discount"),
    }
    found = []
    for program, customers in members.items():
        inside = customers & paying
        if not inside:
            continue
        outside = paying - inside
        found.append(
            ProgramRetention(
                program,
                Group(len(inside), len(inside & churned)),
                Group(len(outside), len(outside & churned)),
            )
        )
    return found


def _with_line(invoices: Iterable[dict[str, Any]], kind: str) -> set[str]:
    """The customers with a paid invoice that carries a line of `kind`."""
    return {
        i["customer"]
        for i in invoices
        if i.get("status") == "paid" and any(line.get("kind") == kind for line in i["lines"])
    }
