"""An Event carries a snapshot of its object: later changes to the object (the sandbox keeps
changing its charges and disputes) never reach an event already recorded."""

from collections import OrderedDict
from typing import Any

from tenure.payments import stripe_objects


def _object() -> dict[str, Any]:
    return {
        "id": "ch_1",
        "amount": 500,
        "paid": True,
        "fee": 1.5,
        "refunds": {"data": [{"id": "re_1", "metadata": {"why": "asked"}}], "total": 1},
        "lists": [[1, [2]], []],
        "metadata": OrderedDict(tenure_invoice_id="inv_1"),
        "outcome": None,
    }


def test_the_snapshot_is_equal_and_shares_nothing_that_can_change() -> None:
    obj = _object()
    previous = {"refunds": {"data": []}}
    event = stripe_objects.event(
        id="evt_1", type="charge.refunded", obj=obj, created=1, previous_attributes=previous
    )
    assert event["data"]["object"] == _object()
    assert event["data"]["previous_attributes"] == {"refunds": {"data": []}}

    obj["amount"] = 0
    obj["refunds"]["data"][0]["metadata"]["why"] = "changed"
    obj["refunds"]["data"].append({"id": "re_2"})
    obj["lists"][0][1].append(3)
    obj["metadata"]["tenure_invoice_id"] = "inv_2"
    previous["refunds"]["data"].append("re_1")

    assert event["data"]["object"] == _object()
    assert event["data"]["previous_attributes"] == {"refunds": {"data": []}}
    # A dict of another class is copied as a plain dict, as JSON would read it back.
    assert type(event["data"]["object"]["metadata"]) is dict
