"""The subscription lifecycle as a state machine: customers, the schedule, the provider and its
webhooks act in any order, and Tenure's invariants (docs/invariants.md) hold after every step.

The shop runs on the in-memory repository and the sandbox provider, with the real services.
Due work goes through the renewals charger's own message format and dispatch table, and
emails through the real reminders run: what the schedule does, not a copy of it. Bounded
here (`make test`); `HYPOTHESIS_PROFILE=deep` runs it longer (`make test-deep`).
"""

import contextlib
import os
import pickle
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from conftest import Crash, CrashingGateway, CrashingRepository
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tenure.domain.charges import ChargeOutcome, ChargeStatus
from tenure.domain.dunning import DunningPolicy, FinalAction
from tenure.domain.errors import (
    AlreadyExistsError,
    DomainError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.money import Money
from tenure.domain.plans import Plan
from tenure.domain.subscription import SubscriptionStatus
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments import stripe_objects
from tenure.payments.sandbox import payment_method_for
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services
from tenure.services.due import due_work, work_due
from tenure.services.due_messages import due_message_body, parse_due_message
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.services.reminders import send_due
from tenure.webhooks import stripe_events
from tenure_local.runtime.state import build_state
from tenure_local.simulator.charges_audit import audit
from tenure_local.simulator.webhooks_provider import ProviderActionError, ProviderSandbox

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SCHEDULER_TICK = timedelta(minutes=15)  # how often the deployed renewals schedule runs
CUSTOMERS = ("alice", "bob")
PLANS = (
    Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month"),
    Plan(id="pro", name="Pro", amount=3000, currency="USD", interval="month"),
    Plan(id="annual", name="Annual", amount=10000, currency="USD", interval="year"),
    Plan(id="trial", name="Trial", amount=1000, currency="USD", interval="month", trial_days=7),
)
CARDS = {
    "good": "4242424242424242",
    "good_too": "5555555555554444",
    "insufficient_funds": "4000000000009995",  # soft: retried on the schedule
    "lost_card": "4000000000009987",  # hard: waits for a new card
    "authentication_required": "4000002760003184",
}
CONFIRM_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
# Moving the clock: within the hour, a day, past a retry, past a renewal, past dunning's end.
STEPS = (
    timedelta(minutes=10),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=4),
    timedelta(days=16),
    timedelta(days=32),
)
# Where a worker (a charger or an API request) dies, as conftest's doubles do it.
CRASHES = (
    {"after_call": "create"},
    {"after_call": "confirm"},
    {"before_commit": 1},
    {"after_commit": 1},
    {"after_commit": 2},
)


def card(name: str) -> str:
    method = payment_method_for(CARDS[name])
    assert method is not None
    return method


class KeyMailer:
    """Records the notice key of every email it is handed (the compose below puts it there)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        self.sent.append(str(message["X-Notice-Key"]))
        return f"<{len(self.sent)}@test>"


def compose(
    notice: Any, customer: Any, facts: Any, links: Any, sent_at: datetime
) -> tuple[EmailMessage, tuple[str, ...]]:
    """A bare message naming its notice: the templates are tested elsewhere, and cost time."""
    message = EmailMessage()
    message["To"] = customer.email
    message["X-Notice-Key"] = notice.key
    message.set_content(str(notice.kind))
    return message, ()


def link(customer_id: str, purpose: Any, subject: str, action: str | None) -> str:
    return f"https://shop.example/l/{customer_id}/{purpose}"


def on_the_hour(moment: datetime) -> datetime:
    """The hourly reminders run at or after `moment`."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def deliver(svc: Services, event: dict[str, Any]) -> Applied:
    """One webhook delivery as the handler applies it (signatures are tested elsewhere)."""
    parsed = stripe_events.parse(stripe_objects.event_payload(event))
    return apply_provider_event(svc, parsed, link_provider="sandbox")


def open_shop() -> bytes:
    """The customers and plans, once: each example starts from a copy (creating a customer
    checks its time zone against the system's list, which is slow to do 50 times over)."""
    clock = FixedClock(T0)
    gateway = ProviderSandbox(clock=clock.now)
    repo = InMemoryRepository()
    svc = Services(repo=repo, clock=clock, gateway=gateway)
    for customer in CUSTOMERS:
        catalog.create_customer(svc, customer, f"{customer}@example.com")
    for plan in PLANS:
        catalog.create_plan(svc, plan)
    return pickle.dumps((repo, clock, gateway))


OPENED = open_shop()


class Lifecycle(RuleBasedStateMachine):
    """Two customers, four plans, the sandbox; every rule is something that happens in life."""

    def __init__(self) -> None:
        super().__init__()
        self.repo, self.clock, self.gateway = pickle.loads(OPENED)
        self.svc = Services(repo=self.repo, clock=self.clock, gateway=self.gateway)
        self.mailer = KeyMailer()
        self.subs: list[str] = []
        self.heard = 0  # how many of the provider's events the courier has picked up
        self.pending: list[dict[str, Any]] = []  # picked up, not yet delivered
        self.delivered: list[dict[str, Any]] = []
        self.applied: set[str] = set()  # event ids whose delivery was applied
        self.disputes: list[str] = []
        self.n = 0  # for fresh ids and keys
        self.worked_until = T0  # due work is done up to here

    # -- the shop's policy --------------------------------------------------------------------
    @initialize(final_action=st.sampled_from(FinalAction))
    def choose_policy(self, final_action: FinalAction) -> None:
        self.svc.policy = DunningPolicy(final_action=final_action)

    # -- customers ----------------------------------------------------------------------------
    @rule(
        customer=st.sampled_from(CUSTOMERS),
        plan=st.sampled_from([p.id for p in PLANS]),
        card_name=st.none() | st.sampled_from(sorted(CARDS)),
        crash=st.none() | st.sampled_from(CRASHES),
    )
    def subscribe(
        self, customer: str, plan: str, card_name: str | None, crash: dict[str, Any] | None
    ) -> None:
        """A customer subscribes (after giving a card, or with what is on file); the request
        may die, and the client then sends it again."""
        if card_name is not None:
            self._refusable(
                lambda: cards.update_payment_method(
                    self.svc, customer, card(card_name), "sandbox", True
                )
            )
        self.n += 1
        sub_id = f"sub-{self.n}"
        if crash is not None:
            with contextlib.suppress(Crash):
                subscriptions.subscribe(self._dying(crash), sub_id, customer, plan)
            # The client's retry of the same request: done, or refused as taken, changing nothing.
        self._refusable(lambda: subscriptions.subscribe(self.svc, sub_id, customer, plan))
        if self.repo.get_subscription(sub_id) is not None:
            self.subs.append(sub_id)

    @rule(customer=st.sampled_from(CUSTOMERS), card_name=st.sampled_from(sorted(CARDS)))
    def change_card(self, customer: str, card_name: str) -> None:
        """A new default card: what is owed is retried on it at once."""
        self._refusable(
            lambda: cards.update_payment_method(
                self.svc, customer, card(card_name), "sandbox", True
            )
        )

    @precondition(lambda self: self.subs)
    @rule(data=st.data(), days=st.none() | st.integers(1, 40))
    def pause(self, data: st.DataObject, days: int | None) -> None:
        sub_id = data.draw(st.sampled_from(self.subs))
        until = None if days is None else self.clock.now() + timedelta(days=days)
        self._refusable(lambda: subscriptions.pause(self.svc, sub_id, until))

    @precondition(lambda self: self.subs)
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        sub_id = data.draw(st.sampled_from(self.subs))
        self._refusable(lambda: subscriptions.resume(self.svc, sub_id))

    @precondition(lambda self: self.subs)
    @rule(data=st.data(), plan=st.sampled_from([p.id for p in PLANS]))
    def change_plan(self, data: st.DataObject, plan: str) -> None:
        """Up (basic → pro, → annual) or down: the upgrade is charged now, a downgrade credited."""
        sub_id = data.draw(st.sampled_from(self.subs))
        self._refusable(lambda: subscriptions.change_plan(self.svc, sub_id, plan))

    @precondition(lambda self: self.subs)
    @rule(data=st.data(), at_period_end=st.booleans())
    def cancel(self, data: st.DataObject, at_period_end: bool) -> None:
        sub_id = data.draw(st.sampled_from(self.subs))
        self._refusable(
            lambda: subscriptions.cancel(self.svc, sub_id, at_period_end, "too_expensive")
        )

    # -- time: the renewals schedule, the charger, the sweeper and the reminders run -----------
    @rule(step=st.sampled_from(STEPS), crash=st.none() | st.sampled_from(CRASHES))
    def time_passes(self, step: timedelta, crash: dict[str, Any] | None) -> None:
        """Everything that falls due meanwhile is worked; with `crash`, the first charger
        message dies at that point (SQS redelivers it, the schedule finds it again)."""
        until = self.clock.now() + step
        worked: Counter[tuple[str, str, datetime]] = Counter()
        while True:
            now = self.clock.now()
            for item in due_work(self.svc, now):
                key = (item.kind, item.entity_id, item.due_at)
                worked[key] += 1
                assert worked[key] <= 3, f"due work never clears: {item}"
                svc = self.svc
                if crash is not None:
                    svc, crash = self._dying(crash), None
                with contextlib.suppress(Crash):  # the message fails; the work stays due
                    self._charger(svc, item)
            next_notice = self.repo.next_notice_at()
            if next_notice is not None and next_notice <= now and on_the_hour(now) == now:
                send_due(self.svc, self.mailer, compose, link, now)
            upcoming = []
            next_due = self.repo.next_due_at()
            if next_due is not None:
                # Still due after it was worked: the schedule runs again a tick later.
                upcoming.append(next_due if next_due > now else now + SCHEDULER_TICK)
            next_notice = self.repo.next_notice_at()
            if next_notice is not None:
                upcoming.append(on_the_hour(max(next_notice, now + timedelta(seconds=1))))
            upcoming = [moment for moment in upcoming if moment <= until]
            if not upcoming:
                break
            self.clock.set(min(upcoming))
        self.clock.set(until)
        self.worked_until = until

    def _charger(self, svc: Services, item: Any) -> object:
        """One due item as the scheduler queues it and the charger works it: through the
        queue's message format and the services' dispatch, as deployed."""
        return work_due(svc, parse_due_message(due_message_body(item)))

    # -- the provider: refunds and disputes made there, and its webhooks ------------------------
    @precondition(lambda self: self._paid_payments())
    @rule(data=st.data(), partial=st.booleans())
    def refund_at_provider(self, data: st.DataObject, partial: bool) -> None:
        payment_id = data.draw(st.sampled_from(self._paid_payments()))
        charge = self.gateway.charge_for(payment_id)
        assert charge is not None
        left = int(charge["amount"]) - int(charge["amount_refunded"])
        amount = None
        if partial and left > 1:
            amount = Money(data.draw(st.integers(1, left - 1)), str(charge["currency"]).upper())
        self.n += 1
        # Refunded in full already: the provider refuses, and nothing happens.
        with contextlib.suppress(ProviderActionError):
            self.gateway.dashboard_refund(payment_id, amount, f"refund-{self.n}")

    @precondition(lambda self: self._paid_payments())
    @rule(data=st.data())
    def dispute_at_provider(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(self._paid_payments()))
        self.n += 1
        with contextlib.suppress(ProviderActionError):  # disputed already: refused
            self.disputes.append(self.gateway.open_dispute(payment_id, f"dispute-{self.n}"))

    @precondition(lambda self: self.disputes)
    @rule(data=st.data(), outcome=st.sampled_from(["won", "lost"]))
    def dispute_closes(self, data: st.DataObject, outcome: str) -> None:
        dispute_id = data.draw(st.sampled_from(self.disputes))
        self.disputes.remove(dispute_id)
        self.gateway.close_dispute(dispute_id, outcome)

    @rule(count=st.integers(1, 8))
    def webhooks_arrive(self, count: int) -> None:
        """The oldest deliveries arrive, in the order the provider sent them."""
        self._pick_up()
        for event in self.pending[:count]:
            self._deliver(event)
        del self.pending[:count]

    @rule(data=st.data())
    def webhooks_arrive_shuffled_and_twice(self, data: st.DataObject) -> None:
        """Everything pending arrives in any order, some of it twice: the state is the one the
        same events give delivered once each in order (a twin shop receives them so)."""
        self._pick_up()
        if not self.pending:
            return
        twin_repo, twin_clock, twin_gateway = pickle.loads(
            pickle.dumps((self.repo, self.clock, self.gateway))
        )
        twin = Services(
            repo=twin_repo, clock=twin_clock, gateway=twin_gateway, policy=self.svc.policy
        )
        for event in self.pending:
            deliver(twin, event)
        order = data.draw(st.permutations(self.pending))
        again = data.draw(st.lists(st.sampled_from(self.pending), max_size=4))
        for event in [*order, *again]:
            self._deliver(event)
        self.pending = []
        assert self._state(self.repo) == self._state(twin_repo)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def webhook_resent(self, data: st.DataObject) -> None:
        """The provider sends an event again (its retries, or someone resending it by hand);
        sent twice in a row, the second delivery changes nothing."""
        event = data.draw(st.sampled_from(self.delivered))
        self._deliver(event)
        before = self._contents()
        assert deliver(self.svc, event) is not Applied.APPLIED
        assert self._contents() == before

    # -- bad input -----------------------------------------------------------------------------
    @rule(data=st.data(), which=st.integers(0, 7))
    def bad_input(self, data: st.DataObject, which: int) -> None:
        """A call no customer or operator should make: refused with its typed error, and the
        store and the provider's money are as they were."""
        sub_id = data.draw(st.sampled_from(self.subs)) if self.subs else "sub-missing"
        now = self.clock.now()
        # Not here, each with its own test below: a payment method the provider refuses.
        calls: list[tuple[type[DomainError], Any]] = [
            (NotFoundError, lambda: subscriptions.subscribe(self.svc, "sub-x", "nobody", "basic")),
            (NotFoundError, lambda: subscriptions.subscribe(self.svc, "sub-x", "alice", "gold")),
            (NotFoundError, lambda: subscriptions.cancel(self.svc, "sub-missing", False, None)),
            (NotFoundError, lambda: subscriptions.change_plan(self.svc, sub_id, "gold")),
            (
                ValidationFailedError,
                lambda: subscriptions.pause(self.svc, sub_id, now - timedelta(days=1)),
            ),
            (
                ValidationFailedError,
                lambda: cards.update_payment_method(
                    self.svc, "alice", "4242424242424242", "sandbox", True
                ),
            ),
            (
                AlreadyExistsError,
                lambda: catalog.create_customer(self.svc, "bob", "bob@example.com"),
            ),
            (
                AlreadyExistsError,
                lambda: subscriptions.subscribe(self.svc, sub_id, "alice", "basic"),
            ),
        ]
        expected, call = calls[which]
        if expected is AlreadyExistsError and not self.subs:
            return
        if which in (3, 4) and not self.subs:
            expected = NotFoundError
        before, moved = self._contents(), self._money_moved()
        with pytest.raises(expected):
            call()
        assert self._contents() == before
        assert self._money_moved() == moved

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def every_paid_invoice_is_charged_exactly_once(self) -> None:
        by_invoice = self._provider_successes()
        for invoice in self.repo.invoices.values():
            succeeded = [
                c
                for c in self.repo.list_charges(invoice.id)
                if c.outcome is ChargeOutcome.SUCCEEDED
            ]
            at_provider = by_invoice.get(invoice.id, [])
            assert len(succeeded) <= 1, f"{invoice.id}: {len(succeeded)} succeeded charges"
            assert len(at_provider) <= 1, f"{invoice.id}: paid {len(at_provider)} times"
            if invoice.paid_at is not None and invoice.total > 0:
                assert len(succeeded) == 1, f"{invoice.id} is paid with no succeeded charge"
                assert len(at_provider) == 1, f"{invoice.id} is paid, the provider has no money"

    @invariant()
    def totals_are_the_sum_of_their_lines_and_what_was_charged(self) -> None:
        created = {
            e["entity_id"]: e["data"]["total"]
            for e in self.repo.events
            if e["type"] == "InvoiceCreated"
        }
        for invoice in self.repo.invoices.values():
            lines = sum(line.amount for line in invoice.lines)
            assert invoice.total == lines
            assert created.get(invoice.id, lines) == lines, f"{invoice.id} changed its lines"
            assert 0 <= invoice.amount_refunded <= max(invoice.total, 0)
        for invoice_id, intents in self._provider_successes().items():
            invoice = self.repo.invoices[invoice_id]
            for intent in intents:
                assert intent["amount"] == invoice.total, f"{invoice_id} charged a wrong amount"
                assert str(intent["currency"]).upper() == invoice.currency

    @invariant()
    def no_payment_is_lost(self) -> None:
        """Every payment the provider confirmed is Tenure's record of an attempt: settled as
        the provider says, or still claimed with the sweeper's reconcile due for it. A payment
        created but never claimed is never confirmed."""
        confirmed = {
            e["data"]["object"]["id"]: e["type"]
            for e in self.gateway.events
            if e["type"] in CONFIRM_EVENTS
        }
        reconciling = {
            d.entity_id
            for d in self.repo.due(datetime.max.replace(tzinfo=UTC), limit=10**6)
            if d.kind == "reconcile"
        }
        for event in self.gateway.events:
            if event["type"] != "payment_intent.created":
                continue
            intent = event["data"]["object"]
            meta = intent["metadata"]
            invoice_id, attempt = meta["tenure_invoice_id"], int(meta["tenure_attempt"])
            charge = self.repo.get_charge(invoice_id, attempt)
            # One request creates and confirms: an answer lost to a crash leaves the claim
            # without the payment's id, and its reconcile finds the payment by its key.
            answer_lost = charge is not None and charge.payment_id is None
            answer_lost = answer_lost and charge.status is ChargeStatus.CHARGING
            if charge is None or (charge.payment_id != intent["id"] and not answer_lost):
                assert intent["id"] not in confirmed, f"{intent['id']} moved money unclaimed"
                continue
            outcome = self.gateway.payment_intent(intent["id"])["status"]
            if charge.status is ChargeStatus.CHARGING:
                assert f"{invoice_id}:{attempt}" in reconciling, f"{charge.id}: no sweeper due"
                # Time that passed worked everything due: a lease that ended before the last
                # step of the clock (and its scheduler tick) was reconciled then.
                assert charge.lease_until is not None
                assert charge.lease_until + SCHEDULER_TICK > self.worked_until, charge.id
                continue
            if outcome == "succeeded":
                assert charge.outcome is ChargeOutcome.SUCCEEDED, f"{intent['id']} was lost"

    @invariant()
    def the_charges_audit_finds_nothing(self) -> None:
        """`tenure charges audit` on this shop: attempts numbered 1, 2, 3…, no key used twice,
        no blind retry after a hard decline, no succeeded charge on an unpaid invoice."""
        result = audit(build_state(self.repo, list(CUSTOMERS)), self.repo.events)
        assert result.ok, result.findings

    @invariant()
    def no_email_is_sent_twice(self) -> None:
        twice = [key for key, n in Counter(self.mailer.sent).items() if n > 1]
        assert not twice, twice

    @invariant()
    def each_webhook_is_applied_once(self) -> None:
        markers = {k for k in self.repo.markers if k.startswith("webhook:")}
        assert markers == {f"webhook:stripe:{event_id}" for event_id in self.applied}

    @invariant()
    def statuses_agree_with_invoices(self) -> None:
        """What docs/dunning.md states: a first payment activates (incomplete means unpaid);
        dunning is `past_due`, and `past_due` means an invoice is being dunned."""
        for sub in self.repo.subscriptions.values():
            invoices = self.repo.list_invoices(sub.id)
            paid = [i for i in invoices if i.paid_at is not None and i.total > 0]
            dunned = [
                i
                for i in invoices
                if i.status is InvoiceStatus.OPEN
                and i.first_failed_at is not None
                and (i.next_attempt_at is not None or i.dunning_ends_at is not None)
            ]
            if sub.status is SubscriptionStatus.INCOMPLETE:
                assert not paid, f"{sub.id} is incomplete with a paid invoice"
            if sub.status is SubscriptionStatus.PAST_DUE:
                assert dunned, f"{sub.id} is past_due with nothing being dunned"
            if sub.status is SubscriptionStatus.ACTIVE:
                assert not dunned, f"{sub.id} is active while {dunned[0].id} is dunned"

    # -- helpers -------------------------------------------------------------------------------
    def _refusable(self, call: Any) -> None:
        """A command the domain may refuse in this state: refused, it changes nothing."""
        before, moved = self._contents(), self._money_moved()
        try:
            call()
        except DomainError:
            assert self._contents() == before, "a refused command changed the store"
            assert self._money_moved() == moved, "a refused command moved money"

    def _dying(self, crash: dict[str, Any]) -> Services:
        repo: Any = CrashingRepository(
            self.repo,
            after_commit=crash.get("after_commit", 0),
            before_commit=crash.get("before_commit", 0),
        )
        gateway: Any = CrashingGateway(self.gateway, after=crash.get("after_call", ""))
        return Services(repo=repo, clock=self.clock, gateway=gateway, policy=self.svc.policy)

    def _pick_up(self) -> None:
        fresh = self.gateway.events[self.heard :]
        self.heard = len(self.gateway.events)
        self.pending.extend(fresh)

    def _deliver(self, event: dict[str, Any]) -> None:
        result = deliver(self.svc, event)
        if result is Applied.APPLIED:
            assert event["id"] not in self.applied, f"{event['id']} applied twice"
            self.applied.add(event["id"])
        if all(e is not event for e in self.delivered):
            self.delivered.append(event)

    def _contents(self) -> bytes:
        """Everything the store holds, as bytes (pickling is many times faster than a deep
        copy, and two stores hold the same exactly when their pickles are equal)."""
        return pickle.dumps(vars(self.repo))

    def _money_moved(self) -> int:
        return sum(1 for e in self.gateway.events if e["type"] in CONFIRM_EVENTS)

    def _paid_payments(self) -> list[str]:
        return [
            intent["id"] for intents in self._provider_successes().values() for intent in intents
        ]

    def _provider_successes(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for event in self.gateway.events:
            if event["type"] == "payment_intent.created":
                intent = self.gateway.payment_intent(event["data"]["object"]["id"])
                if intent["status"] == "succeeded":
                    found.setdefault(intent["metadata"]["tenure_invoice_id"], []).append(intent)
        return found

    @staticmethod
    def _state(repo: InMemoryRepository) -> dict[str, Any]:
        return build_state(repo, list(CUSTOMERS))


BOUNDED = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# `HYPOTHESIS_PROFILE=deep` (make test-deep): the profile's numbers (tests/conftest.py) win.
Lifecycle.TestCase.settings = (
    settings(deadline=None, suppress_health_check=list(HealthCheck))
    if os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    else BOUNDED
)
TestLifecycle = Lifecycle.TestCase


# -- what the state machine found, each reduced to its smallest sequence --------------------------
def test_sending_the_default_card_again_retries_nothing() -> None:
    """Found by the machine: alice subscribes with a card that needs authentication; her app
    sends the same card again. That is no payment-method change, so the first invoice must not
    be charged again off-session (it was, and `tenure charges audit` called it a blind retry)."""
    shop = Lifecycle()
    shop.subscribe("alice", "basic", "authentication_required", None)
    [invoice] = shop.repo.invoices.values()

    shop.change_card("alice", "authentication_required")

    assert [c.attempt for c in shop.repo.list_charges(invoice.id)] == [1]
    shop.the_charges_audit_finds_nothing()


def test_a_card_number_instead_of_a_token_is_refused_before_the_provider_hears_of_anyone() -> None:
    """Found by the machine: the refusal came after the provider customer was created and
    stored, so a refused request changed the store."""
    shop = Lifecycle()
    before, provider_calls = shop._contents(), len(shop.gateway.events)

    with pytest.raises(ValidationFailedError):
        cards.update_payment_method(shop.svc, "alice", "4242424242424242", "sandbox", True)

    assert shop._contents() == before
    assert len(shop.gateway.events) == provider_calls


def test_a_payment_method_the_provider_refuses_changes_nothing_but_the_provider_record() -> None:
    """Nothing of the card, nor any event, email or money; only the provider customer the
    request made is kept on the customer, for an erasure to find (docs/privacy.md)."""
    shop = Lifecycle()
    state, events = shop._state(shop.repo), list(shop.repo.events)
    alice = shop.repo.get_customer("alice")
    assert alice is not None and alice.provider_customer_id is None

    with pytest.raises(ValidationFailedError):
        cards.update_payment_method(shop.svc, "alice", "pm_card_unheard_of", "sandbox", True)

    assert shop._state(shop.repo) == state and shop.repo.events == events
    kept = shop.repo.get_customer("alice")
    assert kept is not None and kept.provider_customer_id is not None
    assert replace(kept, provider_customer_id=None, version=alice.version) == alice
    before = shop._contents()

    with pytest.raises(ValidationFailedError):  # the same again: nothing more at all
        cards.update_payment_method(shop.svc, "alice", "pm_card_unheard_of", "sandbox", True)

    assert shop._contents() == before


def test_a_reconcile_that_dies_leaves_the_lost_answer_claimed_and_due() -> None:
    """Found by the machine: the first charge's answer is lost to a crash, and the sweeper's
    replay dies too. The payment the provider confirmed (here, declined) belongs to a claimed
    attempt that has no payment id yet and its reconcile still due: nothing is lost, and the
    invariant that had taken it for a payment never claimed now says so. The next tick
    settles it as the provider says."""
    shop = Lifecycle()
    shop.choose_policy(FinalAction.UNPAID)
    shop.subscribe("alice", "basic", "authentication_required", {"after_commit": 1})
    shop.time_passes(timedelta(minutes=10), {"before_commit": 1})
    [invoice] = shop.repo.invoices.values()
    [charge] = shop.repo.list_charges(invoice.id)
    assert (charge.status, charge.payment_id) == (ChargeStatus.CHARGING, None)

    shop.no_payment_is_lost()

    shop.time_passes(timedelta(minutes=30), None)
    [charge] = shop.repo.list_charges(invoice.id)
    assert charge.status is not ChargeStatus.CHARGING and charge.payment_id is not None
    shop.no_payment_is_lost()
    shop.the_charges_audit_finds_nothing()
