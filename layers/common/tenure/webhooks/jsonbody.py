"""Strict reading of webhook bodies: every value Tenure takes from a provider's JSON passes
through here, so a value of the wrong type, in another script's digits or out of range is a
typed rejection (MalformedEventError) or an absent hint, never an exception further on.

Ranges are Tenure's, not the providers': wide enough for anything Stripe or Razorpay send
(ids of at most 255 ASCII characters, amounts of at most 12 digits, times between 1970 and
2100), narrow enough that every value fits a DynamoDB key or number and date arithmetic on
it cannot overflow.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any

from tenure.webhooks.errors import MalformedEventError

MAX_ID = 255  # Stripe's own limit on object ids; a DynamoDB key holds it with room to spare
MAX_TEXT = 255  # event types, statuses, decline codes
MAX_AMOUNT = 10**15  # Stripe's largest amounts have 12 digits (IDR); Razorpay's fewer
LATEST = 4102444800  # 2100-01-01T00:00:00Z: later is no event that happened
# Printable ASCII without spaces: every provider id and every Tenure id is of this shape,
# and it is what may safely go into a key or a log line.
_ID = re.compile(rf"[!-~]{{1,{MAX_ID}}}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")  # int() would also take '٣', '1_000' and ' 1'


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
    except ValueError:
        # A number of more than 4,300 digits, or a NaN: Python's message names the value.
        raise MalformedEventError("body is not JSON: a number is out of range") from None
    if not isinstance(value, dict):
        raise MalformedEventError("body is not a JSON object")
    return value


def text(obj: dict[str, Any], key: str) -> str | None:
    """A short non-empty string, else None."""
    value = obj.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None


def ident(value: Any) -> str | None:
    """An id: printable ASCII without spaces, at most 255 characters; else None."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def ref(value: Any) -> str | None:
    """An id given either as a string or as an expanded object with an `id`."""
    if isinstance(value, dict):
        return ident(value.get("id"))
    return ident(value)


def integer(value: Any, low: int = 0, high: int = MAX_AMOUNT) -> int | None:
    """A whole number in [low, high], given as a JSON integer or a string of ASCII digits
    (metadata values are strings); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and low <= value <= high:
        return value
    return None


def amount(obj: dict[str, Any], key: str) -> int | None:
    """An amount in minor units: None when absent (or null); refused when present but not a
    whole number from 0 to MAX_AMOUNT."""
    value = obj.get(key)
    if value is None:
        return None
    found = integer(value)
    if found is None:
        raise MalformedEventError(f"the event's {key} is not a whole number of minor units")
    return found


def currency(obj: dict[str, Any]) -> str:
    """The upper-case currency code; "" when absent; refused when not three letters."""
    value = obj.get("currency")
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise MalformedEventError("the event's currency is not a three-letter code")
    return value.upper()


def moment(value: Any) -> datetime | None:
    """Unix seconds from 1970 to 2100 as a UTC datetime, else None."""
    seconds = integer(value, 0, LATEST - 1)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
