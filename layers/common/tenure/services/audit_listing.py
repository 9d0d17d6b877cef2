"""An automated actor's audit trail across the table: `GET /v1/audit?actor=system:…`.

Automated changes store no entry: they are read from the events their commits stored with
their actor (docs/operations.md), which are kept by day. So the listing walks the days back
from `until` to `since`, newest first, one query per day (a day with nothing costs one
empty query), stopping once a page's read budget is spent; the actor's stored entries (an
erasure finished by the renewals, an endpoint changed by the bare token) are merged in.
"""

import re
from datetime import UTC, datetime, timedelta

from tenure.domain.audit import (
    PRINCIPAL_NAME,
    SYSTEM_ACTORS,
    AuditEntry,
    automated_entries,
    is_system_actor,
)
from tenure.domain.errors import ValidationFailedError
from tenure.domain.timeutil import parse_iso, utc
from tenure.services.context import Services

# How far back the listing looks when no `since` is given, and the most it may be asked to.
DEFAULT_WINDOW = timedelta(days=31)
MAX_WINDOW = timedelta(days=366)
# Event items a page reads at most before it ends (plus the rest of the moment it is in).
READ_BUDGET = 1000
# A cursor of this listing: an entry's order (`at#id`), or a moment then `#0` (before it).
_CURSOR = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[A-Za-z0-9_]+$")
_ORDER = "%Y-%m-%dT%H:%M:%S.%fZ"  # AuditEntry.order's moment
# Nothing Tenure keeps is older: a window reaching before it asks for nothing, and one
# reaching year 1 would overflow the walk back by days.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def check_actor(actor: str) -> None:
    """A `system:` name no process acts as, or a name no token can have, is no actor:
    refused rather than listed empty. (A token's name is not checked against the tokens
    configured now: entries outlive the tokens that made them.)"""
    if is_system_actor(actor):
        if actor not in SYSTEM_ACTORS:
            raise ValidationFailedError(
                "actor", f"unknown automated actor {actor!r}; known: {', '.join(SYSTEM_ACTORS)}"
            )
    elif not PRINCIPAL_NAME.match(actor):
        raise ValidationFailedError(
            "actor", "neither an automated actor (system:…) nor a name a token can have"
        )


def moment(name: str, text: str | None) -> datetime | None:
    """A `since`/`until` as given (ISO 8601 with a zone, or a day meaning its midnight UTC)."""
    if text is None:
        return None
    try:
        at = utc(parse_iso(text if "T" in text else f"{text}T00:00:00Z"))
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValidationFailedError(
            name, "must be an ISO 8601 moment with a zone, or a day"
        ) from None
    if at < EARLIEST:
        raise ValidationFailedError(name, f"must not be before {EARLIEST.date()}")
    return at


def automated_trail(
    svc: Services,
    actor: str,
    *,
    limit: int,
    after: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[AuditEntry], str | None]:
    """A page of `actor`'s entries, newest first, from `until` (default: now) back to `since`
    (default: a month before `until`), after the cursor `after`; and the next page's cursor
    (None: no more). A page may hold fewer than `limit` entries and still have a cursor: its
    read budget ran out first."""
    check_actor(actor)
    until = until or svc.clock.now()
    since = since or until - DEFAULT_WINDOW
    if since > until:
        raise ValidationFailedError("since", "must not be after until")
    if until - since > MAX_WINDOW:
        raise ValidationFailedError("since", f"look back at most {MAX_WINDOW.days} days at once")
    bound, upto = _bound(after, until)
    if upto < since:
        return [], None
    sourced, rest = svc.repo.automated_events(actor, upto=upto, since=since, budget=READ_BUDGET)
    derived = [e for e in automated_entries(sourced) if e.order < bound]
    stored = svc.repo.list_actor_audit_newest(actor, before=bound, since=since, limit=limit + 1)
    if rest is not None:
        # Read whole down to `rest`'s moment: a stored entry below it waits for its page.
        stored = [e for e in stored if e.order >= rest.strftime(_ORDER)]
    merged = sorted(derived + stored, key=lambda e: e.order, reverse=True)
    page = merged[:limit]
    if len(merged) > limit:
        return page, page[-1].order
    return page, (f"{rest.strftime(_ORDER)}#0" if rest is not None else None)


def _bound(after: str | None, until: datetime) -> tuple[str, datetime]:
    """The order every entry of the page is below, and the latest moment its events are at
    (events are kept at whole seconds)."""
    if after is None:
        return f"{until.strftime(_ORDER)}#~", until.replace(microsecond=0)
    if not _CURSOR.match(after):
        raise ValidationFailedError("cursor", "not a cursor of this listing: pass next_cursor")
    try:
        at = utc(parse_iso(after.split("#", 1)[0]))
    except ValueError:
        raise ValidationFailedError(
            "cursor", "not a cursor of this listing: pass next_cursor"
        ) from None
    if after.endswith("#0"):  # before the moment: nothing of it
        if at < EARLIEST:  # no listing gives one; at year 1 the step back would overflow
            raise ValidationFailedError("cursor", "not a cursor of this listing: pass next_cursor")
        at -= timedelta(microseconds=1)
    return after, at.replace(microsecond=0)
