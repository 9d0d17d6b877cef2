"""Sandbox cards by number and a clock walked through the due work, for integration tests
that run installment plans on either store as the scheduler and charger would."""

from datetime import datetime, timedelta

from tenure.domain.dunning import DunningPolicy
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.ports import Repository
from tenure.services import cards, catalog
from tenure.services.context import Services
from tenure.services.due import work_due


def card(number: str) -> str:
    method = payment_method_for(number)
    assert method is not None
    return method


def alice_paying_by(repo: Repository, start: datetime, number: str) -> tuple[Services, FixedClock]:
    """The services on `repo`, the sandbox as provider, on a clock at `start`; and alice, her
    default payment method the sandbox card `number`."""
    clock = FixedClock(start)
    gateway = SandboxGateway(clock=clock.now)
    svc = Services(repo=repo, clock=clock, gateway=gateway, policy=DunningPolicy())
    catalog.create_customer(svc, "alice", "alice@example.com")
    cards.update_payment_method(svc, "alice", card(number), "sandbox", True)
    return svc, clock


def run_until(svc: Services, clock: FixedClock, until: datetime) -> None:
    """Work what is due, moving the clock to each next due moment, like scheduler + charger."""
    for _ in range(200):
        for item in svc.repo.due(clock.now()):
            work_due(svc, item)
        upcoming = svc.repo.next_due_at()
        if upcoming is None or upcoming > until:
            break
        clock.set(max(upcoming, clock.now() + timedelta(minutes=15)))
    clock.set(until)
