"""What an Idempotency-Key record keeps of an answer (docs/api.md "Idempotency"): its status
and body always, its headers only when given, so an answer without headers of its own has the
record's shape from before headers were kept."""

from datetime import UTC, datetime

from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services import idempotency
from tenure.services.context import Services

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _answered(headers: dict[str, str | list[str]] | None) -> dict[str, object] | None:
    svc = Services(InMemoryRepository(), FixedClock(T))
    assert idempotency.claim(svc, "api:k", "fp") is None
    idempotency.complete(svc, "api:k", 303, "", headers=headers)
    held = idempotency.claim(svc, "api:k", "fp")
    assert held is not None and held.status == "done"
    return held.response


def test_an_answers_headers_are_kept_beside_its_status_and_body() -> None:
    headers: dict[str, str | list[str]] = {"Location": "/pages/done", "Vary": ["Accept"]}

    assert _answered(headers) == {"status": 303, "body": "", "headers": headers}


def test_an_answer_without_headers_keeps_the_records_old_shape() -> None:
    assert _answered(None) == {"status": 303, "body": ""}
