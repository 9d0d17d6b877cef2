"""The in-memory store's items that have no work ahead, kept packed until they are read.

A year of 10,000 customers leaves hundreds of thousands of sent notices, paid invoices and
settled charges in the store, each a graph of objects of about a kilobyte that is seldom
read again; pickled and compressed against the first one packed (they resemble each
other), each is a string of one to two hundred bytes. A read unpacks a fresh copy, as a
read of the table would, so changing what was read changes nothing stored."""

import pickle
import zlib
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from typing import Any

from tenure.fakes_copy import clone
from tenure.fakes_index import DueIndex, Indexed

_MISSING = object()
# Items with no work due wait this many of their kind's writes before they are packed: most
# are written again at once (a notice claimed, then sent; an invoice being charged, then
# paid), and one packed in between would be unpacked and packed again.
PACK_AFTER = 2048


class PackedIndexed[V](Indexed[V]):
    """An Indexed dict (tenure.fakes_index) that holds each item with no work due (its
    `next_due()` None) packed, and every other item as it is. Reads by key, `get`, `values`,
    `items` and comparisons unpack; an item written again is packed again, or kept as it
    is when it has work due once more. Packing waits for the last PACK_AFTER items with no
    work due to be written (`_waiting`), so that one written again meanwhile is packed once."""

    def __init__(self, index: DueIndex | None, source: str, owner: str) -> None:
        super().__init__(index, source, owner)
        self._zdict: bytes | None = None  # the first item packed: the others resemble it
        self._waiting: dict[Any, None] = {}  # keys of items to pack, oldest write first

    # -- packing ----------------------------------------------------------------------------
    def _pack(self, value: V) -> bytes:
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if self._zdict is None:
            self._zdict = raw
        squeeze = zlib.compressobj(zdict=self._zdict)
        return squeeze.compress(raw) + squeeze.flush()

    def _unpack(self, packed: bytes) -> V:
        assert self._zdict is not None
        swell = zlib.decompressobj(zdict=self._zdict)
        value: V = pickle.loads(swell.decompress(packed) + swell.flush())
        return value

    def is_packed(self, key: Any) -> bool:
        """Whether the item at `key` is held packed (for tests)."""
        return type(dict.get(self, key)) is bytes

    def pack_waiting(self) -> int:
        """Packs every item waiting to be packed; returns how many were."""
        packed = 0
        for key in self._waiting:
            value = dict.get(self, key, _MISSING)
            if value is not _MISSING and type(value) is not bytes:
                packed_value: Any = self._pack(value)  # type: ignore[arg-type]
                dict.__setitem__(self, key, packed_value)
                packed += 1
        self._waiting.clear()
        return packed

    # -- writes -----------------------------------------------------------------------------
    def keep(self, key: Any, value: V) -> None:
        self[key] = clone(value)

    def __setitem__(self, key: Any, value: V) -> None:
        if "_owned" not in vars(self):
            dict.__setitem__(self, key, value)
            return  # being unpickled: the items come before the indexes, which hold them
        owner = getattr(value, self._owner)
        keys = self._owned.get(owner)
        if keys is not None and key in keys:
            del keys[key]  # written again by the same owner (a key has one owner)
        elif dict.__contains__(self, key):
            self._disown(key, self[key])
        due = value.next_due()  # type: ignore[attr-defined]
        dict.__setitem__(self, key, value)
        self._owned.setdefault(owner, {})[key] = None
        if self._index is not None:
            self._index_put(key, value, due)
        waiting = self._waiting
        waiting.pop(key, None)
        if due is None:
            waiting[key] = None
            if len(waiting) >= PACK_AFTER:
                self.pack_waiting()

    # -- reads ------------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> V:
        value: Any = dict.__getitem__(self, key)
        return self._unpack(value) if type(value) is bytes else value

    def get(self, key: Any, default: Any = None) -> Any:
        value = dict.get(self, key, _MISSING)
        if value is _MISSING:
            return default
        return self._unpack(value) if type(value) is bytes else value

    def copy_of(self, key: Any) -> V | None:
        value = dict.get(self, key)
        return self._unpack(value) if type(value) is bytes else clone(value)

    def copies_owned_by(self, owner: Any) -> list[V]:
        keys = vars(self).get("_owned", {}).get(owner, ())
        return [self.copy_of(key) for key in keys]  # type: ignore[misc]

    def owned_by(self, owner: Any) -> list[V]:
        keys = vars(self).get("_owned", {}).get(owner, ())
        return [self[key] for key in keys]

    def __iter__(self) -> Iterator[Any]:
        # Defined, so that dict(this) reads each item through __getitem__ (not as held).
        return iter(self.keys())

    def values(self) -> ValuesView[V]:  # type: ignore[override]
        return ValuesView(self)

    def items(self) -> ItemsView[Any, V]:  # type: ignore[override]
        return ItemsView(self)

    def copy(self) -> dict[Any, V]:
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping) or len(self) != len(other):
            return False
        return all(key in other and self[key] == other[key] for key in self.keys())

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it stands for
