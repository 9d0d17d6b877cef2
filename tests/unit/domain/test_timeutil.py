"""The public spelling of a moment (timeutil.iso): whole seconds, in UTC, with a Z."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tenure.domain.timeutil import iso, parse_iso


def _strftime_spelling(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 5, 12, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 5, 12, 0, 7, 999_999, tzinfo=UTC),  # microseconds dropped
        datetime(2026, 3, 5, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-3))),  # next year
        datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=ZoneInfo("Europe/London")),
        datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_iso_spells_a_moment_as_strftime_did(moment: datetime) -> None:
    assert iso(moment) == _strftime_spelling(moment)
    assert parse_iso(iso(moment) or "") == moment.astimezone(UTC).replace(microsecond=0)


def test_a_year_before_1000_is_spelled_as_strftime_spells_it() -> None:
    moment = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert iso(moment) == _strftime_spelling(moment)


def test_iso_of_none_is_none_and_of_a_naive_moment_refused() -> None:
    assert iso(None) is None
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2026, 3, 5, 12, 0))
