"""The outbound webhooks function as Lambda runs it: what a batch that delivers nothing
reports (no failures, its messages counted, no warning of an empty metric set)."""

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType

import pytest

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway
from tenure.services.context import Services
from tenure_local.runtime.functions import FakeContext, load_module

EVENT = {
    "id": "evt_1",
    "type": "SubscriptionRenewed",
    "occurred_at": "2026-03-01T00:00:00Z",
    "entity_id": "sub-1",
    "customer_id": "alice",
    "data": {},
}


def record(body: object, message_id: str) -> dict[str, object]:
    return {"messageId": message_id, "body": json.dumps(body)}


def from_the_bus(detail: dict[str, object]) -> dict[str, object]:
    return {
        "version": "0",
        "id": "6a7e8feb",
        "detail-type": detail["type"],
        "source": "tenure",
        "detail": detail,
    }


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    svc = Services(repo=InMemoryRepository(), clock=clock, gateway=SandboxGateway(clock=clock.now))
    bootstrap.use(bootstrap.Wiring(svc))
    yield load_module("webhooks-out")
    bootstrap.use(None)


def test_a_batch_no_endpoint_subscribes_to_counts_its_messages_without_a_warning(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = {"Records": [record(from_the_bus(EVENT), "m1"), record([], "m2")]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = handler.lambda_handler(batch, FakeContext("tenure-webhooks-out"))
    assert result == {"batchItemFailures": []}
    assert not [w for w in caught if "No application metrics" in str(w.message)]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [m["WebhookMessagesRead"] for m in emitted] == [[2.0]]  # EMF lists its values
