"""Telling a price's existing subscribers at once: the run that walks them, a page at a time.

A price change (tenure.domain.prices) made while subscribers pay the old price starts a run.
The run is due work of its own: each time it is worked, it reads a page of the price's
members (the subscriptions that joined it, kept by the store), lets each note the change,
and moves its cursor past the page. Noting is idempotent (a subscription notes a change
once, and its email's key names the change), so a page worked twice, after a crash between
the subscriptions' commits and the run's, tells nobody twice and skips nobody.
"""

from dataclasses import dataclass
from datetime import datetime

from tenure.domain.due import DueKind
from tenure.domain.timeutil import utc


@dataclass(slots=True, kw_only=True)
class PriceNoticeRun:
    change_id: str  # the PriceChange it tells of ("basic:pc2")
    price_id: str  # the plan or add-on whose members it walks
    started_at: datetime
    cursor: str | None = None  # the last member already worked (None: none yet)
    pages: int = 0  # pages worked so far
    finished_at: datetime | None = None
    version: int = 0

    def __post_init__(self) -> None:
        self.started_at = utc(self.started_at)

    @property
    def id(self) -> str:
        return self.change_id

    def next_due(self) -> tuple[datetime, DueKind] | None:
        """Due from its start until its last page is worked."""
        return None if self.finished_at is not None else (self.started_at, DueKind.PRICE_NOTICES)

    def advance(self, last: str | None, more: bool, now: datetime) -> None:
        """A page was worked: the cursor moves past `last`; with nothing `more`, it is over."""
        self.pages += 1
        if last is not None:
            self.cursor = last
        if not more:
            self.finished_at = utc(now)
