"""What every use case needs: the ports, wired by the composition root."""

from dataclasses import dataclass, field

from tenure.domain.dunning import DunningPolicy
from tenure.notify.planner import plan_notices
from tenure.notify.policy import ReminderPolicy
from tenure.payments.gateway import PaymentGateway
from tenure.ports import Clock, Commit, Repository


@dataclass(slots=True)
class Services:
    repo: Repository
    clock: Clock
    gateway: PaymentGateway | None = None  # None: invoices stay open, nothing is charged
    policy: DunningPolicy = field(default_factory=DunningPolicy)
    # None: no emails are planned (tests of other things may say so; the product never does)
    reminders: ReminderPolicy | None = field(default_factory=ReminderPolicy)
    # Commits made through these services so far. A caller compares it before and after a
    # use case to know whether anything was written (an API request that fails having
    # written nothing may be retried as new; one that wrote must not be).
    commits: int = 0

    def commit(self, change: Commit) -> None:
        """Commit a change with the emails it makes owed, in the same transaction."""
        if self.reminders is not None:
            known = {n.key for n in change.notices}  # a commit retried is not planned twice
            planned = plan_notices(change, self.reminders, self.clock.now())
            change.notices.extend(n for n in planned if n.key not in known)
        self.repo.commit(change)
        self.commits += 1
