"""Idempotency-Key records of API requests (docs/api.md): a request claims its key before it
runs, then stores its answer for retries to replay, or releases the key if it wrote nothing."""

from tenure.ports import IdempotencyRecord
from tenure.services.context import Services


def claim(svc: Services, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """None when the key is now this request's; otherwise the record already holding it."""
    return svc.repo.claim_idempotency(key, fingerprint, svc.clock.now())


def complete(svc: Services, key: str, status: int, body: str) -> None:
    """Store the answer a retry with this key will get instead of running again."""
    svc.repo.complete_idempotency(key, {"status": status, "body": body}, svc.clock.now())


def release(svc: Services, key: str) -> None:
    """Let a retry with this key run afresh: only for a request that wrote nothing."""
    svc.repo.release_idempotency(key)
