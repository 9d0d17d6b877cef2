"""A moment a request body or a scenario file gives: an ISO-8601 date-time with a zone, that
UTC can hold. `0001-01-01T00:00:00+14:00` is a valid aware date-time but falls before year 1
in UTC, where every moment is compared and stored: refused as a 422 on its field (pydantic),
never an OverflowError (a 500) in the first comparison."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from tenure.domain.timeutil import utc


def _held_by_utc(value: datetime) -> datetime:
    try:
        utc(value)
    except OverflowError:
        raise ValueError("must fall between the years 1 and 9999 in UTC") from None
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_held_by_utc)]
