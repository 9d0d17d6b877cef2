"""Audit entries: who changed what, why, and how it stood before and after.

An entry is committed in the same transaction as the change it records (Commit.audit), so
there is never an entry for a change that did not happen, nor a change without its entry.
The actor is a principal's name (an API token's, e.g. `support-anna`) or, for automated
changes, one of the `system:` actors below.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tenure.domain.errors import ValidationFailedError
from tenure.domain.ids import compact, digest
from tenure.domain.offers import NO_CONTROL_CHARACTERS
from tenure.domain.timeutil import parse_iso

# The actors of automated changes: the function (or page) that made them.
SYSTEM_RENEWALS = "system:renewals"
SYSTEM_WEBHOOKS = "system:webhooks"
SYSTEM_DUNNING = "system:dunning"
SYSTEM_PORTAL = "system:portal"  # a customer acting through a signed page
SYSTEM_API = "system:api"  # a call whose caller is not known (services called directly)

NOTE_MAX = 1000
REFERENCE_MAX = 200
_NO_CONTROL = re.compile(NO_CONTROL_CHARACTERS)

# What an entry's before/after summary may hold: a few named scalar fields.
Summary = dict[str, str | int | bool | None]


class AuditAction(StrEnum):
    REFUND = "refund"
    VOID = "void"
    WRITE_OFF = "write_off"
    MARK_PAID = "mark_paid"
    RETRY = "retry"
    ADJUST_CREDIT = "adjust_credit"
    EXTEND_TRIAL = "extend_trial"
    CHANGE_RENEWAL_DATE = "change_renewal_date"
    CANCEL = "cancel"
    ERASE = "erase"
    # Outbound webhook endpoints (docs/webhooks-outbound.md), by a token's holder.
    ENDPOINT_REGISTERED = "endpoint_registered"
    ENDPOINT_DELETED = "endpoint_deleted"
    ENDPOINT_ENABLED = "endpoint_enabled"
    DELIVERY_REPLAYED = "delivery_replayed"
    # An automated change, read from the events it committed (automated_entries): its actor
    # says which process made it, its `after` which events it recorded.
    SYSTEM_CHANGE = "system_change"
    # A new mandate's registration payment recorded (docs/razorpay.md); its refund is REFUND.
    MANDATE_REGISTERED = "mandate_registered"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: datetime
    actor: str
    action: AuditAction
    entity: str  # the id of the object acted on (an invoice, a subscription)
    customer_id: str
    note: str | None
    reference: str | None = None
    before: Summary = field(default_factory=dict)
    after: Summary = field(default_factory=dict)

    @property
    def order(self) -> str:
        """How entries sort, and the cursor a page ends at: by moment, then id."""
        return f"{self.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{self.id}"


def new_entry(
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    entity: str,
    customer_id: str,
    note: str | None,
    before: Summary,
    after: Summary,
    reference: str | None = None,
    nonce: str = "",
) -> AuditEntry:
    """An entry with an id derived from what it records (`nonce` tells apart two actions of
    one actor on one entity in the same microsecond)."""
    entry_id = f"aud_{compact(at)}_{digest(actor, action, entity, at.isoformat(), nonce, size=12)}"
    return AuditEntry(
        entry_id, at, actor, action, entity, customer_id, note, reference, before, after
    )


def endpoint_entry(
    *, at: datetime, actor: str, action: AuditAction, entity: str, after: Summary
) -> AuditEntry:
    """An entry of a change to the business's webhook endpoints (or a delivery to one):
    they belong to no customer, so `customer_id` is empty and the entry is in no timeline."""
    return new_entry(
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        customer_id="",
        note=None,
        before={},
        after=after,
    )


def is_system_actor(actor: str) -> bool:
    return actor.startswith("system:")


def automated_entries(sourced: Iterable[tuple[dict[str, object], str]]) -> list[AuditEntry]:
    """The entries of automated changes, read from the events they committed with their
    source (Commit.source): one per actor, moment and entity the events are about (a
    renewal: one on the subscription, one on its invoice), naming its events' types in the
    table's order, each once. Nothing is stored: the id derives from the first event's id,
    so the same events always give the same entries, and a page's cursor stays valid."""
    groups: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    # In the table's order (moment, then event id), whatever order they were read in.
    for event, source in sorted(sourced, key=lambda f: (str(f[0]["occurred_at"]), str(f[0]["id"]))):
        if not is_system_actor(source) or not event.get("customer_id"):
            continue
        key = (source, str(event["occurred_at"]), str(event["entity_id"]))
        groups.setdefault(key, []).append(event)
    entries = []
    for (source, occurred_at, entity), events in groups.items():
        entries.append(
            new_entry(
                at=parse_iso(occurred_at),
                actor=source,
                action=AuditAction.SYSTEM_CHANGE,
                entity=entity,
                customer_id=str(events[0]["customer_id"]),
                note=None,
                before={},
                after={"events": " ".join(dict.fromkeys(str(e["type"]) for e in events))},
                nonce=str(events[0]["id"]),
            )
        )
    return sorted(entries, key=lambda e: e.order)


def check_note(note: str | None, *, required: bool = True) -> str | None:
    """A note as an operator gives it: 1-1000 characters without control characters
    (refused whole, never trimmed); None only where it is not required."""
    if note is None:
        if required:
            raise ValidationFailedError("note", "a note saying why is required")
        return None
    if not note.strip():
        raise ValidationFailedError("note", "must not be blank")
    if len(note) > NOTE_MAX:
        raise ValidationFailedError("note", f"must be at most {NOTE_MAX} characters")
    if not _NO_CONTROL.match(note):
        raise ValidationFailedError("note", "must not hold control characters such as line breaks")
    return note
