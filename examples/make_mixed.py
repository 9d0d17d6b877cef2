"""Writes examples/mixed-500.yaml: 500 customers over six months with a mix of test cards.

Deterministic (a fixed seed), so the file only changes when this script does.
Run: .venv/bin/python examples/make_mixed.py [CUSTOMERS [MONTHS]]
(`tenure bench` builds its larger scenarios with `scenario_text`, without writing them here.)
"""

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

GOOD = "4242424242424242"
# (share, card switched to after signing up, card given back later or None)
STORIES = [
    (0.62, None, None),  # pays every time
    (0.10, "4000000000009995", GOOD),  # insufficient funds, then a new card: recovered
    (0.05, "4000000000009995", None),  # insufficient funds, never fixed: soft dunning runs out
    (0.05, "4000000000009979", None),  # stolen card: hard decline, never retried
    (0.04, "4000000000000069", GOOD),  # expired card replaced
    (0.04, "4000002760003184", None),  # needs authentication off-session
    (0.04, "4000000000000341", GOOD),  # attaches, every charge fails, then replaced
    (0.03, "4000000000000119", None),  # processing errors: soft
    (0.03, None, None),  # cancels (below)
]


def main(count: int = 500, months: int = 6) -> None:
    out = Path(__file__).with_name(
        f"mixed-{count}.yaml" if months == 6 else f"mixed-{count}-{months}m.yaml"
    )
    out.write_text(scenario_text(count, months))


def scenario_text(count: int, months: int = 6) -> str:
    """The scenario of `count` customers over `months` months from 2026-01-01, as YAML."""
    rng = random.Random(20260101)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    plans = [
        {"id": "basic", "name": "Basic", "amount": 1000, "currency": "USD", "interval": "month"},
        {"id": "pro", "name": "Pro", "amount": 2900, "currency": "USD", "interval": "month"},
        {"id": "annual", "name": "Annual", "amount": 24000, "currency": "USD", "interval": "year"},
        {"id": "weekly", "name": "Weekly", "amount": 700, "currency": "USD", "interval": "week"},
        {
            "id": "trial",
            "name": "Pro with trial",
            "amount": 2900,
            "currency": "USD",
            "interval": "month",
            "trial_days": 14,
        },
    ]
    customers, actions = [], []
    steady: list[tuple[str, datetime]] = []  # (customer, signup) of those who always pay
    reasons = ["too_expensive", "missing_features", "switched_to_competitor", "unused"]
    for n in range(count):
        cid = f"c{n:03d}"
        customers.append(
            {
                "id": cid,
                "email": f"{cid}@example.com",
                "card": GOOD,
                "timezone": rng.choice(
                    ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo"]
                ),
            }
        )
        signup = start + timedelta(days=rng.randrange(0, 90), hours=rng.randrange(24))
        plan = rng.choices([p["id"] for p in plans], weights=[40, 25, 10, 10, 15])[0]
        sub = f"sub-{cid}"
        actions.append({"at": signup, "do": "subscribe", "customer": cid, "plan": plan, "id": sub})
        roll, acc = rng.random(), 0.0
        story = STORIES[-1]
        for candidate in STORIES:
            acc += candidate[0]
            if roll < acc:
                story = candidate
                break
        share, switch, back = story
        if switch:
            at = signup + timedelta(days=rng.randrange(2, 25))
            actions.append({"at": at, "do": "update_card", "customer": cid, "card": switch})
            if back:
                fix = at + timedelta(days=rng.randrange(25, 45), hours=rng.randrange(24))
                actions.append({"at": fix, "do": "update_card", "customer": cid, "card": back})
        elif share == 0.03 and switch is None:
            at = signup + timedelta(days=rng.randrange(20, 80))
            actions.append(
                {
                    "at": at,
                    "do": "cancel",
                    "subscription": sub,
                    "at_period_end": rng.random() < 0.7,
                    "reason": rng.choice(reasons),
                }
            )
        if plan in ("basic", "pro") and rng.random() < 0.1:
            at = signup + timedelta(days=rng.randrange(5, 60), hours=3)
            other = "pro" if plan == "basic" else "basic"
            actions.append({"at": at, "do": "change_plan", "subscription": sub, "plan": other})
        elif story is STORIES[0] and plan != "trial":
            steady.append((cid, signup))
    actions.extend(provider_actions(steady, random.Random(20260102), 40 * count // 500))
    for a in actions:
        a["at"] = a["at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    until = f"{2026 + months // 12}-{1 + months % 12:02d}-01T00:00:00Z"
    doc = {
        "start": "2026-01-01T00:00:00Z",
        "until": until,
        "plans": plans,
        "customers": customers,
        "actions": actions,
    }
    span = "six months" if months == 6 else f"{months} months"
    header = (
        f"# Generated by examples/make_mixed.py: {count} customers, {span}, mixed test cards.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, width=120)


def provider_actions(
    steady: list[tuple[str, datetime]], rng: random.Random, count: int = 40
) -> list[dict]:
    """What happens at the provider, reaching Tenure only as webhooks: refunds made in its
    dashboard (full and partial), disputes (won and lost) and cards renewed by the network,
    all on customers who pay, about their first invoice (its period starts at signup)."""
    picked = rng.sample(steady, count)
    actions: list[dict] = []
    for n, (cid, signup) in enumerate(picked):
        at = signup + timedelta(days=rng.randrange(3, 20), hours=rng.randrange(24))
        if n < count * 15 // 40:
            refund = {"at": at, "do": "provider_refund", "subscription": f"sub-{cid}"}
            refund["period_start"] = signup.strftime("%Y-%m-%dT%H:%M:%SZ")
            if n % 3:
                refund["amount"] = 300  # partial; the others refund what is left
            actions.append(refund)
        elif n < count * 25 // 40:
            closed = at + timedelta(days=rng.randrange(10, 40))
            actions.append(
                {
                    "at": at,
                    "do": "dispute",
                    "subscription": f"sub-{cid}",
                    "period_start": signup.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "outcome": "lost" if n % 2 else "won",
                    "closed_at": closed.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
        else:
            actions.append({"at": at, "do": "card_auto_updated", "customer": cid, "card": GOOD})
    return actions


if __name__ == "__main__":
    # `make_mixed.py` writes mixed-500.yaml; `make_mixed.py 100` the 100-customer one that
    # `make chaos` replays.
    main(*(int(arg) for arg in sys.argv[1:3]))
