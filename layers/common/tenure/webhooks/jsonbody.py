"""Strict JSON for webhook bodies: anything else is a malformed event (400), never a 500."""

import json
from typing import Any

from tenure.webhooks.errors import MalformedEventError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; NaN, Infinity, bad UTF-8, deep nesting and non-objects are
    refused with a short reason (never the body itself)."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise MalformedEventError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedEventError(
            f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise MalformedEventError("body is nested too deeply") from None
    except ValueError as exc:
        raise MalformedEventError(f"body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedEventError("body is not a JSON object")
    return value


def text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def ref(value: Any) -> str | None:
    """An id given either as a string or as an expanded object with an `id`."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict):
        inner = value.get("id")
        return inner if isinstance(inner, str) and inner else None
    return None


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
