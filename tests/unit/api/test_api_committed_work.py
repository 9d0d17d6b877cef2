"""A response never reports failure for work that was committed (issue 13, rule 1).

A request that wrote something keeps its Idempotency-Key whatever it answered, and a command
whose later step loses a race answers with what it wrote: a client that retries on any
non-2xx must never subscribe, or charge, twice."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from api_harness import START, TOKEN, Api

from tenure import bootstrap
from tenure.domain.charges import ChargeOutcome, ChargeStatus
from tenure.domain.errors import ConcurrencyError
from tenure.domain.invoices import InvoiceStatus
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.ports import Commit
from tenure.services import charging_reconcile
from tenure.services.context import Services

KEY = {"Idempotency-Key": "subscribe-7"}
SUBSCRIBE = {"customer": "alice", "plan": "basic"}
VISA = payment_method_for("4242424242424242")


@pytest.fixture
def paying(api_module: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, Any]]:
    """The API over the fakes with the sandbox provider, a plan and a customer with a card."""
    monkeypatch.setenv("TENURE_API_TOKEN", TOKEN)
    monkeypatch.setenv("PAYMENT_PROVIDER", "sandbox")
    repo, clock, gateway = InMemoryRepository(), FixedClock(START), SandboxGateway()
    svc = Services(repo, clock, gateway=gateway)
    bootstrap.use(bootstrap.Wiring(svc))
    api = Api(api_module, repo, clock)
    api.plan("basic", 1000)
    api.customer("alice")
    card = api.post(
        "/v1/customers/alice/payment-methods", {"payment_method": VISA, "default": True}
    )
    assert card.status == 201, card.text
    yield api, gateway
    bootstrap.use(None)


def failing_commits(
    repo: InMemoryRepository, monkeypatch: pytest.MonkeyPatch, fails: Callable[[Commit], bool]
) -> list[Commit]:
    """Make the commits `fails` picks lose a race (ConcurrencyError); return those refused."""
    real = repo.commit
    refused: list[Commit] = []

    def commit(change: Commit) -> None:
        if fails(change):
            refused.append(change)
            raise ConcurrencyError("customer_mrr alice changed meanwhile")
        real(change)

    monkeypatch.setattr(repo, "commit", commit)
    return refused


def settles(change: Commit) -> bool:
    return any(c.status is ChargeStatus.SETTLED for c in change.charges)


def test_a_settle_that_loses_one_race_is_settled_again_and_the_subscription_is_active(
    paying: tuple[Api, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, gateway = paying
    once = iter([True])
    refused = failing_commits(api.repo, monkeypatch, lambda c: settles(c) and next(once, False))

    reply = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    assert len(refused) == 1
    assert reply.status == 201, reply.text
    assert reply.json["subscription"]["status"] == "active"
    assert reply.json["invoice"]["status"] == "paid"
    assert gateway.confirmations == 1


def test_a_settle_that_keeps_losing_answers_201_and_the_retry_charges_nothing_more(
    paying: tuple[Api, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, gateway = paying
    real_commit = api.repo.commit
    failing_commits(api.repo, monkeypatch, settles)

    first = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)
    again = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    assert first.status == 201, first.text
    assert (again.status, again.text) == (201, first.text)
    assert len(api.repo.subscriptions) == 1
    assert gateway.confirmations == 1
    # The payment is not lost: the claim stays, and once its lease is over the sweeper finds
    # the payment (the identical request replayed under its key answers with it) and settles
    # it, with nothing charged again.
    invoice_id = first.json["invoice"]["id"]
    (charge,) = [c for c in api.repo.charges.values() if c.invoice_id == invoice_id]
    assert charge.status is ChargeStatus.CHARGING and charge.lease_until is not None
    monkeypatch.setattr(api.repo, "commit", real_commit)
    api.clock.set(charge.lease_until)
    charging_reconcile.reconcile_charge(bootstrap.wiring().services, invoice_id, charge.attempt)
    assert api.repo.invoices[invoice_id].status is InvoiceStatus.PAID
    assert gateway.confirmations == 1


def test_a_command_whose_later_step_fails_answers_with_what_it_wrote(
    paying: tuple[Api, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, gateway = paying
    api.plan("gold", 3000)
    api.subscription("sub-a")
    api.post("/v1/customers/alice/payment-methods", {"payment_method": "pm_card_chargeDeclined"})
    # The card is removed from the customer's file, so the upgrade's invoice waits for one;
    # marking the subscription past due then loses a race.
    customer = api.repo.customers["alice"]
    customer.default_payment_method = None
    api.repo.commit(Commit(customers=[customer]))
    api.clock.advance(timedelta(days=3))
    refused = failing_commits(
        api.repo, monkeypatch, lambda c: any(i.first_failed_at for i in c.invoices)
    )

    reply = api.post(
        "/v1/subscriptions/sub-a/change-plan", {"plan": "gold"}, headers={"Idempotency-Key": "up"}
    )

    assert refused, "marking the subscription past due was never tried"
    assert reply.status == 200, reply.text
    assert reply.json["subscription"]["plan"] == "gold"
    assert reply.json["invoice"]["kind"] == "proration"
    assert api.repo.idempotency["api:up"].status == "done"
    assert gateway.confirmations == 1  # the first invoice only


def test_an_unexpected_error_after_a_write_keeps_the_key_and_replays_the_500(
    paying: tuple[Api, Any], monkeypatch: pytest.MonkeyPatch, api_module: Any
) -> None:
    api, gateway = paying
    real = api.repo.commit

    def commit_then_fail(change: Commit) -> None:
        real(change)
        if settles(change):
            raise RuntimeError("a bug after the write")

    monkeypatch.setattr(api.repo, "commit", commit_then_fail)

    first = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)
    monkeypatch.undo()
    again = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    assert first.status == again.status == 500
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(api.repo.subscriptions) == 1
    assert gateway.confirmations == 1


def test_a_request_that_fails_having_written_nothing_still_releases_its_key(
    paying: tuple[Api, Any],
) -> None:
    api, _ = paying
    failed = api.post("/v1/subscriptions", {"customer": "alice", "plan": "gold"}, headers=KEY)

    assert failed.status == 404
    assert "api:subscribe-7" not in api.repo.idempotency


def test_a_charge_settled_by_another_writer_first_is_left_as_they_recorded_it(
    paying: tuple[Api, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, gateway = paying
    real = api.repo.commit

    def webhook_first(change: Commit) -> None:
        if settles(change) and not getattr(webhook_first, "done", False):
            webhook_first.done = True  # type: ignore[attr-defined]
            real(change)  # the provider's webhook recorded the same outcome first
            raise ConcurrencyError("invoice changed meanwhile")
        real(change)

    monkeypatch.setattr(api.repo, "commit", webhook_first)

    reply = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    assert reply.status == 201, reply.text
    (charge,) = [
        c for c in api.repo.charges.values() if c.invoice_id == reply.json["invoice"]["id"]
    ]
    assert (charge.status, charge.outcome) == (ChargeStatus.SETTLED, ChargeOutcome.SUCCEEDED)
    assert gateway.confirmations == 1


def test_a_card_attached_whose_retry_of_what_is_owed_loses_a_race_answers_201(
    paying: tuple[Api, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = paying
    declining, mastercard = (
        payment_method_for("4000000000009995"),
        payment_method_for("5555555555554444"),
    )
    api.post("/v1/customers/alice/payment-methods", {"payment_method": declining, "default": True})
    created = api.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)
    assert created.json["invoice"]["status"] == "open", created.text
    refused = failing_commits(api.repo, monkeypatch, lambda c: bool(c.charges))

    reply = api.post(
        "/v1/customers/alice/payment-methods",
        {"payment_method": mastercard, "default": True},
        headers={"Idempotency-Key": "card-2"},
    )

    assert refused, "the retry of the open invoice never tried to claim a charge"
    assert reply.status == 201, reply.text
    assert reply.json["id"] == mastercard
    assert api.repo.customers["alice"].default_payment_method == mastercard
    assert api.repo.idempotency["api:card-2"].status == "done"
