"""The DynamoDB request tally of the bench (tenure_local.bench.ddb_requests): what it counts,
what it names each request's caller, and that the output phase is counted apart."""

from typing import Any

from tenure_local.bench.ddb_requests import TallyingTimer, caller, operation_key


class _Client:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def _make_api_call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(operation)
        return {}


def test_a_query_is_named_by_the_index_it_reads() -> None:
    assert operation_key("Query", {"IndexName": "DueIndex"}) == "Query DueIndex"
    assert operation_key("Query", {"TableName": "t"}) == "Query table"
    assert operation_key("GetItem", {"IndexName": "ignored"}) == "GetItem"


def test_the_caller_is_the_innermost_frame_outside_the_store_and_clients() -> None:
    frames = [
        ("/x/local/tenure_local/stack/ddb_wire.py", "call"),
        ("/x/layers/common/tenure/store/dynamodb.py", "get_customer"),
        ("/x/layers/common/tenure/services/cards.py", "update_payment_method"),
        ("/x/local/tenure_local/runtime/functions.py", "invoke"),
    ]
    assert caller(frames) == "services/cards.py:update_payment_method"


def test_a_checkout_named_tenure_does_not_make_its_tests_tenure_code() -> None:
    # A clone made as `git clone ... tenure` puts `/tenure/` in every path of the checkout.
    frames = [
        ("/tmp/ci/tenure/local/tenure_local/stack/ddb_wire.py", "call"),
        ("/tmp/ci/tenure/tests/unit/tooling/test_x.py", "test_y"),
        ("/tmp/ci/tenure/layers/common/tenure/services/reminders.py", "send_due"),
    ]
    assert caller(frames) == "services/reminders.py:send_due"
    assert caller(frames[:2]) == "?"


def test_a_store_worker_thread_is_named_by_the_store_outermost_frame() -> None:
    frames = [
        ("/x/layers/common/tenure/store/due_mirror.py", "watched"),
        ("/x/layers/common/tenure/store/dynamodb.py", "shard_query"),
        ("/usr/lib/python3.12/concurrent/futures/thread.py", "run"),
    ]
    assert caller(frames) == "store/dynamodb.py:shard_query"
    assert caller([("/usr/lib/python3.12/threading.py", "run")]) == "?"


def _write_outputs(client: Any) -> None:  # named as the simulator's output phase
    client.get_item_call("GetItem", {})


def test_requests_are_counted_by_operation_and_the_output_phase_apart() -> None:
    timer = TallyingTimer()
    client = timer.attach(_Client())
    client.get_item_call = client._make_api_call
    client._make_api_call("GetItem", {"TableName": "t"})
    client._make_api_call("Query", {"IndexName": "GSI1"})
    client._make_api_call("Query", {"IndexName": "GSI1"})
    _write_outputs(client)
    figures = timer.figures(customer_months=2.0)
    assert figures["requests"] == 3
    assert figures["requests_per_customer_month"] == 1.5
    assert figures["by_operation"] == {"Query GSI1": 2, "GetItem": 1}
    assert figures["output_requests"] == 1
    assert timer.calls == 4  # the simulator's own timer still counts every call
    by_caller = {(row["operation"], row["caller"]): row["requests"] for row in figures["by_caller"]}
    # This file is no code of Tenure's: its requests have no caller to name.
    assert by_caller == {("Query GSI1", "?"): 2, ("GetItem", "?"): 1}
