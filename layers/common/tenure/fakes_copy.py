"""The in-memory repository's copies: what it stores and hands out must not be shared with
callers, as nothing is shared through DynamoDB, but `copy.deepcopy` spent most of a memory
simulation rebuilding values nobody can change (datetimes, enums, frozen dataclasses).

`clone` copies what is mutable and shares what is not. Like the DynamoDB codec (and unlike
deepcopy) it does not keep two references to one object as one: nothing stored relies on
that, since the table cannot keep it either."""

import copy
import dataclasses
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

# Values that cannot change once made, shared as they are.
_ATOMIC: set[type] = {
    str,
    int,
    float,
    bool,
    bytes,
    type(None),
    datetime,
    date,
    time,
    timedelta,
    Decimal,
}
# How each kind of value met so far is copied, found once per type.
_COPIERS: dict[type, Callable[[Any], Any]] = {}


def clone(value: Any) -> Any:
    """A copy of `value` that shares nothing mutable with it."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    copier = _COPIERS.get(kind)
    if copier is None:
        copier = _COPIERS[kind] = _copier_for(kind)
    return copier(value)


def _copier_for(kind: type) -> Callable[[Any], Any]:
    if issubclass(kind, Enum | tzinfo) and kind.__hash__ is not None:
        _ATOMIC.add(kind)  # enum members and zones are singletons
        return _same
    if kind is list:
        return _list
    if kind is dict:
        return _dict
    if kind is tuple:
        return _tuple
    if kind is set:
        return _set
    if kind is frozenset:
        return _frozenset
    if dataclasses.is_dataclass(kind) and "__slots__" in vars(kind):
        return _slotted_dataclass(kind)
    return copy.deepcopy  # anything else (pydantic models, say): the general way


def _same(value: Any) -> Any:
    return value


def _list(value: list[Any]) -> list[Any]:
    atomic = _ATOMIC
    return [item if type(item) in atomic else clone(item) for item in value]


def _dict(value: dict[Any, Any]) -> dict[Any, Any]:
    atomic = _ATOMIC
    return {key: item if type(item) in atomic else clone(item) for key, item in value.items()}


def _set(value: set[Any]) -> set[Any]:
    return {clone(item) for item in value}


def _tuple(value: tuple[Any, ...]) -> tuple[Any, ...]:
    atomic = _ATOMIC
    if all(type(item) in atomic for item in value):
        return value  # the common case: nothing inside can change
    copied = tuple(clone(item) for item in value)
    return value if all(a is b for a, b in zip(copied, value, strict=True)) else copied


def _frozenset(value: frozenset[Any]) -> frozenset[Any]:
    return frozenset(clone(item) for item in value)


def _slotted_dataclass(kind: type) -> Callable[[Any], Any]:
    """A copier written for `kind`: its fields read, copied (unless unchangeable, tested
    inline) and set by name, with no loop, call or list per field: most of what the store
    copies is of a few such kinds, read and written thousands of times a simulated month."""
    names = tuple(f.name for f in dataclasses.fields(kind))
    if set(names) != set(_slots(kind)):
        return copy.deepcopy  # a slot that is not a field: the general way keeps it
    frozen = kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    plain_set = kind.__setattr__ is object.__setattr__
    body = ["def copier(value):"]
    for n, name in enumerate(names):
        body.append(f"    a{n} = value.{name}")
        body.append(f"    c{n} = a{n} if type(a{n}) in atomic else clone(a{n})")
    if frozen and names:
        same = " and ".join(f"c{n} is a{n}" for n in range(len(names)))
        body.append(f"    if {same}:")
        body.append("        return value  # nothing inside can change, so neither can it")
    elif frozen:
        body.append("    return value")
    body.append("    made = new(kind)")
    for n, name in enumerate(names):
        body.append(f"    made.{name} = c{n}" if plain_set else f"    put(made, {name!r}, c{n})")
    body.append("    return made")
    scope: dict[str, Any] = {
        "atomic": _ATOMIC,
        "clone": clone,
        "new": object.__new__,
        "kind": kind,
        "put": object.__setattr__,
        "type": type,
    }
    exec("\n".join(body), scope)  # code made from the dataclass's own field names
    made: Callable[[Any], Any] = scope["copier"]
    return made


def _slots(kind: type) -> list[str]:
    found: list[str] = []
    for klass in kind.__mro__:
        slots = vars(klass).get("__slots__", ())
        found += [slots] if isinstance(slots, str) else [s for s in slots if s != "__weakref__"]
    return found
