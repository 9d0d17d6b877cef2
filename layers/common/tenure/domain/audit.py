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

from tenure.domain.charges import Charge
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent
from tenure.domain.ids import compact, digest
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.offers import NO_CONTROL_CHARACTERS
from tenure.domain.timeutil import parse_iso, utc

# The actors of automated changes: the function (or page) that made them.
SYSTEM_RENEWALS = "system:renewals"
SYSTEM_WEBHOOKS = "system:webhooks"
SYSTEM_DUNNING = "system:dunning"
SYSTEM_PORTAL = "system:portal"  # a customer acting through a signed page
SYSTEM_API = "system:api"  # a call whose caller is not known (services called directly)
# Every automated actor there is: a `system:` name outside these is no actor (a 422).
SYSTEM_ACTORS = (SYSTEM_RENEWALS, SYSTEM_WEBHOOKS, SYSTEM_DUNNING, SYSTEM_PORTAL, SYSTEM_API)

# A person's (a named API token's) name: what a principal can be called (the API's own
# check, functions/api/api_tokens.py, is held to the same pattern by a test).
PRINCIPAL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
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
    ENDPOINT_SECRET_ROTATED = "endpoint_secret_rotated"
    DELIVERY_REPLAYED = "delivery_replayed"
    # An automated change, read from the events it committed (automated_entries): its actor
    # says which process made it, its `after` which events it recorded.
    SYSTEM_CHANGE = "system_change"
    # A new mandate's registration payment recorded (docs/razorpay.md); its refund is REFUND.
    MANDATE_REGISTERED = "mandate_registered"
    # A provider customer a request made and did not store, learned by the due work or left
    # for a person (docs/privacy.md).
    PROVIDER_CUSTOMER = "provider_customer"


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
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    entity: str,
    after: Summary,
    nonce: str = "",
) -> AuditEntry:
    """An entry of a change to the business's webhook endpoints (or a delivery to one):
    they belong to no customer, so `customer_id` is empty and the entry is in no timeline."""
    return new_entry(
        nonce=nonce,
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


# An event as an automated commit stored it: its public form, its actor (Commit.source) and
# what the actor acted through (Commit.via: a portal link's purpose and id), if anything.
Sourced = tuple[dict[str, object], str, str | None]


def automated_entries(sourced: Iterable[Sourced]) -> list[AuditEntry]:
    """The entries of automated changes, read from the events they committed with their
    source (Commit.source): one per actor, moment and entity the events are about (a
    renewal: one on the subscription, one on its invoice), naming its events' types in the
    table's order, each once, and the portal link a customer acted through (`after.link`).
    Nothing is stored: the id derives from the first event's id, so the same events always
    give the same entries, and a page's cursor stays valid."""
    groups: dict[tuple[str, str, str], list[tuple[dict[str, object], str | None]]] = {}
    # In the table's order (moment, then event id), whatever order they were read in.
    for event, source, via in sorted(
        sourced, key=lambda f: (str(f[0]["occurred_at"]), str(f[0]["id"]))
    ):
        if not is_system_actor(source) or not event.get("customer_id"):
            continue
        key = (source, str(event["occurred_at"]), str(event["entity_id"]))
        groups.setdefault(key, []).append((event, via))
    entries = []
    for (source, occurred_at, entity), found in groups.items():
        events = [event for event, _ in found]
        after: Summary = {"events": " ".join(dict.fromkeys(str(e["type"]) for e in events))}
        link = next((via for _, via in found if via), None)
        if link is not None:
            after["link"] = link
        entries.append(
            new_entry(
                at=parse_iso(occurred_at),
                actor=source,
                action=AuditAction.SYSTEM_CHANGE,
                entity=entity,
                customer_id=str(events[0]["customer_id"]),
                note=None,
                before={},
                after=after,
                nonce=str(events[0]["id"]),
            )
        )
    return sorted(entries, key=lambda e: e.order)


def unnamed_days(
    events: Iterable[DomainEvent],
    invoices: Iterable[Invoice],
    charges: Iterable[Charge],
    plans: Iterable[InstallmentPlan] = (),
) -> list[tuple[str, str]]:
    """The (customer, `yyyy-mm-dd`) of an automated commit's events whose day the trail
    would not find from the records the commit writes: the trail reads the events of the
    days a customer's records name (invoices, a subscription's or an instalment's: created,
    paid; their attempts; installment and repayment plans: created), and the days these
    pairs name are kept for it (store: `ADAY#`), so every automated change about a customer
    is found. A renewal's commits, and an instalment's, create or pay an invoice, or make an
    attempt, on their events' day: they name none, and write nothing more
    (docs/operations.md)."""
    named = {
        (i.customer_id, _day(moment))
        for i in invoices
        for moment in (i.created_at, i.paid_at)
        if moment is not None
    }
    named |= {(c.customer_id, _day(c.at)) for c in charges}
    named |= {(p.customer_id, _day(p.created_at)) for p in plans}
    wanted = {(e.customer_id, _day(e.occurred_at)) for e in events if e.customer_id}
    return sorted(wanted - named)


def _day(moment: datetime) -> str:
    return utc(moment).date().isoformat()  # the day partition its events are kept in


def link_name(purpose: str, token: str) -> str:
    """How an entry names the portal link a customer acted through: its purpose and an id
    derived from the token (never the token: it would let a reader of the trail act)."""
    return f"{purpose} lnk_{digest(token, size=12)}"


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
