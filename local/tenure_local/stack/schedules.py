"""`tenure serve`'s stand-in for EventBridge Scheduler: the renewals schedule (then the
charger drains the queue) every minute, and the reminders at the top of every hour.

Deployed, the renewals schedule runs every 15 minutes; locally a minute keeps a test card
change or a new subscription's first renewal from waiting long. Each tick runs the real
handlers in this process, against the same stack the HTTP server uses.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tenure_local.runtime import functions
from tenure_local.stack.ticking import Ticking, utcnow

log = logging.getLogger(__name__)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalSchedules(Ticking):
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        every: float = 60.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        # A failing run is retried on the next tick, as the schedule's would be.
        super().__init__("schedules", every, now, log, "local schedule run failed")
        self._sqs = sqs
        self._queue_url = queue_url
        self._last_hour: datetime | None = None

    def tick(self, now: datetime) -> dict[str, Any]:
        """One tick: the renewals run, and the reminders run when a new hour has begun."""
        ran: dict[str, Any] = {}
        queued = functions.invoke("renewals-scheduler", functions.scheduler_event(_stamp(now)))
        ran["renewals"] = queued
        if queued.get("queued"):
            ran["charged"] = functions.drain_renewal_queue(self._sqs, self._queue_url)
        hour = now.replace(minute=0, second=0, microsecond=0)
        if hour != self._last_hour:
            ran["reminders"] = functions.invoke(
                "reminders", functions.scheduler_event(_stamp(hour))
            )
            self._last_hour = hour
        return ran
