"""A subscription business on the in-memory fakes, for the metrics tests (fixtures: conftest)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tenure.domain.events import MrrLedgerEntry
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cards, catalog, retention, subscriptions
from tenure.services.context import Services

T0 = datetime(2026, 2, 1, 9, tzinfo=UTC)
GOOD_CARD = "4242424242424242"
PLANS = (
    Plan(id="monthly-100", name="Team", amount=10000, currency="USD", interval="month"),
    Plan(id="monthly-200", name="Business", amount=20000, currency="USD", interval="month"),
    Plan(id="yearly-600", name="Team yearly", amount=60000, currency="USD", interval="year"),
    Plan(id="yearly-2000", name="Gold yearly", amount=200000, currency="USD", interval="year"),
    Plan(id="monthly-eur", name="Team (EUR)", amount=5000, currency="EUR", interval="month"),
)


@dataclass
class Business:
    svc: Services
    repo: InMemoryRepository
    clock: FixedClock

    def at(self, moment: datetime) -> "Business":
        self.clock.set(moment)
        return self

    def customer(self, customer_id: str, card: str | None = GOOD_CARD) -> None:
        catalog.create_customer(self.svc, customer_id, f"{customer_id}@example.com")
        if card:
            method = payment_method_for(card)
            assert method is not None
            cards.update_payment_method(self.svc, customer_id, method, "sandbox", True)

    def subscribe(self, customer_id: str, plan: str, sub_id: str | None = None) -> str:
        sub_id = sub_id or f"sub-{customer_id}-{plan}"
        subscriptions.subscribe(self.svc, sub_id, customer_id, plan)
        return sub_id

    def cancel(self, sub_id: str, reason: str | None = "too_expensive") -> None:
        subscriptions.cancel(self.svc, sub_id, at_period_end=False, reason=reason)

    def change_plan(self, sub_id: str, plan: str) -> None:
        subscriptions.change_plan(self.svc, sub_id, plan)

    def aggregate(self, first: date, last: date | None = None) -> list[retention.DaySummary]:
        return retention.backfill(self.svc, first, last or first)

    def document(self, first: date, last: date, currency: str | None = None) -> dict[str, Any]:
        return retention.metrics_document(self.svc, first, last, currency)

    def day(self, day: date, currency: str = "USD") -> dict[str, Any]:
        snapshot = self.repo.get_snapshot(day.isoformat())
        assert snapshot is not None, day
        figures: dict[str, Any] = snapshot["currencies"].get(currency, {})
        return figures


def make_business() -> Business:
    repo, clock = InMemoryRepository(), FixedClock(T0)
    svc = Services(repo=repo, clock=clock, gateway=SandboxGateway(clock=clock.now))
    for plan in PLANS:
        catalog.create_plan(svc, plan)
    return Business(svc, repo, clock)


def entry(
    customer: str,
    sub: str,
    before: int,
    after: int,
    at: datetime = T0,
    reason: str = "SubscriptionActivated",
    currency: str = "USD",
) -> MrrLedgerEntry:
    return MrrLedgerEntry(sub, customer, currency, at, before, after, reason)


def day_of(moment: datetime, days: int = 0) -> date:
    return (moment + timedelta(days=days)).date()


def three_customers_one_gone() -> Business:
    """c0, c1 and c2 on monthly-100 from T0; c2 cancels (too expensive) a day later."""
    business = make_business()
    for n in range(3):
        business.customer(f"c{n}")
        business.subscribe(f"c{n}", "monthly-100", f"s{n}")
    business.at(T0 + timedelta(days=1)).cancel("s2", reason="too_expensive")
    return business
