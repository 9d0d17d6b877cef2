"""What every codec module shares: times as ISO text (and back), and plain attribute maps
to and from DynamoDB's typed attribute values (ints stay ints)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer


def time_text(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def require_time(value: Any) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("missing timestamp in stored item")
    return parsed


_ser = TypeSerializer()

_de = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}
