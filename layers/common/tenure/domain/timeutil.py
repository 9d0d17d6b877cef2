"""UTC timestamps as the public files and API spell them."""

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every moment in Tenure carries a time zone")
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z, whole seconds: 2026-03-05T12:00:00Z."""
    if moment is None:
        return None
    return utc(moment).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return utc(value)
