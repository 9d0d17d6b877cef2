"""The bytes DynamoDB bills for an item (AWS's published sizing rules): what a write's
capacity units are counted from, one unit a started kilobyte. The store uses it to keep an
optional copy out of an item it would push past a unit; the benchmarks to count units."""

import math
from typing import Any

WRITE_UNIT_BYTES = 1024


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON ({"S": "..."}, {"M": {...}}, ...)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(v.lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of a whole item in DynamoDB JSON: its attributes' names and values."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())
