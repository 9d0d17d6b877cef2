"""Reading a simulation's outbox: what went out, in which language, and anything wrong with it.

`audit` is what `tenure emails audit DIR` prints and what the tests check: every .eml
parses, no notice key was sent twice, and no email's `Date` falls outside 09:00-20:00 in
its customer's zone (read from DIR/state.json). An email sent before its customer's time zone
last changed (a `CustomerUpdated` event naming `timezone`) is not judged: the zone it was
sent for is not in the outputs, and the later one would call a right hour wrong.
"""

import email
import email.policy
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from tenure.domain.notices import NoticeKind

QUIET_START, QUIET_END = 9, 20


@dataclass
class OutboxAudit:
    emails: int = 0
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, language)
    duplicates: list[str] = field(default_factory=list)  # notice keys sent more than once
    at_night: list[str] = field(default_factory=list)  # "file: local time"
    unreadable: list[str] = field(default_factory=list)
    # Sent before the customer's time zone changed: the hour is not judged (see above).
    before_zone_change: int = 0

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.at_night or self.unreadable)

    def kinds_in(self, language: str) -> set[str]:
        return {kind for (kind, lang) in self.by_kind if lang == language}


def read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def audit(folder: Path, zones: dict[str, str] | None = None) -> OutboxAudit:
    """Audit `folder`/outbox (or `folder` itself when it holds the .eml files)."""
    outbox = folder / "outbox" if (folder / "outbox").is_dir() else folder
    if zones is None:
        zones = _zones(folder / "state.json")
    rezoned = _zone_changes(folder / "events.jsonl")
    result = OutboxAudit()
    seen: Counter[str] = Counter()
    for path in sorted(outbox.glob("*.eml")):
        try:
            message = read(path)
            key = str(message["X-Tenure-Notice"])
            kind = next((str(k) for k in NoticeKind if f":{k}:" in key), "unknown")
            language = str(message["Content-Language"] or "?")
            sent: datetime = message["Date"].datetime
        except (AttributeError, AssertionError, TypeError, ValueError) as exc:
            result.unreadable.append(f"{path.name}: {exc}")
            continue
        result.emails += 1
        seen[key] += 1
        result.by_kind[(kind, language)] += 1
        customer = _customer_of(path.name, kind)
        if customer in rezoned and sent < rezoned[customer]:
            result.before_zone_change += 1
            continue
        zone = zones.get(customer, "UTC")
        local = sent.astimezone(ZoneInfo(zone))
        if not QUIET_START <= local.hour < QUIET_END:
            result.at_night.append(f"{path.name}: {local:%Y-%m-%d %H:%M} {zone}")
    result.duplicates = sorted(key for key, n in seen.items() if n > 1)
    return result


def _customer_of(name: str, kind: str) -> str:
    """`<timestamp>-<customer id>-<kind>[-n].eml` -> customer id (ids may hold dashes)."""
    stem = name.removesuffix(".eml")
    head = stem.split(f"-{kind}")[0]
    return head.split("-", 1)[1] if "-" in head else head


def _zone_changes(events_path: Path) -> dict[str, datetime]:
    """When each customer's time zone last changed, from the domain events."""
    changed: dict[str, datetime] = {}
    if not events_path.exists():
        return changed
    with events_path.open(encoding="utf-8") as lines:
        for line in lines:
            if '"CustomerUpdated"' not in line:
                continue
            event = json.loads(line)
            if "timezone" in (event.get("data") or {}).get("fields", ()):
                at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
                changed[event["entity_id"]] = max(at, changed.get(event["entity_id"], at))
    return changed


def _zones(state_path: Path) -> dict[str, str]:
    if not state_path.exists():
        return {}
    state = json.loads(state_path.read_text())
    return {c["id"]: c.get("timezone") or "UTC" for c in state.get("customers", [])}


def extract_html(message_path: Path, out: Path) -> Path:
    """The HTML part of an .eml as a file a browser can open."""
    body = read(message_path).get_body(("html",))
    if body is None:
        raise ValueError(f"{message_path.name} has no HTML part")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body.get_content(), encoding="utf-8")
    return out


def first_of(folder: Path, kind: str, language: str) -> Path | None:
    """The first email of `kind` in `language` in the outbox, if any."""
    outbox = folder / "outbox"
    for path in sorted(outbox.glob(f"*-{kind}*.eml")):
        if read(path)["Content-Language"] == language:
            return path
    return None
