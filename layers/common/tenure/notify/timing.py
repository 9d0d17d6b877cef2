"""When an email may go out: inside the customer's quiet hours, on an hourly run.

The reminders function runs at the top of every UTC hour, so every send time is a whole UTC
hour whose local time (in the customer's zone) falls in [start, end). Zones with half- and
quarter-hour offsets (Asia/Kolkata, Asia/Kathmandu) get the runs that land inside their
window, e.g. 09:30 local.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: int = 9  # first local hour an email may go out
    end: int = 20  # local hour from which none goes out

    def allows(self, moment: datetime, zone: str) -> bool:
        local = moment.astimezone(tz(zone))
        return self.start <= local.hour < self.end


def tz(name: str) -> ZoneInfo:
    """The zone by IANA name; an unknown name (which validation should have refused) is UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def ceil_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def next_slot(earliest: datetime, zone: str, hours: QuietHours) -> datetime:
    """The first hourly run at or after `earliest` that falls in the customer's window."""
    slot = ceil_hour(earliest)
    for _ in range(48):  # a window of at least one hour is always found within two days
        if hours.allows(slot, zone):
            return slot
        slot += HOUR
    raise ValueError(f"quiet hours {hours} leave no hourly slot in {zone}")


def last_slot_by(
    latest: datetime, zone: str, hours: QuietHours, not_before: datetime
) -> datetime | None:
    """The last hourly run at or before `latest` that falls in the customer's window and
    not before `not_before` (None: there is none in between)."""
    slot = latest.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while slot >= not_before:
        if hours.allows(slot, zone):
            return slot
        slot -= HOUR
    return None


def slots_on(day: date, zone: str, hours: QuietHours) -> list[datetime]:
    """Every hourly run that falls in the window on the customer's local `day`."""
    return list(_slots_on(day, zone, hours))


@lru_cache(maxsize=4096)
def _slots_on(day: date, zone: str, hours: QuietHours) -> tuple[datetime, ...]:
    # Kept: every reminder planned for a day in a zone asks for the same hours (a customer
    # base shares a few zones), each a walk through the day's 24 hours.
    zone_info = tz(zone)
    start = datetime.combine(day, time(0), zone_info).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone_info).astimezone(UTC)
    found = []
    slot = ceil_hour(start)
    while slot < end:
        if hours.allows(slot, zone):
            found.append(slot)
        slot += HOUR
    return tuple(found)


def slot_before(
    moment: datetime, days: int, zone: str, hours: QuietHours, not_before: datetime
) -> datetime | None:
    """The send time of a reminder `days` before `moment` in the customer's calendar.

    The reminder goes out on the local date `days` before the local date of `moment`, at
    the same local time of day when that is inside the window, else at the window's nearest
    edge that day. None when that day has passed (a reminder that would come late is not
    sent), and the first remaining slot when the day is today."""
    zone_info = tz(zone)
    local = moment.astimezone(zone_info)
    day = local.date() - timedelta(days=days)
    slots = slots_on(day, zone, hours)
    if not slots:
        return None
    ideal = datetime.combine(day, local.time(), zone_info).astimezone(UTC)
    chosen = next((s for s in slots if s >= ideal), slots[-1])
    if chosen >= not_before:
        return chosen
    later = [s for s in slots if s >= not_before]
    return later[0] if later else None
