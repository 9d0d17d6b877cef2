"""The renewal bench's WCU floor: each item the measured requests change, written once in
one transaction, from its image before them to its last."""

from typing import Any

from tenure_local.bench.capacity import Call, DynamoRecorder


def put(pk: str, status: str, indexed: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {
        "TableName": "t",
        "Item": {"PK": {"S": pk}, "SK": {"S": "X"}, "status": {"S": status}},
    }
    if indexed:
        op["Item"] |= {"GSI1PK": {"S": "CUS#a"}, "GSI1SK": {"S": pk}}
    return {"Put": op}


def transaction(*ops: dict[str, Any], failed: bool = False) -> Call:
    params = {"TransactItems": list(ops)}
    return Call("TransactWriteItems", params, 0.0, 0.0, 0.0, 0.0, 0.0, 0, failed)


def test_an_item_written_by_the_claim_and_again_by_the_settle_counts_once() -> None:
    recorder = DynamoRecorder("t", {"GSI1": ("GSI1PK", "GSI1SK")})
    claim = transaction(put("INV#1", "open"), put("CHG#1", "charging", indexed=False))
    settle = transaction(put("INV#1", "paid"), put("CHG#1", "succeeded", indexed=False))
    # Each small item: 2 WCU in a transaction, plus 1 for its new GSI1 entry when indexed.
    assert recorder.write_floor({}, [claim, settle]) == (2 + 1 + 2, 1)


def test_a_failed_request_and_an_item_put_back_as_it_was_cost_nothing() -> None:
    recorder = DynamoRecorder("t", {"GSI1": ("GSI1PK", "GSI1SK")})
    same = put("INV#1", "open")
    before = {("INV#1", "X"): same["Put"]["Item"]}
    refused = transaction(put("INV#2", "open"), failed=True)
    assert recorder.write_floor(before, [transaction(same), refused]) == (0, 0)
