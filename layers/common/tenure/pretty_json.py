"""JSON text exactly as `json.dumps(value, indent=2[, sort_keys=True])` writes it, faster.

With an indent the json module encodes in pure Python, through a generator per level and a
call per value: the fake provider's webhook bodies (pretty-printed, as Stripe sends them) and
a simulation's state.json rows spent more time there than in anything else they wrote. This
writes the same text in one pass over plain JSON values (dicts with text keys, lists, tuples,
text, whole numbers, finite floats, booleans, null), in pieces joined once; anything else (a
subclass of str or int, a float that is not finite, a key that is not text) is left to the
json module, which the tests compare it with."""

import json
from collections.abc import Callable
from typing import Any

_encode_text: Callable[[str], str] = json.encoder.encode_basestring_ascii
_INF = float("inf")


class _NotPlainJson(Exception):
    """A value this module leaves to the json module."""


def pretty(value: Any, *, sort_keys: bool = False) -> str:
    """json.dumps(value, indent=2, sort_keys=sort_keys)."""
    parts: list[str] = []
    try:
        _put(value, "\n", parts.append, sort_keys)
    except _NotPlainJson:
        return json.dumps(value, indent=2, sort_keys=sort_keys)
    return "".join(parts)


def _put(value: Any, newline: str, put: Callable[[str], Any], sort_keys: bool) -> None:
    """Puts `value` at the depth `newline` indents to, in pieces: one list of them joined
    once costs less than a string per value joined at every level."""
    kind = type(value)
    if kind is str:
        put(_encode_text(value))
    elif kind is dict:
        if not value:
            put("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        # sorted() raises TypeError for keys that do not compare, as json.dumps does
        for key in sorted(value) if sort_keys else value:
            if type(key) is not str:
                raise _NotPlainJson
            item = value[key]
            put(separator)
            put(_encode_text(key))
            put(": ")
            if type(item) is str:  # the common leaves inline, without a call each
                put(_encode_text(item))
            elif item is None:
                put("null")
            elif type(item) is int:
                put(int.__repr__(item))
            else:
                _put(item, inner, put, sort_keys)
            separator = "," + inner
        put(newline)
        put("}")
    elif value is None:
        put("null")
    elif value is True:
        put("true")
    elif value is False:
        put("false")
    elif kind is int:
        put(int.__repr__(value))
    elif kind is float and value == value and value not in (_INF, -_INF):
        put(float.__repr__(value))
    elif kind is list or kind is tuple:
        if not value:
            put("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            put(separator)
            _put(item, inner, put, sort_keys)
            separator = "," + inner
        put(newline)
        put("]")
    else:
        raise _NotPlainJson
