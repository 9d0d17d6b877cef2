"""What every use case needs: the ports, wired by the composition root."""

from dataclasses import dataclass, field

from tenure.domain.collection_cases import CollectionsPolicy
from tenure.domain.dunning import DunningPolicy
from tenure.domain.mandates import MandatePolicy
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.payments.gateway import PaymentGateway
from tenure.ports import Clock, Commit, Repository
from tenure.services.points_planning import plan_points


@dataclass(slots=True)
class Services:
    repo: Repository
    clock: Clock
    gateway: PaymentGateway | None = None  # None: invoices stay open, nothing is charged
    policy: DunningPolicy = field(default_factory=DunningPolicy)
    collections: CollectionsPolicy = field(default_factory=CollectionsPolicy)
    mandates: MandatePolicy = field(default_factory=MandatePolicy)  # India's e-mandate rules
    # None: no emails are planned (tests of other things may say so; the product never does)
    reminders: ReminderPolicy | None = field(default_factory=ReminderPolicy)
    # Commits made through these services so far. A caller compares it before and after a
    # use case to know whether anything was written (an API request that fails having
    # written nothing may be retried as new; one that wrote must not be).
    commits: int = 0

    # The unit of work a use case ends with, in its two steps. A change that can make emails
    # owed (it carries domain events) goes through `commit_with_notices`; one that only
    # records what became of emails already owed (the reminders run) through `commit`.
    def commit_with_notices(self, change: Commit) -> None:
        """Plan the emails `change` makes owed and the loyalty points it moves, then commit
        them with it, atomically."""
        plan_points(self.repo, change)
        self.plan_notices(change)
        self.commit(change)

    def plan_notices(self, change: Commit) -> None:
        """Add to `change` the emails it makes owed (none while reminders are off). Planning
        reads only the change, never the store; a change planned before is not planned
        twice (a commit retried keeps its notices)."""
        if self.reminders is None:
            return
        known = {n.key for n in change.notices}
        planned = plan_notices(change, self.reminders, self.clock.now())
        change.notices.extend(n for n in planned if n.key not in known)

    def commit(self, change: Commit) -> None:
        """Commit `change` as it stands, in one transaction."""
        self.repo.commit(change)
        self.commits += 1
