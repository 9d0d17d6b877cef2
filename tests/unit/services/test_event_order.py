"""The in-memory store's order of its events: by moment, then id, then place, as sorted
tuples of the three would be, found by moment for a range read."""

import copy
import pickle
import random
from datetime import UTC, datetime, timedelta, timezone

from tenure.fakes_events import EventOrder

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_events_that_came_out_of_time_order_are_read_in_time_order() -> None:
    order = EventOrder()
    order.add(T0 + timedelta(hours=2), "evt_a", 0)
    order.add(T0, "evt_b", 1)
    order.add(T0 + timedelta(hours=1), "evt_c", 2)
    assert list(order.places_between(T0, T0 + timedelta(days=1))) == [1, 2, 0]


def test_events_of_one_moment_go_by_id_then_by_place() -> None:
    order = EventOrder()
    order.add(T0, "evt_b", 0)
    order.add(T0, "evt_a", 1)
    order.add(T0, "evt_b", 2)
    order.add(T0, "evt_a", 3)
    assert list(order.places_between(T0, T0 + timedelta(microseconds=1))) == [1, 3, 0, 2]


def test_a_range_starts_at_its_start_and_stops_before_its_end_to_the_microsecond() -> None:
    order = EventOrder()
    for n, delta in enumerate([-1, 0, 1, 2]):
        order.add(T0 + timedelta(microseconds=delta), f"evt_{n}", n)
    assert list(order.places_between(T0, T0 + timedelta(microseconds=2))) == [1, 2]
    assert list(order.places_between(T0, T0)) == []


def test_moments_in_other_offsets_sort_as_the_instants_they_are() -> None:
    order = EventOrder()
    plus_two = timezone(timedelta(hours=2))
    order.add(datetime(2026, 3, 1, 13, 30, tzinfo=plus_two), "evt_z", 0)  # 11:30 UTC
    order.add(T0, "evt_a", 1)
    assert list(order.places_between(T0 - timedelta(hours=1), T0 + timedelta(hours=1))) == [0, 1]


def test_the_order_is_that_of_sorted_tuples_for_many_random_events() -> None:
    chance = random.Random(17)
    order, tuples = EventOrder(), []
    for place in range(500):
        moment = T0 + timedelta(seconds=chance.randrange(50), microseconds=chance.randrange(3))
        event_id = f"evt_{chance.randrange(40):02}"
        order.add(moment, event_id, place)
        tuples.append((moment, event_id, place))
    tuples.sort()
    start, end = T0 + timedelta(seconds=10), T0 + timedelta(seconds=30)
    expected = [place for moment, _, place in tuples if start <= moment < end]
    assert list(order.places_between(start, end)) == expected
    assert len(order) == 500


def test_a_copied_or_pickled_order_is_equal_and_its_own() -> None:
    order = EventOrder()
    order.add(T0, "evt_a", 0)
    for twin in (copy.deepcopy(order), pickle.loads(pickle.dumps(order))):
        assert twin == order
        twin.add(T0, "evt_b", 1)
        assert twin != order and len(order) == 1


def test_many_events_of_few_moments_and_ids_in_any_order_of_places_sort_as_tuples() -> None:
    chance = random.Random(24)
    places = list(range(300))
    chance.shuffle(places)
    order, tuples = EventOrder(), []
    for place in places:
        moment = T0 + timedelta(seconds=chance.randrange(3))
        event_id = f"evt_{chance.randrange(5)}"
        order.add(moment, event_id, place)
        tuples.append((moment, event_id, place))
    expected = [place for _, _, place in sorted(tuples)]
    assert list(order.places_between(T0, T0 + timedelta(seconds=3))) == expected


def test_an_event_is_found_by_its_moment_and_id_among_many_of_the_same_moment() -> None:
    order = EventOrder()
    for n in (5, 1, 9, 3, 7):
        order.add(T0, f"evt_{n}", n)
    order.add(T0 + timedelta(seconds=1), "evt_4", 10)
    assert all(order.holds(T0, f"evt_{n}") for n in (1, 3, 5, 7, 9))
    assert not order.holds(T0, "evt_4")  # held, at another moment
    assert order.holds(T0 + timedelta(seconds=1), "evt_4")
    assert not order.holds(T0, "evt_0") and not order.holds(T0, "evt_99")
    assert not EventOrder().holds(T0, "evt_1")
