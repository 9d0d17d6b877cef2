"""The renewal bench's WCU floor: each item the measured requests change, written once in
one transaction, from its image before them to its last."""

from typing import Any

import pytest

from tenure_local.bench import renewal_capacity
from tenure_local.bench.capacity import Call, DynamoRecorder, item_kind


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


def stepped(call: Call, step: str) -> Call:
    call.step = f"work_due>{step}>write>commit_with_notices>commit commit"
    return call


def test_the_capacity_by_item_adds_up_to_each_requests_estimate_per_renewal() -> None:
    # Given two renewals' claims and settles: an invoice (in GSI1), its charge, a card check
    recorder = DynamoRecorder("t", {"GSI1": ("GSI1PK", "GSI1SK")})
    check = {
        "ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "CUS#a"}, "SK": {"S": "CUS"}}}
    }
    calls = []
    for n in (1, 2):
        calls.append(stepped(transaction(put(f"INV#{n}", "open"), check), "_claim"))
        calls.append(stepped(transaction(put(f"INV#{n}", "paid")), "_settle"))
    # When it is broken down per renewal
    by_item = recorder.wcu_by_item({}, calls, per=2)
    # Then by step and kind: 2 + 1 for the invoice each time, 2 for the check of a small item
    assert by_item == {
        "_claim INV X": [3.0, 1.0],  # (the sort key X is not its partition's kind)
        "_claim check CUS": [2.0, 0.0],
        "_settle INV X": [3.0, 1.0],
    }


def test_item_kinds_name_the_kind_of_a_partition_that_holds_several() -> None:
    assert item_kind("INV#in_1", "CHG#0001") == "INV CHG"
    assert item_kind("INV#in_1", "INV") == "INV"
    assert item_kind("EVT#2026-02-01", "2026-02-01T00:00:00Z#evt_1") == "EVT"
    assert item_kind("check CUS#a", "CUS") == "check CUS"


def test_the_quick_capacity_run_refuses_a_count_it_cannot_use(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert renewal_capacity.main(["ten"]) == 2
    assert renewal_capacity.main(["0"]) == 2
    out = capsys.readouterr().out
    assert "not 'ten'" in out and "at least 1" in out


def test_an_item_changed_by_an_update_is_in_the_floor_though_its_new_image_is_unknown() -> None:
    # Given a counter the recorder saw written, then moved by a transactional Update
    recorder = DynamoRecorder("t", {"GSI1": ("GSI1PK", "GSI1SK")})
    counter = put("SEQ#invoice", "n", indexed=False)["Put"]["Item"]
    before = {("SEQ#invoice", "X"): counter}
    recorder._items.update(before)
    move = {"Update": {"TableName": "t", "Key": {"PK": {"S": "SEQ#invoice"}, "SK": {"S": "X"}}}}
    # Then the floor counts its transactional write (2 WCU for a small item, no index)
    assert recorder.write_floor(before, [transaction(move)]) == (2, 0)
