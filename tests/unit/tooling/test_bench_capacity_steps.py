"""The renewal capacity bench names each request by the repository method that sent it
(`Call.step`), whichever of DynamoRepository's modules (store/dynamodb.py and the parts it
is made of) holds that method."""

from typing import Any

from tenure.store.dynamodb import DynamoRepository
from tenure_local.bench.capacity import DynamoRecorder


class _Client:
    """A client as botocore makes it: each operation goes through _make_api_call."""

    def _make_api_call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {"t": []}} if operation == "BatchGetItem" else {}

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._make_api_call("GetItem", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._make_api_call("BatchGetItem", params)


def test_a_request_is_named_by_the_outermost_repository_method_whatever_its_module() -> None:
    recorder = DynamoRecorder("t", {}, keep_params=True)
    repo = DynamoRepository(recorder.attach(_Client()), "t")
    repo.get_customer("c1")  # store/reads.py, reading through store/table.py's _get
    repo.is_suppressed("a@example.com")  # store/due_work.py
    repo.get_invoices(["in-1"])  # store/reads.py, through _batch_get
    assert [c.step for c in recorder.calls] == [
        "(MainThread thread) get_customer",
        "(MainThread thread) is_suppressed",
        "(MainThread thread) get_invoices",
    ]
