"""The moments the hourly runs fall on (the reminders schedule fires on the hour)."""

from datetime import datetime, timedelta


def on_the_hour(moment: datetime) -> bool:
    return moment.minute == moment.second == moment.microsecond == 0


def hour_at_or_after(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)
