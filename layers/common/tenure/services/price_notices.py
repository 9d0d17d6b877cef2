"""Telling a price change's existing subscribers at once, a page of them at a time.

`pricing.schedule_price_change` starts a run (tenure.domain.price_notices); the renewals
schedule finds it due and the charger works it here, as any due work. Each subscription of
the page notes the change in its own commit (its `price_change` email planned with it, in
its customer's daytime), then the run's cursor moves past the page. A crash anywhere is
redone from the cursor: a subscription that noted the change already notes nothing, and the
email's key names the change, so nobody is told twice and nobody is skipped.
"""

from datetime import datetime

from tenure.domain.errors import ConcurrencyError
from tenure.domain.price_notices import PriceNoticeRun
from tenure.ports import Commit
from tenure.services import pricing
from tenure.services.catalog import get_plan
from tenure.services.context import Services

PAGE = 100  # members read per query
PAGES_PER_WORK = 10  # then the run stays due, and the next schedule run goes on with it
TRIES = 3  # a subscription renewing meanwhile: read it again


def tell_subscribers(svc: Services, change_id: str) -> PriceNoticeRun | None:
    """Work a run for up to PAGES_PER_WORK pages. None: nothing was left to do (the run is
    over, or unknown), so a duplicate message is harmless."""
    run = svc.repo.get_price_run(change_id)
    if run is None or run.finished_at is not None:
        return None
    price = svc.repo.get_plan(run.price_id)
    if price is None or all(c.id != change_id for c in price.price_changes):
        # A warm container keeps a plan it read for a minute (store.dynamodb): this one still
        # holds the price as it was before the change, and its members would note nothing.
        # The run stays where it is, and the schedule's next run goes on with it.
        return run
    for _ in range(PAGES_PER_WORK):
        members, more = svc.repo.price_members(run.price_id, PAGE, run.cursor)
        now = svc.clock.now()
        for sub_id in members:
            _note(svc, sub_id, now)
        run.advance(members[-1] if members else None, more is not None, now)
        svc.commit(Commit(price_runs=[run]))
        if run.finished_at is not None:
            break
    return run


def _note(svc: Services, sub_id: str, now: datetime) -> None:
    """Let one member note what its plan's and add-ons' prices hold for it; a member that
    left (ended, moved, dropped the add-on) notes nothing and is not written."""
    for attempt in range(TRIES):
        sub = svc.repo.get_subscription(sub_id)
        if sub is None or sub.ended:
            return
        pricing.note_price_changes(svc, sub, get_plan(svc, sub.plan_id), now)
        if not sub.events:
            return
        change = Commit()
        change.add_subscription(sub)
        try:
            svc.commit_with_notices(change)
            return
        except ConcurrencyError:
            if attempt == TRIES - 1:
                raise  # the message comes back, and the page is worked again


MEMBERS_PER_COMMIT = 90  # under DynamoDB's 100 items a transaction


def backfill_price_members(svc: Services, page: int = 100) -> int:
    """Write the memberships of every subscription that may still pay (for tables that held
    subscriptions before memberships existed): customers a page at a time, then each one's
    subscriptions. Writing a membership twice changes nothing, so it may be run again, or
    while the functions run. Returns how many memberships it wrote."""
    written, after = 0, None
    while True:
        customers, after = svc.repo.list_customers(page, after)
        for customer in customers:
            members = [
                (price, sub.id)
                for sub in svc.repo.list_subscriptions(customer.id)
                if not sub.ended
                for price in sub.held_prices()
            ]
            for start in range(0, len(members), MEMBERS_PER_COMMIT):
                svc.commit(Commit(price_members=members[start : start + MEMBERS_PER_COMMIT]))
            written += len(members)
        if after is None:
            return written
