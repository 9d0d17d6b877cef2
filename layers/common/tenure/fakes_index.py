"""The in-memory repository's indexes: the sharded due index and the dicts of items that
keep it, and their owners' items, with every write (tenure.fakes)."""

import bisect
from datetime import UTC, datetime
from typing import Any, cast

from tenure.domain.charges import Charge
from tenure.domain.timeutil import iso
from tenure.fakes_copy import clone
from tenure.store.dynamodb import DUE_SHARDS, due_shard

_LAST = datetime.max.replace(tzinfo=UTC)  # sorts after any entry with the same key


def _sort_key(entry: tuple[str, datetime, str, str]) -> str:
    return entry[0]


class DueIndex:
    """The due index's shards (tenure.store.due_work `_due_page`): each a list sorted as
    the table sorts its keys, `<moment>#<kind>#<id>`, of the items that have work ahead."""

    def __init__(self) -> None:
        self._shards: list[list[tuple[str, datetime, str, str]]] = [[] for _ in range(DUE_SHARDS)]
        self._entries: dict[tuple[str, str], tuple[int, tuple[str, datetime, str, str]]] = {}

    def __eq__(self, other: object) -> bool:  # tests compare a whole repository's state
        return isinstance(other, DueIndex) and self._shards == other._shards

    __hash__ = None  # type: ignore[assignment]  # mutable

    def put(self, source: str, key: str, entity_id: str, due: tuple[datetime, str] | None) -> None:
        if due is None:
            self.remove(source, key)
            return
        sort_key = f"{iso(due[0])}#{due[1]}#{entity_id}"
        held = self._entries.get((source, key))
        if held is not None and held[1][0] == sort_key and held[1][1] == due[0]:
            return  # a write that leaves its work where it was (most do): nothing moves
        self.remove(source, key)
        shard = due_shard(entity_id)
        entry = (sort_key, due[0], source, key)
        bisect.insort(self._shards[shard], entry)
        self._entries[(source, key)] = (shard, entry)

    def remove(self, source: str, key: str) -> None:
        found = self._entries.pop((source, key), None)
        if found is not None:
            shard, entry = found
            entries = self._shards[shard]
            del entries[bisect.bisect_left(entries, entry)]

    def first_at(self) -> datetime | None:
        return min((entries[0][1] for entries in self._shards if entries), default=None)

    def page(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """What one read of the index returns: from each shard, up to its share of `limit`,
        the items due by `now` in key order."""
        return self.page_from(now, limit, dict.fromkeys(range(DUE_SHARDS)))[0]

    def page_from(
        self, now: datetime, limit: int, starts: dict[int, str | None], share: int | None = None
    ) -> tuple[list[tuple[str, str]], dict[int, str | None]]:
        """A page from the shards in `starts`, each after the key it names (None: from its
        first), and where each shard that filled its share goes on from, as the table's
        ExclusiveStartKey does."""
        share = share or max(1, -(-limit // DUE_SHARDS))
        upper = f"{iso(now)}#~"
        found: list[tuple[str, str]] = []
        resume: dict[int, str | None] = {}
        for shard, after in starts.items():
            entries = self._shards[shard]
            begin = 0 if after is None else bisect.bisect_right(entries, (after, _LAST))
            # The entries due by `now` are the shard's first (it is in key order): found by
            # halving, not by comparing every entry of the share, most of which are not due.
            last = min(begin + share, len(entries))
            end = bisect.bisect_right(entries, upper, begin, last, key=_sort_key)
            taken = entries[begin:end]
            found.extend((source, key) for _, _, source, key in taken)
            if len(taken) == share:
                resume[shard] = taken[-1][0]
        return found, resume


class Indexed[V](dict[Any, V]):
    """A store's dict of items whose every write and delete updates its indexes: the due
    index (`index`, for items that can have work due) and the items of each owner (`owner`,
    the attribute naming it), which the table reads with one query of a partition where a
    scan of this dict would grow with the whole store."""

    def __init__(self, index: "DueIndex | None", source: str, owner: str) -> None:
        super().__init__()
        self._index = index
        self._source = source
        self._owner = owner
        self._owned: dict[Any, dict[Any, None]] = {}  # owner -> its keys, in write order

    def owned_by(self, owner: Any) -> list[V]:
        """The items of `owner`, in the order they were first written."""
        keys = vars(self).get("_owned", {}).get(owner, ())
        return [self[key] for key in keys]

    def copy_of(self, key: Any) -> V | None:
        """A copy of the item at `key` that shares nothing with the store, or None."""
        return clone(dict.get(self, key))

    def copies_owned_by(self, owner: Any) -> list[V]:
        """Copies of the items of `owner`, in the order they were first written."""
        return clone(self.owned_by(owner))

    def keep(self, key: Any, value: V) -> None:
        """Stores a copy of `value` at `key` (`value` stays the caller's)."""
        self[key] = clone(value)

    def __setitem__(self, key: Any, value: V) -> None:
        state = vars(self)
        if "_owned" not in state:
            super().__setitem__(key, value)
            return  # being unpickled: the items come before the indexes, which hold them
        if key in self:
            self._disown(key, self[key])
        super().__setitem__(key, value)
        self._owned.setdefault(getattr(value, self._owner), {})[key] = None
        if self._index is not None:
            self._index_put(key, value, value.next_due())  # type: ignore[attr-defined]

    def _index_put(self, key: Any, value: V, due: tuple[datetime, str] | None) -> None:
        assert self._index is not None
        entity_id = value.due_id if isinstance(value, Charge) else key
        self._index.put(self._source, key, entity_id, due)

    def _disown(self, key: Any, value: V) -> None:
        owner = getattr(value, self._owner)
        keys = self._owned.get(owner)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._owned[owner]

    def __delitem__(self, key: Any) -> None:
        self._disown(key, self[key])
        super().__delitem__(key)
        if self._index is not None:
            self._index.remove(self._source, key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            value = self[key]
            del self[key]
            return value
        return super().pop(key, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        super().clear()
        self._owned.clear()
        if self._index is not None:
            for key in list(self._index._entries):
                if key[0] == self._source:
                    self._index.remove(*key)


def owned[V](items: dict[Any, V], owner: str) -> list[V]:
    """The items of `owner` in one of the store's owner-indexed dicts."""
    found: list[V] = cast(Indexed[V], items).owned_by(owner)
    return found
