"""The benches' staged table takes the writes a repository makes, a numbering counter's
`SET` update included, and refuses any write it would have to guess at."""

import pytest

from tenure_local.bench.load import StagedTable

KEY = {"PK": {"S": "SEQ#invoice#A#2026"}, "SK": {"S": "SEQ"}}


def _counter_update(last: int) -> dict:
    return {
        "Update": {
            "Key": KEY,
            "UpdateExpression": "SET #last = :last, entity = :entity",
            "ExpressionAttributeNames": {"#last": "last"},
            "ExpressionAttributeValues": {
                ":last": {"N": str(last)},
                ":entity": {"S": "number_counter"},
            },
        }
    }


def test_a_counters_set_update_is_applied_to_the_keys_image() -> None:
    table = StagedTable()
    table.transact_write_items(TransactItems=[_counter_update(1)])
    table.transact_write_items(TransactItems=[_counter_update(2)])

    (request,) = table.final_requests()
    assert request["PutRequest"]["Item"] == KEY | {
        "last": {"N": "2"},
        "entity": {"S": "number_counter"},
    }


@pytest.mark.parametrize(
    "expression", ["ADD balance :b", "SET a = :a REMOVE b", "SET a = if_not_exists(a, :a)"]
)
def test_an_update_it_cannot_apply_exactly_is_refused(expression: str) -> None:
    update = {"Update": {"Key": KEY, "UpdateExpression": expression}}
    update["Update"]["ExpressionAttributeValues"] = {":a": {"N": "1"}, ":b": {"N": "1"}}
    with pytest.raises(NotImplementedError, match="not supported"):
        StagedTable().transact_write_items(TransactItems=[update])
