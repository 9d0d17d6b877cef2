"""The in-memory store's domain events, each kept pickled until it is read."""

import pickle
from collections.abc import Iterable, Iterator, MutableSequence
from typing import Any, overload

Event = dict[str, Any]


def _pack(event: Event) -> bytes:
    return pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)


class PackedEvents(MutableSequence[Event]):
    """A list of stored events that holds each one as its pickle (about a quarter of the
    memory of the dict: a year of 10,000 customers stores hundreds of thousands of them)
    and hands out a fresh copy on every read, as a read of the table would: changing what
    was read changes nothing stored, and only assigning an event back does."""

    __slots__ = ("_packed",)

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._packed: list[bytes] = [_pack(e) for e in events]

    def __len__(self) -> int:
        return len(self._packed)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [pickle.loads(packed) for packed in self._packed[index]]
        found: Event = pickle.loads(self._packed[index])
        return found

    @overload
    def __setitem__(self, index: int, value: Event) -> None: ...

    @overload
    def __setitem__(self, index: slice, value: Iterable[Event]) -> None: ...

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            self._packed[index] = [_pack(e) for e in value]
        else:
            self._packed[index] = _pack(value)

    def __delitem__(self, index: int | slice) -> None:
        del self._packed[index]

    def insert(self, index: int, value: Event) -> None:
        self._packed.insert(index, _pack(value))

    def __iter__(self) -> Iterator[Event]:
        return (pickle.loads(packed) for packed in self._packed)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedEvents):
            return self._packed == other._packed or list(self) == list(other)
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for
