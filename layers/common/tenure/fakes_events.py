"""The in-memory store's domain events, each kept pickled until it is read, and their order."""

import bisect
import pickle
from array import array
from collections.abc import Iterable, Iterator, MutableSequence
from datetime import UTC, datetime
from typing import Any, overload

Event = dict[str, Any]


_WHOLE = -1  # the shape of a packed value that is no plain dict: kept as it is


class PackedEvents(MutableSequence[Event]):
    """A list of stored events that holds each one as a pickle (about a fifth of the memory
    of the dict: a year of 10,000 customers stores hundreds of thousands of them) and hands
    out a fresh copy on every read, as a read of the table would: changing what was read
    changes nothing stored, and only assigning an event back does.

    Each pickle is of the event's values after the number of its shape, its keys in order,
    which the list holds once for all the events that share it (a handful of shapes for
    all events): the key names pickled in every event were a fifth of its bytes."""

    __slots__ = ("_packed", "_shape_of", "_shapes")

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._shapes: list[tuple[Any, ...]] = []  # each shape's keys, by its number
        self._shape_of: dict[tuple[Any, ...], int] = {}
        self._packed: list[bytes] = [self._pack(e) for e in events]

    def _pack(self, event: Event) -> bytes:
        if type(event) is not dict:
            return pickle.dumps((_WHOLE, event), protocol=pickle.HIGHEST_PROTOCOL)
        keys = tuple(event)
        shape = self._shape_of.get(keys)
        if shape is None:
            shape = self._shape_of[keys] = len(self._shapes)
            self._shapes.append(keys)
        return pickle.dumps((shape, *event.values()), protocol=pickle.HIGHEST_PROTOCOL)

    def _unpack(self, packed: bytes) -> Event:
        found = pickle.loads(packed)
        if found[0] == _WHOLE:
            whole: Event = found[1]
            return whole
        return dict(zip(self._shapes[found[0]], found[1:], strict=True))

    def __len__(self) -> int:
        return len(self._packed)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self._unpack(packed) for packed in self._packed[index]]
        return self._unpack(self._packed[index])

    @overload
    def __setitem__(self, index: int, value: Event) -> None: ...

    @overload
    def __setitem__(self, index: slice, value: Iterable[Event]) -> None: ...

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            self._packed[index] = [self._pack(e) for e in value]
        else:
            self._packed[index] = self._pack(value)

    def __delitem__(self, index: int | slice) -> None:
        del self._packed[index]

    def insert(self, index: int, value: Event) -> None:
        self._packed.insert(index, self._pack(value))

    def __iter__(self) -> Iterator[Event]:
        return (self._unpack(packed) for packed in self._packed)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedEvents):
            same = self._shapes == other._shapes and self._packed == other._packed
            return same or list(self) == list(other)
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    """`moment` as whole microseconds since the epoch: the same order as the datetimes, in
    one machine word instead of a datetime object."""
    since = moment - _EPOCH
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


class EventOrder:
    """The stored events' places in the table's key order (by moment, then event id; ties
    by place, as the tuples `(moment, id, place)` this stands for would sort), held as two
    arrays of machine words and a list of the ids (the same strings the store keeps as its
    set of ids): about 24 bytes an event where a tuple of a datetime, an id and an int
    took some 200, for hundreds of thousands of events in a large run."""

    __slots__ = ("_ids", "_micros", "_places")

    def __init__(self) -> None:
        self._micros = array("q")  # each event's moment (tenure.fakes_events._micros)
        self._ids: list[str] = []
        self._places = array("q")  # each event's position in the store's events

    def __len__(self) -> int:
        return len(self._places)

    def __eq__(self, other: object) -> bool:  # tests compare a whole repository's state
        return isinstance(other, EventOrder) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __iter__(self) -> Iterator[tuple[int, str, int]]:
        return zip(self._micros, self._ids, self._places, strict=True)

    def add(self, moment: datetime, event_id: str, place: int) -> None:
        """Puts the event at `place` in the store's events where its key sorts."""
        at = _micros(moment)
        micros = self._micros
        if not micros or at > micros[-1]:  # the usual case: events come in time order
            where = len(micros)
        else:  # by bisection, also among the many events of one second (a month's renewals)
            first = bisect.bisect_left(micros, at)
            last = bisect.bisect_right(micros, at, first)
            same = bisect.bisect_left(self._ids, event_id, first, last)
            after = bisect.bisect_right(self._ids, event_id, same, last)
            where = bisect.bisect_right(self._places, place, same, after)
        self._micros.insert(where, at)
        self._ids.insert(where, event_id)
        self._places.insert(where, place)

    def holds(self, moment: datetime, event_id: str) -> bool:
        """Whether an event `event_id` at `moment` is in the order."""
        at = _micros(moment)
        first = bisect.bisect_left(self._micros, at)
        last = bisect.bisect_right(self._micros, at, first)
        found = bisect.bisect_left(self._ids, event_id, first, last)
        return found < last and self._ids[found] == event_id

    def places_between(self, start: datetime, end: datetime) -> array[int]:
        """The places of the events from `start` up to, not including, `end`, in key order."""
        first = bisect.bisect_left(self._micros, _micros(start))
        last = bisect.bisect_left(self._micros, _micros(end))
        return self._places[first:last]
