"""The PrivacyStore role on dicts, mixed into the in-memory repository (tenure.fakes), with
the same effects as the DynamoDB store (tenure.store.privacy)."""

from collections.abc import MutableSequence
from dataclasses import replace
from typing import Any

from tenure.domain.audit import AuditEntry
from tenure.domain.privacy import LegalHold


class InMemoryPrivacy:
    """Legal holds kept apart from the repository's other records, so a run that erases
    nobody stores exactly what it stored before."""

    events: MutableSequence[dict[str, Any]]  # tenure.fakes_events.PackedEvents
    audit: list[AuditEntry]

    @property
    def _legal_holds(self) -> dict[str, LegalHold]:
        found: dict[str, LegalHold] = self.__dict__.setdefault("_privacy_legal_holds", {})
        return found

    def save_legal_hold(self, hold: LegalHold) -> None:
        self._legal_holds[hold.customer_id] = hold

    def get_legal_hold(self, customer_id: str) -> LegalHold | None:
        return self._legal_holds.get(customer_id)

    def customer_events(self, customer_id: str, days: list[str]) -> list[dict[str, Any]]:
        wanted = set(days)
        return [
            dict(e)
            for e in self.events
            if str(e["occurred_at"])[:10] in wanted and e.get("customer_id") == customer_id
        ]

    def rewrite_events(self, events: list[dict[str, Any]]) -> None:
        by_id = {e["id"]: e for e in events}
        self.events[:] = [by_id.get(e["id"], e) for e in self.events]

    def rewrite_audit(self, entries: list[AuditEntry]) -> None:
        by_id = {e.id: e for e in entries}
        self.audit[:] = [
            replace(e, note=by_id[e.id].note, before=by_id[e.id].before, after=by_id[e.id].after)
            if e.id in by_id
            else e
            for e in self.audit
        ]
