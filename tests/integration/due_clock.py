"""Sandbox cards by number and a clock walked through the due work, for integration tests
that run installment plans on either store as the scheduler and charger would."""

from datetime import datetime, timedelta

from tenure.fakes import FixedClock
from tenure.payments.sandbox import payment_method_for
from tenure.services.context import Services
from tenure.services.due import work_due


def card(number: str) -> str:
    method = payment_method_for(number)
    assert method is not None
    return method


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
