"""A shop on the in-memory fakes and a driver that works due items like scheduler + charger."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.charges import Charge, ChargeOutcome
from tenure.domain.dunning import DunningPolicy
from tenure.domain.invoices import Invoice
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.domain.subscription import Subscription
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.ports import Commit, DueItem
from tenure.services import cards, catalog, programs, subscriptions
from tenure.services.context import Services
from tenure.services.due import work_due

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
GOOD_CARD = "4242424242424242"  # the sandbox's Visa that always pays
SCHEDULER_TICK = timedelta(minutes=15)  # how often the deployed renewals schedule runs
# Every confirm the sandbox answers emits exactly one of these for the payment intent.
CONFIRM_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")


def card(number: str) -> str:
    method = payment_method_for(number)
    assert method is not None, number
    return method


class Crash(Exception):
    """The Lambda died here: nothing after this point ran."""


def work_one(svc: Services, item: DueItem) -> object:
    """What the charger does with one due message: the services' own dispatch, from the
    subscription the item carries, as deployed."""
    return work_due(svc, item)


def run_due(svc: Services, until: datetime) -> None:
    """Work everything that falls due up to `until`, moving the clock to each due moment.

    Like the schedule + charger: take what is due now, work it, jump to the next due moment.
    Work still due after it was worked is queued again a scheduler tick later; an item that
    comes back with the same due time again and again never clears, and fails the test.
    """
    clock = svc.clock
    assert isinstance(clock, FixedClock)
    repo = svc.repo
    worked: Counter[DueItem] = Counter()
    while clock.now() <= until:
        for item in repo.due(clock.now()):
            worked[item] += 1
            if worked[item] > 3:
                raise AssertionError(f"due work never clears: {item}")
            work_one(svc, item)
        upcoming = repo.next_due_at()
        if upcoming is None:
            break
        following = (
            max(upcoming, clock.now() + SCHEDULER_TICK) if upcoming <= clock.now() else upcoming
        )
        if following > until:
            break
        clock.set(following)
    clock.set(until)


@dataclass
class Shop:
    """One customer (alice) and the plans, on the fakes, with the sandbox as provider."""

    svc: Services
    repo: InMemoryRepository
    clock: FixedClock
    gateway: SandboxGateway
    start: datetime = T0
    Crash = Crash  # what a test expects the dying worker to raise

    # -- other workers on the same store and provider -----------------------------------------
    def dying(
        self, *, after_commit: int = 0, before_commit: int = 0, after_call: str = ""
    ) -> Services:
        """A worker that dies around its n-th commit or right after a gateway call returned."""
        repo: Any = CrashingRepository(
            self.repo, after_commit=after_commit, before_commit=before_commit
        )
        gateway: Any = CrashingGateway(self.gateway, after=after_call)
        return Services(
            repo=repo,
            clock=self.clock,
            gateway=gateway,
            policy=self.svc.policy,
            gateways=self.svc.gateways,  # the other providers' (the default's is `gateway`)
        )

    def interleaved(self, meanwhile: Callable[[], object]) -> Services:
        """A worker that loads, lets `meanwhile` run to the end, then commits."""
        repo: Any = InterleavingRepository(self.repo, meanwhile)
        return Services(repo=repo, clock=self.clock, gateway=self.gateway, policy=self.svc.policy)

    def queued(self, entity_id: str = "sub-1", *, carried: bool = True) -> DueItem:
        """The message the scheduler queues now for this work: with the subscription in it
        (`carried`, as deployed), or only its id (as an older scheduler wrote them)."""
        [item] = [d for d in self.repo.due(self.clock.now()) if d.entity_id == entity_id]
        return item if carried else replace(item, customer_id=None, subscription=None)

    def work(self, item: DueItem, svc: Services | None = None) -> object:
        """A charger (this shop's own, or `svc`) works one queued message."""
        return work_one(svc or self.svc, item)

    def reading_nothing(self) -> Services:
        """A worker whose every read fails the test: what must work from a message alone."""
        repo: Any = NoReadsRepository(self.repo)
        return Services(repo=repo, clock=self.clock, gateway=self.gateway, policy=self.svc.policy)

    def add_card(self, number: str, customer: str = "alice") -> None:
        cards.update_payment_method(self.svc, customer, card(number), "sandbox", True)

    def subscribe(
        self, plan: str = "basic", sub_id: str = "sub-1", customer: str = "alice"
    ) -> subscriptions.Outcome:
        return subscriptions.subscribe(self.svc, sub_id, customer, plan)

    def run_due(self, until: datetime) -> None:
        run_due(self.svc, until)

    def renewal_declined(self, declining_card: str) -> datetime:
        """Alice's first month paid by a good card, then her card switched to `declining_card`
        and her renewal attempted, declined, at the period's end: returns that moment."""
        self.add_card(GOOD_CARD)
        self.subscribe()
        self.add_card(declining_card)
        renewed_at = self.sub().current_period_end
        self.clock.set(renewed_at)
        subscriptions.process_due(self.svc, "sub-1")
        return renewed_at

    def set_programs(self, document: dict[str, object]) -> None:
        """Replace the retention programs with `document` ({}: every program off)."""
        version = programs.get_programs(self.svc).version
        programs.put_programs(self.svc, Programs.model_validate(document), version)

    def sub(self, sub_id: str = "sub-1") -> Subscription:
        found = self.repo.get_subscription(sub_id)
        assert found is not None
        return found

    def invoice(self, invoice_id: str) -> Invoice:
        found = self.repo.get_invoice(invoice_id)
        assert found is not None
        return found

    def invoices(self, sub_id: str = "sub-1") -> list[Invoice]:
        return self.repo.list_invoices(sub_id)

    def invoice_starting(self, start: datetime, sub_id: str = "sub-1") -> Invoice:
        found = [i for i in self.invoices(sub_id) if i.period_start == start]
        assert len(found) == 1, f"{len(found)} invoices start at {start}"
        return found[0]

    def charges(self, invoice_id: str) -> list[Charge]:
        return self.repo.list_charges(invoice_id)

    def succeeded(self, invoice_id: str) -> list[Charge]:
        return [c for c in self.charges(invoice_id) if c.outcome is ChargeOutcome.SUCCEEDED]

    def confirmations(self, invoice_id: str) -> int:
        """How many times the provider was asked to move money for this invoice."""
        return sum(
            1
            for e in self.gateway.events
            if e["type"] in CONFIRM_EVENTS
            and e["data"]["object"]["metadata"]["tenure_invoice_id"] == invoice_id
        )

    def provider_refunds(self) -> list[dict[str, Any]]:
        """Every refund the provider made, as its refund.created events."""
        return [e for e in self.gateway.events if e["type"] == "refund.created"]

    def created_keys(self, invoice_id: str) -> list[str]:
        """The idempotency keys the provider saw on payment creation for this invoice."""
        return [
            e["request"]["idempotency_key"]
            for e in self.gateway.events
            if e["type"] == "payment_intent.created"
            and e["data"]["object"]["metadata"]["tenure_invoice_id"] == invoice_id
        ]


PLANS = (
    Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month"),
    Plan(
        id="basic-trial", name="Basic", amount=1000, currency="USD", interval="month", trial_days=14
    ),
)


@pytest.fixture
def make_shop() -> Callable[..., Shop]:
    """A factory: make_shop(policy=..., start=...) -> a Shop with alice and the PLANS."""

    def make(policy: DunningPolicy | None = None, start: datetime = T0) -> Shop:
        repo, clock = InMemoryRepository(), FixedClock(start)
        gateway = SandboxGateway(clock=clock.now)
        svc = Services(repo=repo, clock=clock, gateway=gateway, policy=policy or DunningPolicy())
        catalog.create_customer(svc, "alice", "alice@example.com")
        for plan in PLANS:
            catalog.create_plan(svc, plan)
        return Shop(svc, repo, clock, gateway, start)

    return make


@pytest.fixture
def paid_shop(make_shop: Callable[..., Shop]) -> Shop:
    """alice with a card that pays, on `basic` as sub-1: its first invoice paid."""
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.subscribe()
    return shop


@pytest.fixture
def card_trial(make_shop: Callable[..., Shop]) -> Shop:
    """alice with a card that pays, on a 14-day trial of basic as sub-1."""
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.subscribe("basic-trial")
    return shop


@pytest.fixture
def cardless_trial(make_shop: Callable[..., Shop]) -> Shop:
    """alice, with no card on file, on a 14-day trial of basic as sub-1."""
    shop = make_shop()
    shop.subscribe("basic-trial")
    return shop


# -- test doubles that die at a chosen step -----------------------------------------------------
class CrashingRepository:
    """The real repository, except that the process dies around its n-th commit."""

    def __init__(
        self, repo: InMemoryRepository, *, after_commit: int = 0, before_commit: int = 0
    ) -> None:
        self.repo = repo
        self.after_commit = after_commit
        self.before_commit = before_commit
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)

    def commit(self, change: Commit) -> None:
        self.commits += 1
        if self.commits == self.before_commit:
            raise Crash(f"before commit {self.commits}")
        self.repo.commit(change)
        if self.commits == self.after_commit:
            raise Crash(f"after commit {self.commits}")


class CrashingGateway:
    """The real gateway, except that the process dies right after `after` returned."""

    def __init__(self, gateway: SandboxGateway, *, after: str) -> None:
        self.gateway = gateway
        self.after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    def create_customer(self, **kwargs: Any) -> str:
        self.made = self.gateway.create_customer(**kwargs)  # what the test looks for after
        if self.after == "customer":
            raise Crash("after create_customer returned")
        return self.made

    def create_payment(self, **kwargs: Any) -> str:
        payment_id = self.gateway.create_payment(**kwargs)
        if self.after == "create":
            raise Crash("after create_payment returned")
        return payment_id

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> Any:
        result = self.gateway.confirm_payment(payment_id, idempotency_key=idempotency_key)
        if self.after == "confirm":
            raise Crash("after confirm_payment returned")
        return result

    def create_and_confirm_payment(self, **kwargs: Any) -> Any:
        result = self.gateway.create_and_confirm_payment(**kwargs)
        if self.after == "pay":
            raise Crash("after create_and_confirm_payment returned")
        return result


class NoReadsRepository:
    """The real repository, except that reading anything fails the test. Plans and programs
    are the exceptions: the DynamoDB store keeps those it read (plans never change once
    created; programs are read again after a minute)."""

    READS = ("get_", "list_", "read_", "find_", "has_", "due", "events_", "ledger_")
    CACHED = ("get_plan", "get_programs")

    def __init__(self, repo: InMemoryRepository) -> None:
        self.repo = repo

    def __getattr__(self, name: str) -> Any:
        if name.startswith(self.READS) and name not in self.CACHED:
            raise AssertionError(f"{name} read the store")
        return getattr(self.repo, name)


class InterleavingRepository:
    """The real repository; just before its first commit, `meanwhile` runs to completion.

    Gives the load(B) – load(A) – commit(A) – commit(B) interleaving of two workers.
    """

    def __init__(self, repo: InMemoryRepository, meanwhile: Callable[[], object]) -> None:
        self.repo = repo
        self.meanwhile = meanwhile
        self.ran = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)

    def commit(self, change: Commit) -> None:
        if not self.ran:
            self.ran = True
            self.meanwhile()
        self.repo.commit(change)
