"""An Idempotency-Key claimed on DynamoDB Local while the request holding it lets it go: the
claim that found the key taken, then found no record when it read the holder, claims the key
rather than answering for a record that is not there (a `422 idempotency_key_reused` to a
request identical to the first)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(local_stack: LocalStack, fresh_table: str) -> DynamoRepository:
    return DynamoRepository(local_stack.dynamodb_client(), fresh_table)


def released_before_each_read(
    monkeypatch: pytest.MonkeyPatch, repo: DynamoRepository, key: str, times: int
) -> None:
    """The holder of `key` releases it (its request failed having written nothing) between a
    claim's refused put and its read of the holder, `times` times in a row; it claims the key
    again each time but the last, as the racing requests of a client that retries would."""
    real_get = repo._ddb.get_item
    left = [times]

    def get_item(**kwargs: Any) -> Any:
        if left[0] > 0 and kwargs["Key"]["PK"] == {"S": f"IDEM#{key}"}:
            left[0] -= 1
            repo.release_idempotency(key)
            if left[0] > 0:
                assert repo.claim_idempotency(key, "fp", T0) is None
        return real_get(**kwargs)

    monkeypatch.setattr(repo._ddb, "get_item", get_item)


def test_a_key_released_before_the_refused_claim_reads_it_is_claimed(
    monkeypatch: pytest.MonkeyPatch, repo: DynamoRepository
) -> None:
    assert repo.claim_idempotency("k1", "fp", T0) is None
    released_before_each_read(monkeypatch, repo, "k1", times=1)

    assert repo.claim_idempotency("k1", "fp", T0) is None

    held = repo.claim_idempotency("k1", "fp-other", T0)  # the key is this request's now
    assert held is not None and (held.fingerprint, held.status) == ("fp", "in_progress")


def test_a_key_that_keeps_changing_hands_answers_in_progress_not_reused(
    monkeypatch: pytest.MonkeyPatch, repo: DynamoRepository
) -> None:
    assert repo.claim_idempotency("k2", "fp", T0) is None
    released_before_each_read(monkeypatch, repo, "k2", times=50)

    held = repo.claim_idempotency("k2", "fp", T0)

    # Never a record without a fingerprint (which the API answers as another request's key).
    assert held is not None and (held.fingerprint, held.status) == ("fp", "in_progress")
