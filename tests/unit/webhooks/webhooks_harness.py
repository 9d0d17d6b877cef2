"""Test harness for the webhooks: a shop on the in-memory fakes whose provider (the sandbox)
reports by webhook, and the real handler behind API Gateway v2 events."""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tenure.domain.money import Money
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments import stripe_objects
from tenure.payments.sandbox import payment_method_for
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.webhooks import stripe_events
from tenure_local.runtime import functions
from tenure_local.runtime.state import build_state
from tenure_local.simulator.webhooks_provider import ProviderSandbox

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "stripe" / "fixtures3.json"
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
StripeEvent = dict[str, Any]


def card(number: str) -> str:
    method = payment_method_for(number)
    assert method is not None, number
    return method


@dataclass
class Shop:
    """Alice, a monthly plan, the sandbox as provider; events come back as webhooks."""

    svc: Services
    repo: InMemoryRepository
    clock: FixedClock
    gateway: ProviderSandbox

    def add_card(self, number: str, customer: str = "alice") -> None:
        cards.update_payment_method(self.svc, customer, card(number), "sandbox", True)

    def subscribe(self, sub_id: str = "sub-1", customer: str = "alice") -> str:
        outcome = subscriptions.subscribe(self.svc, sub_id, customer, "basic")
        assert outcome.invoice is not None
        return outcome.invoice.id

    def events(self, kind: str | None = None) -> list[StripeEvent]:
        return [e for e in self.gateway.events if kind is None or e["type"] == kind]

    def last(self, kind: str) -> StripeEvent:
        found = self.events(kind)
        assert found, f"the sandbox sent no {kind}"
        return found[-1]

    def deliver(self, event: StripeEvent, svc: Services | None = None) -> Applied:
        """Parse and apply one event as the handler would (signature checked elsewhere)."""
        parsed = stripe_events.parse(stripe_objects.event_payload(event))
        return apply_provider_event(svc or self.svc, parsed, link_provider="sandbox")

    def payment_of(self, invoice_id: str, attempt: int = 1) -> str:
        charge = self.repo.get_charge(invoice_id, attempt)
        assert charge is not None and charge.payment_id is not None
        return charge.payment_id

    def refund(self, invoice_id: str, amount: int | None, key: str) -> None:
        money = Money(amount, "USD") if amount is not None else None
        self.gateway.dashboard_refund(self.payment_of(invoice_id), money, key)

    def state(self) -> dict[str, Any]:
        state = build_state(self.repo, ["alice"])
        customer = self.repo.get_customer("alice")
        assert customer is not None
        state["metadata"] = dict(customer.metadata)
        return state

    def fork(self) -> "Shop":
        """An independent copy of the store (the provider is shared: it is only read)."""
        repo = copy.deepcopy(self.repo)
        clock = FixedClock(self.clock.now())
        svc = Services(repo=repo, clock=clock, gateway=self.gateway, policy=self.svc.policy)
        return Shop(svc, repo, clock, self.gateway)


def new_shop() -> Shop:
    repo, clock = InMemoryRepository(), FixedClock(T0)
    gateway = ProviderSandbox(clock=clock.now)
    svc = Services(repo=repo, clock=clock, gateway=gateway)
    catalog.create_customer(svc, "alice", "alice@example.com")
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    return Shop(svc, repo, clock, gateway)


def event(type_: str, obj: dict[str, Any], created: int, n: int = 0, **extra: Any) -> StripeEvent:
    """A Stripe event envelope around `obj`."""
    built = stripe_objects.event(id=f"evt_{type_}_{n}", type=type_, obj=obj, created=created)
    built.update(extra)
    return built


def later(hours: float) -> Callable[[datetime], datetime]:
    return lambda moment: moment + timedelta(hours=hours)


def fixtures() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return resources


# -- the real handler ----------------------------------------------------------------------------
@dataclass
class Endpoint:
    shop: Shop

    def post(
        self,
        body: bytes,
        headers: dict[str, str] | None = None,
        provider: str = "stripe",
        base64: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        event = functions.http_event(
            "POST", f"/webhooks/{provider}", headers=headers or {}, raw_body=body
        )
        if base64:
            import base64 as b64

            event["body"], event["isBase64Encoded"] = b64.b64encode(body).decode(), True
        response = functions.invoke("webhooks", event)
        return int(response["statusCode"]), json.loads(response["body"] or "null")

    def send(
        self, event: StripeEvent, secret: str = SECRET, at: datetime | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = stripe_objects.event_payload(event)
        moment = int((at or self.shop.clock.now()).timestamp())
        return self.post(body, stripe_events.sign(body, secret, moment))
