"""Whether a chaos run ended where the calm run of the same scenario did.

`tenure chaos compare CALM_DIR CHAOS_DIR` checks what docs/reliability.md promises:
- state.json's subscriptions, invoices and collection cases are the calm run's, field by
  field;
- every paid invoice has exactly one successful charge (`tenure charges audit`'s rules);
- the outbox has no email twice (`tenure emails audit`); whether it holds the calm run's
  emails (by notice key: when they went out may differ) is reported apart, since an email
  whose sender died between its claim and SES is never sent (at most once, by design);
- metrics.json is the calm run's.

One kind of difference is the truth of the world rather than a fault of Tenure's: when a
payment was recorded. A charger that dies after its claim leaves the payment to the sweeper,
which confirms it when the claim's lease ends; the invoice is paid minutes later than in the
calm run, because that is when the money moved. Such a moment (`LATE_FIELDS`), later than
the calm run's by at most `RECOVERY_BOUND`, is reported apart (`late`), not as a difference.

Another is the order in which invoices finalized at the same moment took their legal numbers
(docs/invoices.md): a fault that delays one customer's renewal lets another's take the next
number. What numbering promises is compared instead: the same invoices numbered, with the
same numbers between them (so still gap-free and unique); which invoice holds which of those
numbers is reported apart (`renumbered`).
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tenure_local.runtime import outbox
from tenure_local.simulator import charges_audit

# When something was recorded, per kind: what recovery may make later, never earlier.
LATE_FIELDS = {
    "invoices": ("paid_at",),
    "subscriptions": ("canceled_at",),
    # A case opens when its last decline is recorded, and closes when its last payment is.
    "collection_cases": ("opened_at", "closed_at"),
}
# What state.json lists and a chaos run must end with as the calm run did (a folder written
# before collection cases has none).
COMPARED = ("subscriptions", "invoices", "collection_cases")


def _case_identity(case: dict[str, Any]) -> str:
    """A collections case is the same case when it collects the same invoices of the same
    subscription. Its id is made from the moment its dunning ended, which a fault that
    delays the last attempt (a renewal message delivered again minutes later) moves with
    it: another id, opened later within the bound, is that moment recorded later."""
    return f"{case['subscription']}<{','.join(line['invoice'] for line in case['lines'])}>"


# How an item of each kind is matched between the runs (by default its id), and the fields
# that then name the moment it was recorded rather than the item (compared as LATE_FIELDS).
IDENTITY = {"collection_cases": _case_identity}
NAMED_BY_MOMENT = {"collection_cases": ("id",)}
# A lease (5 min) and a redelivery (3 min), the schedule's retries, a webhook delivered
# again an hour later: compounded by a few faults in a row, well within an hour.
RECOVERY_BOUND = timedelta(hours=1)
# Taken in finalization order: compared as a set (see the module's docstring).
NUMBERED_FIELDS = {"invoices": ("number",)}


class CompareInputError(Exception):
    """A folder is not one `tenure simulate` wrote."""


@dataclass
class Comparison:
    differences: list[str] = field(default_factory=list)  # state.json, field by field
    late: list[str] = field(default_factory=list)  # recorded later, within RECOVERY_BOUND
    renumbered: list[str] = field(default_factory=list)  # same numbers, other holders
    charges: list[str] = field(default_factory=list)  # exactly-once findings
    emails_twice: list[str] = field(default_factory=list)
    emails_missing: list[str] = field(default_factory=list)  # sent calm, not under chaos
    emails_extra: list[str] = field(default_factory=list)  # sent under chaos only
    metrics: list[str] = field(default_factory=list)  # paths in metrics.json that differ

    @property
    def ok(self) -> bool:
        """What chaos must never change (issue 13): state, charges, no email twice, metrics.
        An email may be lost by design (at most once: a crash between its claim and SES),
        so the emails' sameness is reported apart (`same_emails`)."""
        return not (self.differences or self.charges or self.emails_twice or self.metrics)

    @property
    def same_emails(self) -> bool:
        return not (self.emails_missing or self.emails_extra)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "same_emails": self.same_emails,
            "state": self.differences,
            "late": self.late,
            "renumbered": self.renumbered,
            "charges": self.charges,
            "emails_twice": self.emails_twice,
            "emails_missing": self.emails_missing,
            "emails_extra": self.emails_extra,
            "metrics": self.metrics,
        }


def compare(calm: Path, chaos: Path) -> Comparison:
    result = Comparison()
    calm_state, chaos_state = _json(calm / "state.json"), _json(chaos / "state.json")
    for kind in COMPARED:
        found = _compare_lists(kind, calm_state.get(kind, []), chaos_state.get(kind, []))
        result.differences += [text for text, late in found if not late]
        result.late += [text for text, late in found if late]
        for name in NUMBERED_FIELDS.get(kind, ()):
            moved, wrong = _compare_numbers(kind, name, calm_state[kind], chaos_state[kind])
            result.renumbered += moved
            result.differences += wrong
    state, events = charges_audit.load(chaos)
    audit = charges_audit.audit(state, events)
    result.charges = [f"{f.rule}: {f.subject}: {f.detail}" for f in audit.findings]
    calm_mail, chaos_mail = _notice_keys(calm), _notice_keys(chaos)
    result.emails_twice = outbox.audit(chaos).duplicates
    result.emails_missing = sorted(calm_mail - chaos_mail)
    result.emails_extra = sorted(chaos_mail - calm_mail)
    result.metrics = _paths_that_differ(
        _json(calm / "metrics.json"), _json(chaos / "metrics.json"), "metrics"
    )
    return result


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CompareInputError(f"cannot read {path}: {exc}") from exc


def _compare_lists(
    kind: str, calm: list[dict[str, Any]], chaos: list[dict[str, Any]]
) -> list[tuple[str, bool]]:
    """Each difference, and whether it is only a moment recorded later (within the bound)."""
    identity = IDENTITY.get(kind, lambda item: str(item["id"]))
    calm_by_id = {identity(item): item for item in calm}
    chaos_by_id = {identity(item): item for item in chaos}
    found = [
        (f"{kind}: {i} only in the calm run", False)
        for i in sorted(calm_by_id - chaos_by_id.keys())
    ]
    found += [
        (f"{kind}: {i} only under chaos", False) for i in sorted(chaos_by_id - calm_by_id.keys())
    ]
    for item_id in sorted(calm_by_id.keys() & chaos_by_id.keys()):
        before, after = calm_by_id[item_id], chaos_by_id[item_id]
        for name in sorted(before.keys() | after.keys()):
            if name in NUMBERED_FIELDS.get(kind, ()):
                continue  # compared as a set: _compare_numbers
            was, now = before.get(name), after.get(name)
            if was != now:
                late = name in LATE_FIELDS.get(kind, ()) and _later_within_bound(was, now)
                if name in NAMED_BY_MOMENT.get(kind, ()):
                    late = _recorded_later(kind, before, after)
                found.append((f"{kind}: {item_id}.{name}: calm {was!r}, chaos {now!r}", late))
    return found


def _recorded_later(kind: str, calm: dict[str, Any], chaos: dict[str, Any]) -> bool:
    """Whether an item named by the moment it was recorded was recorded later, within the
    bound, by every field that says when (so another name is only that later moment)."""
    moments = [name for name in LATE_FIELDS.get(kind, ()) if calm.get(name) is not None]
    return (
        bool(moments)
        and all(
            calm[name] == chaos.get(name) or _later_within_bound(calm[name], chaos.get(name))
            for name in moments
        )
        and any(calm[name] != chaos.get(name) for name in moments)
    )


def _later_within_bound(calm: Any, chaos: Any) -> bool:
    if not (isinstance(calm, str) and isinstance(chaos, str)):
        return False
    try:
        delay = datetime.fromisoformat(chaos) - datetime.fromisoformat(calm)
    except ValueError:
        return False
    return timedelta(0) < delay <= RECOVERY_BOUND


def _notice_keys(folder: Path) -> set[str]:
    """The notice keys of the emails in folder/outbox (each email names its notice)."""
    keys = set()
    for path in sorted((folder / "outbox").glob("*.eml")):
        keys.add(str(outbox.read(path)["X-Tenure-Notice"]))
    return keys


def _paths_that_differ(calm: Any, chaos: Any, path: str, limit: int = 50) -> list[str]:
    """Where two JSON documents differ, as paths (`metrics.monthly[2].mrr`), at most `limit`."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() | b.keys(), key=str):
                walk(a.get(key), b.get(key), f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for n, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{n}]")
        elif a != b:
            found.append(f"{where}: calm {_short(a)}, chaos {_short(b)}")

    walk(calm, chaos, path)
    return found


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _compare_numbers(
    kind: str, name: str, calm: list[dict[str, Any]], chaos: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """(numbers held by another item than in the calm run, differences): the same items
    must be numbered and the numbers taken must be the same ones."""
    calm_by_id = {item["id"]: item.get(name) for item in calm}
    chaos_by_id = {item["id"]: item.get(name) for item in chaos}
    wrong: list[str] = []
    for item_id in sorted(calm_by_id.keys() & chaos_by_id.keys()):
        if (calm_by_id[item_id] is None) != (chaos_by_id[item_id] is None):
            was, now = calm_by_id[item_id], chaos_by_id[item_id]
            wrong.append(f"{kind}: {item_id}.{name}: calm {was!r}, chaos {now!r}")
    calm_numbers = sorted(n for n in calm_by_id.values() if n is not None)
    chaos_numbers = sorted(n for n in chaos_by_id.values() if n is not None)
    if calm_numbers != chaos_numbers:
        gone = sorted(set(calm_numbers) - set(chaos_numbers))
        new = sorted(set(chaos_numbers) - set(calm_numbers))
        wrong.append(f"{kind}: {name}s taken differ: calm only {gone}, chaos only {new}")
    moved = [
        f"{kind}: {item_id}.{name}: calm {calm_by_id[item_id]!r}, chaos {chaos_by_id[item_id]!r}"
        for item_id in sorted(calm_by_id.keys() & chaos_by_id.keys())
        if calm_by_id[item_id] is not None
        and chaos_by_id[item_id] is not None
        and calm_by_id[item_id] != chaos_by_id[item_id]
    ]
    return moved, wrong
