"""Idempotency-Key records of API requests (docs/api.md): a request claims its key before it
runs, then stores its answer for retries to replay, or releases the key if it wrote nothing."""

from collections.abc import Mapping
from typing import Any

from tenure.ports import IdempotencyRecord
from tenure.services.context import Services


def claim(svc: Services, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """None when the key is now this request's; otherwise the record already holding it."""
    return svc.repo.claim_idempotency(key, fingerprint, svc.clock.now())


def complete(
    svc: Services,
    key: str,
    status: int,
    body: str,
    customer_id: str | None = None,
    headers: Mapping[str, str | list[str]] | None = None,
) -> None:
    """Store the answer a retry with this key will get instead of running again, filed
    under `customer_id` when the request was about a customer (its erasure drops it).
    `headers`, when given, are stored beside the status and body, for the replay to carry
    them; without them the record has the shape it had before headers were kept."""
    response: dict[str, Any] = {"status": status, "body": body}
    if headers is not None:
        response["headers"] = dict(headers)
    svc.repo.complete_idempotency(key, response, svc.clock.now(), customer_id)


def release(svc: Services, key: str) -> None:
    """Let a retry with this key run afresh: only for a request that wrote nothing."""
    svc.repo.release_idempotency(key)


def about(path_customer: str | None, touched: set[str]) -> str | None:
    """The customer a request was about: the one its path names, else the one its commits
    touched. A request that touched several (no route does today) is filed under the first
    by id: its answer then outlives the erasure of the others by at most a day."""
    if path_customer is not None:
        return path_customer
    return min(touched) if touched else None
