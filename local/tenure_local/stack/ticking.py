"""A daemon thread that runs one tick every few seconds until stopped: how `tenure serve`
stands in for the schedules and streams that drive the deployed functions."""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ticking:
    """Calls `tick(now)` every `every` seconds on a daemon thread named `name` until stopped.
    A tick that fails is logged to `log` as `failure` and the next tick tries again, as the
    deployed trigger would."""

    def __init__(
        self,
        name: str,
        every: float,
        now: Callable[[], datetime],
        log: logging.Logger,
        failure: str,
    ) -> None:
        self._every = every
        self._now = now
        self._log = log
        self._failure = failure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def tick(self, now: datetime) -> object:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick(self._now())
            except Exception:
                self._log.exception(self._failure)
            self._stop.wait(self._every)
