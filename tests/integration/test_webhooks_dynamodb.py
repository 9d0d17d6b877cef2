"""Exactly once on DynamoDB Local: the marker commits with the effect, even under a race."""

import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from debit_shop import a_settled_debit
from requests_sent import counting

from tenure import bootstrap
from tenure.domain.events import MrrLedgerEntry
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.money import Money
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.fakes import FixedClock
from tenure.payments import stripe_objects
from tenure.ports import Commit
from tenure.services import cards, catalog, programs, subscriptions
from tenure.services.context import Services
from tenure.services.provider_events import Applied, apply_provider_event, marker_key
from tenure.store.codec import from_item
from tenure.store.dynamodb import DynamoRepository
from tenure.webhooks import stripe_events
from tenure_local.runtime import functions
from tenure_local.simulator.webhooks_provider import ProviderSandbox
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def shop(local_stack: LocalStack, fresh_table: str) -> Any:
    svc, invoice_id, gateway = a_settled_debit(local_stack, fresh_table, T0)
    succeeded = [e for e in gateway.events if e["type"] == "payment_intent.succeeded"][-1]
    return svc, invoice_id, succeeded


def apply(svc: Services, event: dict[str, Any]) -> Applied:
    parsed = stripe_events.parse(stripe_objects.event_payload(event))
    return apply_provider_event(svc, parsed, link_provider="sandbox")


def test_a_redelivery_finds_the_marker_and_changes_nothing(
    shop: Any, local_stack: LocalStack
) -> None:
    svc, invoice_id, succeeded = shop
    assert apply(svc, succeeded) is Applied.APPLIED
    invoice = svc.repo.get_invoice(invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    version = invoice.version
    assert apply(svc, succeeded) is Applied.DUPLICATE
    again = svc.repo.get_invoice(invoice_id)
    assert again is not None and again.version == version
    # The marker expires with DynamoDB's TTL, 30 days on.
    marker = marker_key(stripe_events.parse(stripe_objects.event_payload(succeeded)))
    raw = local_stack.dynamodb_client().get_item(
        TableName=local_stack.table_name,
        Key={"PK": {"S": f"MARK#{marker}"}, "SK": {"S": "MARK"}},
    )["Item"]
    expires = datetime.fromtimestamp(int(from_item(raw)["expires_at"]), UTC)
    assert expires == T0 + timedelta(hours=4) + timedelta(days=30)


def test_concurrent_duplicates_apply_once(shop: Any, local_stack: LocalStack) -> None:
    svc, invoice_id, succeeded = shop
    results: list[Applied] = []
    barrier = threading.Barrier(4, timeout=300)  # bounded: a worker that fails breaks it

    def deliver() -> None:
        try:
            # Each worker its own client, as concurrent Lambda invocations would have.
            repo = DynamoRepository(local_stack.dynamodb_client(), local_stack.table_name)
            worker = Services(repo=repo, clock=svc.clock, gateway=svc.gateway)
            barrier.wait()
            results.append(apply(worker, succeeded))
        except BaseException:
            barrier.abort()
            raise

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads)
    assert sorted(results).count(Applied.APPLIED) == 1, results
    assert set(results) <= {Applied.APPLIED, Applied.DUPLICATE}
    paid = [c for c in svc.repo.list_charges(invoice_id) if c.outcome == "succeeded"]
    assert len(paid) == 1


def test_the_secret_can_come_from_secrets_manager_as_json_by_provider(
    shop: Any, local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, _, succeeded = shop
    secrets = boto3.client("secretsmanager")
    name = f"tenure/test/webhooks-{id(shop)}"
    arn = secrets.create_secret(
        Name=name, SecretString=json.dumps({"stripe": ["whsec_new", "whsec_old"]})
    )["ARN"]
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", arn)
    monkeypatch.delenv("TENURE_STRIPE_WEBHOOK_SECRET")
    bootstrap.use(bootstrap.Wiring(svc))
    try:
        body = stripe_objects.event_payload(succeeded)
        headers = stripe_events.sign(body, "whsec_old", int(svc.clock.now().timestamp()))
        event = functions.http_event("POST", "/webhooks/stripe", headers=headers, raw_body=body)
        result = functions.invoke("webhooks", event)
        assert result["statusCode"] == 200, result
        assert json.loads(result["body"])["result"] == "applied"
    finally:
        bootstrap.use(None)


def a_debit_settled_at_the_provider(
    client: Any, table: str, programs_document: dict[str, Any] | None = None
) -> tuple[Services, dict[str, Any]]:
    """Alice subscribes paying by bank debit (under `programs_document`, if any); the
    provider settles it four hours later: the services and the event it sends for it."""
    clock = FixedClock(T0)
    gateway = ProviderSandbox(clock=clock.now)
    svc = Services(repo=DynamoRepository(client, table), clock=clock, gateway=gateway)
    catalog.create_customer(svc, "alice", "alice@example.com")
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    if programs_document is not None:
        programs.put_programs(svc, Programs.model_validate(programs_document), 0)
    cards.update_payment_method(svc, "alice", "pm_sandbox_async_succeeds", "sandbox", True)
    subscriptions.subscribe(svc, "sub-1", "alice", "basic")
    clock.advance(timedelta(hours=4))
    gateway.settle_pending()
    return svc, [e for e in gateway.events if e["type"] == "payment_intent.succeeded"][-1]


def test_a_settled_payment_costs_one_read_and_one_transaction_and_a_duplicate_the_read(
    local_stack: LocalStack, fresh_table: str
) -> None:
    client = local_stack.dynamodb_client()
    svc, succeeded = a_debit_settled_at_the_provider(client, fresh_table)
    # The retention programs (points are earned on the payment) are read once a minute by a
    # container, not by each settle: read here, they are not this settle's cost.
    svc.repo.get_programs()
    sent = counting(client)

    # The first payment activates the subscription, so the customer's MRR moves too: its
    # state is read in the same request, not by the commit.
    assert apply(svc, succeeded) is Applied.APPLIED
    assert sent == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    sent.clear()
    assert apply(svc, succeeded) is Applied.DUPLICATE
    assert sent == Counter({"BatchGetItem": 1})
    (entry,) = svc.repo.ledger_between(T0, T0 + timedelta(days=1))
    assert entry.customer is not None and (entry.customer.seq, entry.customer.after) == (1, 1000)


def test_a_containers_first_settle_reads_the_programs_in_its_one_read(
    local_stack: LocalStack, fresh_table: str
) -> None:
    """A container that has not read the programs yet (or not for a minute) reads them with
    the event's objects: the settle still costs one read and one transaction, and earns by
    the programs as stored."""
    client = local_stack.dynamodb_client()
    loyalty = {"loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1}}
    setup, succeeded = a_debit_settled_at_the_provider(client, fresh_table, loyalty)
    fresh = replace(setup, repo=DynamoRepository(client, fresh_table))  # another container
    fresh.repo.get_plan("basic")  # plans are read once a container, by id (the event names none)
    sent = counting(client)

    assert apply(fresh, succeeded) is Applied.APPLIED
    assert sent == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    assert fresh.repo.get_points("alice").balance == 10  # earned by the stored programs
    sent.clear()
    fresh.repo.get_programs()  # the copy read with the event is kept
    assert sent == Counter()


def test_an_mrr_state_read_ahead_and_moved_meanwhile_costs_a_second_try_not_a_wrong_figure(
    local_stack: LocalStack, fresh_table: str
) -> None:
    client = local_stack.dynamodb_client()
    ours = DynamoRepository(client, fresh_table)
    other = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
    reads = ours.read_for_event("webhook:test:evt_1", customer_id="alice")  # nothing yet
    assert reads.mrr is not None

    def entry(sub_id: str, after: int) -> MrrLedgerEntry:
        return MrrLedgerEntry(sub_id, "alice", "USD", T0, 0, after, "subscription.activated")

    other.commit(Commit(ledger=[entry("sub-2", 500)]))  # her MRR moves meanwhile
    sent = counting(client)
    ours.commit(Commit(ledger=[entry("sub-1", 1000)], mrr_read=[reads.mrr]))

    assert sent == Counter({"TransactWriteItems": 2, "BatchGetItem": 1})  # refused, read, done
    facts = sorted(
        (e.customer.seq, e.customer.before, e.customer.after)
        for e in ours.ledger_between(T0, T0 + timedelta(days=1))
        if e.customer is not None
    )
    assert facts == [(1, 0, 500), (2, 500, 1500)]


def test_a_read_leaves_nothing_behind_for_a_commit_that_was_not_handed_it(
    local_stack: LocalStack, fresh_table: str
) -> None:
    client = local_stack.dynamodb_client()
    repo = DynamoRepository(client, fresh_table)
    repo.read_for_event("webhook:test:evt_1", customer_id="alice")
    sent = counting(client)
    entry = MrrLedgerEntry("sub-1", "alice", "USD", T0, 0, 1000, "subscription.activated")
    repo.commit(Commit(ledger=[entry]))

    # The commit read her MRR state itself: the earlier read kept nothing for it.
    assert sent == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})


def a_refunded_payment(client: Any, table: str, loyalty: bool) -> tuple[Services, dict[str, Any]]:
    """Alice's first payment settled, then partly refunded in the provider's dashboard: the
    services and the charge.refunded event (points earned on the payment when `loyalty`)."""
    clock = FixedClock(T0)
    gateway = ProviderSandbox(clock=clock.now)
    svc = Services(repo=DynamoRepository(client, table), clock=clock, gateway=gateway)
    if loyalty:
        document = {"loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1}}
        programs.put_programs(svc, Programs.model_validate(document), 0)
    catalog.create_customer(svc, "alice", "alice@example.com")
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    cards.update_payment_method(svc, "alice", "pm_sandbox_async_succeeds", "sandbox", True)
    outcome = subscriptions.subscribe(svc, "sub-1", "alice", "basic")
    assert outcome.invoice is not None
    clock.advance(timedelta(hours=4))
    gateway.settle_pending()
    succeeded = [e for e in gateway.events if e["type"] == "payment_intent.succeeded"][-1]
    assert apply(svc, succeeded) is Applied.APPLIED
    charge = svc.repo.get_charge(outcome.invoice.id, 1)
    assert charge is not None and charge.payment_id is not None
    gateway.dashboard_refund(charge.payment_id, Money(500, "USD"), "refund-1")
    refunded = [e for e in gateway.events if e["type"] == "charge.refunded"][-1]
    return svc, refunded


def test_a_refund_of_a_customer_without_points_costs_one_read_and_one_transaction(
    local_stack: LocalStack, fresh_table: str
) -> None:
    client = local_stack.dynamodb_client()
    svc, refunded = a_refunded_payment(client, fresh_table, loyalty=False)
    sent = counting(client)

    assert apply(svc, refunded) is Applied.APPLIED
    # Her points account is read by key with the invoice: absent, so there is no history
    # to query for points to take back.
    assert sent == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})
    [invoice] = svc.repo.list_invoices("sub-1")
    assert invoice.amount_refunded == 500
    assert svc.repo.get_points("alice").entries == ()


def test_a_refund_of_a_customer_with_points_still_takes_back_their_share(
    local_stack: LocalStack, fresh_table: str
) -> None:
    client = local_stack.dynamodb_client()
    svc, refunded = a_refunded_payment(client, fresh_table, loyalty=True)

    assert apply(svc, refunded) is Applied.APPLIED
    # 10 points earned on 1000; half of it refunded takes back 5.
    kinds = [(str(e.kind), e.points) for e in svc.repo.get_points("alice").entries]
    assert kinds == [("earned", 10), ("reversed", -5)]
