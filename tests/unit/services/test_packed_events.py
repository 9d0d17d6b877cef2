"""The in-memory store keeps its events pickled and reads them back as they were stored."""

import copy
import pickle
from collections import OrderedDict

from tenure.fakes_events import PackedEvents


def an_event(n: int, data: dict | None = None) -> dict:
    return {
        "id": f"evt_{n}",
        "type": "PaymentFailed",
        "occurred_at": "2026-01-01T00:00:00Z",
        "entity_id": "sub_1",
        "customer_id": "alice",
        "data": data if data is not None else {"attempt": n, "amounts": (1, 2), "none": None},
    }


def test_events_read_back_equal_to_what_was_stored_in_order_with_their_tuples() -> None:
    events = PackedEvents()
    for n in range(3):
        events.append(an_event(n))
    assert len(events) == 3
    assert list(events) == [an_event(0), an_event(1), an_event(2)]
    assert events[-1]["data"]["amounts"] == (1, 2)  # pickled, not JSON: a tuple stays one
    assert events[1:] == [an_event(1), an_event(2)]


def test_changing_an_event_that_was_read_changes_nothing_stored() -> None:
    events = PackedEvents([an_event(1)])
    read = events[0]
    read["data"]["attempt"] = 99
    assert events[0] == an_event(1)


def test_an_event_assigned_back_replaces_the_stored_one_in_its_place() -> None:
    events = PackedEvents([an_event(1), an_event(2), an_event(3)])
    erased = an_event(2, {"email": "erased@example.invalid"})
    events[:] = [erased if e["id"] == "evt_2" else e for e in events]
    assert [e["id"] for e in events] == ["evt_1", "evt_2", "evt_3"]
    assert events[1]["data"] == {"email": "erased@example.invalid"}
    events[0] = an_event(7)
    del events[2]
    events.insert(0, an_event(0))
    assert [e["id"] for e in events] == ["evt_0", "evt_7", "evt_2"]


def test_packed_events_compare_equal_to_the_list_of_the_same_events() -> None:
    events = PackedEvents([an_event(1)])
    assert events == [an_event(1)]
    assert events != [an_event(2)]
    assert events == PackedEvents([an_event(1)])
    assert events != (an_event(1),)  # a list stands for it, as before; a tuple never did


def test_events_of_other_shapes_read_back_with_their_own_keys_in_their_order() -> None:
    short = {"occurred_at": "2026-01-02T00:00:00Z", "id": "evt_s"}  # other keys, other order
    events = PackedEvents([an_event(1), short, an_event(2)])
    assert list(events) == [an_event(1), short, an_event(2)]
    assert list(events[1]) == ["occurred_at", "id"]
    assert list(events[2]) == list(an_event(2))
    events[0] = {}
    assert events[0] == {} and events[2] == an_event(2)


def test_the_key_names_are_kept_once_for_the_list_not_in_every_packed_event() -> None:
    events = PackedEvents([an_event(1), an_event(2)])
    assert all(b"occurred_at" not in packed for packed in events._packed)
    assert b"attempt" in events._packed[0]  # the data's own keys are the data's


def test_what_is_no_plain_dict_reads_back_as_what_it_was() -> None:
    ordered = OrderedDict(id="evt_o", type="X")
    events = PackedEvents([ordered, an_event(1)])
    assert type(events[0]) is OrderedDict and events[0] == ordered


def test_packed_events_copied_or_pickled_read_back_the_same_events() -> None:
    events = PackedEvents([an_event(1), {"id": "evt_x"}])
    for twin in (copy.deepcopy(events), pickle.loads(pickle.dumps(events))):
        assert list(twin) == list(events)
        twin.append({"id": "evt_y", "type": "Y"})
        assert len(events) == 2 and twin[-1] == {"id": "evt_y", "type": "Y"}
