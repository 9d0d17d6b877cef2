"""The renewal capacity rows alone, with where each renewal's write capacity goes, item by
item: `python -m tenure_local.bench.renewal_capacity [RENEWALS]` (10 by default, ~1 minute),
instead of a whole `tenure bench`; then the same with ids of real length. Prints, never
asserts."""

import sys
from typing import Any

from tenure_local.bench.renewals import renewal_pipeline
from tenure_local.stack.local_stack import LocalStack


def measure(renewals: int = 10) -> dict[str, Any]:
    """The short-id figures as before, and under `long_ids` the same renewals' figures with
    ids of the API's and Stripe's length (renewals.bench_ids), each on a stack of its own."""
    with LocalStack() as stack:
        short = renewal_pipeline(stack, renewals)
    with LocalStack() as stack:
        long = renewal_pipeline(stack, renewals, long_ids=True)
    return short | {"long_ids": long}


def lines(p: dict[str, Any]) -> list[str]:
    out = [
        f"renewed {p['renewed']} of {p['subscriptions']}; "
        f"{p['requests_per_renewal']:.2f} DynamoDB requests per renewal (≤ 3)",
        f"{p['wcu_per_renewal']:.1f} WCU per renewal ({p['index_wcu_per_renewal']:.1f} on "
        f"indexes); floor {p['floor_wcu_per_renewal']:.1f} "
        f"({p['floor_index_wcu_per_renewal']:.1f} on indexes); target ≤ 20",
        f"{p['rcu_per_renewal']:.2f} RCU per renewal; "
        f"{p['provider_calls_per_renewal']:.2f} provider calls per renewal",
        "WCU per renewal by step and item (on indexes in brackets):",
    ]
    for label, (wcu, index) in sorted(p["wcu_by_item"].items()):
        out.append(f"  {label:40} {wcu:5.1f} ({index:.1f})")
    if isinstance(long := p.get("long_ids"), dict):
        out += long_id_lines(long)
    return out


def long_id_lines(p: dict[str, Any]) -> list[str]:
    """The same renewals with ids of the API's and Stripe's length."""
    out = [
        f"with ids of the API's and Stripe's length: {p['wcu_per_renewal']:.1f} WCU per "
        f"renewal ({p['index_wcu_per_renewal']:.1f} on indexes); floor "
        f"{p['floor_wcu_per_renewal']:.1f} ({p['floor_index_wcu_per_renewal']:.1f} on "
        f"indexes); renewed {p['renewed']} of {p['subscriptions']}",
        "WCU per renewal by step and item with those ids (on indexes in brackets):",
    ]
    for label, (wcu, index) in sorted(p["wcu_by_item"].items()):
        out.append(f"  {label:40} {wcu:5.1f} ({index:.1f})")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        renewals = int(args[0]) if args else 10
    except ValueError:
        print(f"usage: python -m tenure_local.bench.renewal_capacity [RENEWALS], not {args[0]!r}")
        return 2
    if renewals < 1:
        print("RENEWALS must be at least 1")
        return 2
    print("\n".join(lines(measure(renewals))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
