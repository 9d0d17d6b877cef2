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
    at = moment if moment.tzinfo is UTC else utc(moment)
    if at.year < 1000:  # strftime does not pad such a year to four digits; isoformat does
        return at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The date and time of isoformat, without the offset (+00:00): a tenth of the cost of
    # strftime, and the moment every event, index key and view spells.
    return at.isoformat(timespec="seconds")[:19] + "Z"


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return utc(value)
