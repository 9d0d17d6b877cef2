"""The API's idempotency records on dicts, mixed into the in-memory repository
(tenure.fakes), with the same effects as the DynamoDB store's."""

from datetime import datetime
from typing import Any

from tenure.fakes_copy import clone
from tenure.ports import IdempotencyRecord


class InMemoryIdempotency:
    """Each key's record, and the customer its request was about (the store's GSI1)."""

    idempotency: dict[str, IdempotencyRecord]
    idempotency_customers: dict[str, str]

    def claim_idempotency(
        self, key: str, fingerprint: str, now: datetime
    ) -> IdempotencyRecord | None:
        existing = self.idempotency.get(key)
        if existing is not None:
            return clone(existing)
        self.idempotency[key] = IdempotencyRecord(key, fingerprint, "in_progress")
        return None

    def complete_idempotency(
        self, key: str, response: dict[str, Any], now: datetime, customer_id: str | None = None
    ) -> None:
        record = self.idempotency[key]
        record.status, record.response = "done", response
        if customer_id is not None:
            self.idempotency_customers[key] = customer_id

    def release_idempotency(self, key: str) -> None:
        self.idempotency.pop(key, None)
        self.idempotency_customers.pop(key, None)

    def forget_idempotency(self, customer_id: str) -> int:
        keys = [k for k, c in self.idempotency_customers.items() if c == customer_id]
        for key in keys:
            record = self.idempotency[key]
            record.status, record.response = "erased", None
            del self.idempotency_customers[key]
        return len(keys)
