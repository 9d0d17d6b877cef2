"""Content-derived identifiers, so replays name the same things the same way."""

import hashlib
import re
from datetime import datetime

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)
# A name shown to customers (a plan's, a coupon's: on invoice lines, PDFs and pages): no
# control characters (C0, DEL, C1) and no bidi overrides or isolates (U+202A-U+202E,
# U+2066-U+2069), which could make a line read otherwise than it is. Other scripts are fine.
DISPLAY_NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
_DISPLAY_NAME_RE = re.compile(DISPLAY_NAME_PATTERN)
DISPLAY_NAME_MAX = 200


def display_name_refusal(name: str) -> str | None:
    """Why `name` cannot be shown to customers as a plan's, coupon's or customer's name, in
    the API's rule (DISPLAY_NAME_PATTERN, at most DISPLAY_NAME_MAX characters), for what
    reads names without pydantic (an import); None when it can."""
    if len(name) > DISPLAY_NAME_MAX:
        return f"is {len(name)} characters long; at most {DISPLAY_NAME_MAX}"
    if not _DISPLAY_NAME_RE.fullmatch(name):  # `$` alone would let a final line break by
        return "holds control characters or bidi overrides or isolates"
    return None


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def compact(moment: datetime) -> str:
    """A timestamp usable inside an id: 20260131T090000Z."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


def digest(*parts: object, size: int = 20) -> str:
    joined = "|".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:size]


def invoice_id(subscription_id: str, kind: str, period_start: datetime) -> str:
    return f"in_{subscription_id}_{kind}_{compact(period_start)}"


def event_id(event_type: str, entity_id: str, occurred_at: datetime, seq: int) -> str:
    return f"evt_{digest(event_type, entity_id, occurred_at.isoformat(), seq)}"
