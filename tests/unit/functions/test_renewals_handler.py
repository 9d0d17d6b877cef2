"""The renewals functions on the in-memory fakes: the scheduler queues due work in SQS batches,
the charger works each message, reports only the bad ones, and treats duplicates as no-ops."""

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tenure import bootstrap
from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.plans import Plan
from tenure.domain.timeutil import iso
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cancellation, cards, catalog, subscriptions
from tenure.services import due as due_service
from tenure.services.context import Services
from tenure.store import codec
from tenure_local.runtime.functions import load_module

REPO_ROOT = Path(__file__).resolve().parents[3]
SQS_EVENT = REPO_ROOT / "events" / "renewals" / "sqs-charge.json"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/renewals"
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
RENEWAL_AT = datetime(2026, 4, 2, 9, tzinfo=UTC)
VISA = payment_method_for("4242424242424242")


def load_renewals() -> ModuleType:
    """functions/renewals/app.py, under its own name (every function has an app.py)."""
    return load_module("renewals")


@dataclass
class LambdaContext:
    """The parts of a LambdaContext that Powertools reads."""

    function_name: str = "tenure-renewals"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:tenure-renewals"
    aws_request_id: str = "req-1"
    log_stream_name: str = "test"

    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class FakeSqs:
    """Records SendMessageBatch calls; `fail` entry ids are reported as failed."""

    batches: list[list[dict[str, str]]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.urls.append(QueueUrl)
        self.batches.append(Entries)
        failed = [{"Id": e["Id"], "Code": "Throttled"} for e in Entries if e["Id"] in self.fail]
        ok = [{"Id": e["Id"]} for e in Entries if e["Id"] not in self.fail]
        return {"Successful": ok, "Failed": failed} if failed else {"Successful": ok}

    @property
    def bodies(self) -> list[str]:
        return [entry["MessageBody"] for batch in self.batches for entry in batch]


@dataclass
class Renewals:
    module: ModuleType
    svc: Services
    repo: InMemoryRepository
    clock: FixedClock
    gateway: SandboxGateway
    sqs: FakeSqs

    def schedule(self, at: datetime, remaining_ms: int = 300_000) -> dict[str, Any]:
        context = LambdaContext(remaining_ms=remaining_ms)
        return self.module.schedule_handler({"scheduled_time": iso(at)}, context)

    def charge(self, bodies: list[str]) -> dict[str, Any]:
        return self.module.charge_handler(sqs_event(bodies), LambdaContext())


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """An SQS event shaped like events/renewals/sqs-charge.json, one record per body."""
    template = json.loads(SQS_EVENT.read_text())["Records"][0]
    records = []
    for n, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{n}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def due(
    sub_id: str, kind: str = "renewal", at: datetime = RENEWAL_AT, customer: str | None = None
) -> str:
    body = {"id": sub_id, "due_at": iso(at), "kind": kind}
    return json.dumps(body | ({"customer": customer} if customer else {}))


@pytest.fixture
def renewals(monkeypatch: pytest.MonkeyPatch) -> Iterator[Renewals]:
    """The real handlers over fakes: bootstrap serves them, SQS is a recorder."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tenure")
    monkeypatch.setenv("RENEWAL_QUEUE_URL", QUEUE_URL)
    module = load_renewals()
    repo, clock = InMemoryRepository(), FixedClock(T0)
    gateway = SandboxGateway(clock=clock.now)
    svc = Services(repo=repo, clock=clock, gateway=gateway)
    sqs = FakeSqs()

    def aws_client(service: str) -> Any:
        assert service == "sqs", service
        return sqs

    bootstrap.use(bootstrap.Wiring(svc, clients=bootstrap.AwsClients(aws_client)))
    catalog.create_plan(svc, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    yield Renewals(module, svc, repo, clock, gateway, sqs)
    bootstrap.use(None)


def paying_subscribers(r: Renewals, count: int) -> list[str]:
    """Given `count` customers with a good card, each subscribed at T0 and paid for March."""
    ids = []
    for n in range(count):
        customer, sub_id = f"cus-{n:02}", f"sub-{n:02}"
        catalog.create_customer(r.svc, customer, f"{customer}@example.com")
        assert VISA is not None
        cards.update_payment_method(r.svc, customer, VISA, "sandbox", True)
        subscriptions.subscribe(r.svc, sub_id, customer, "basic")
        ids.append(sub_id)
    return ids


def renewal_invoice(r: Renewals, sub_id: str) -> Any:
    [invoice] = [i for i in r.repo.list_invoices(sub_id) if i.period_start == RENEWAL_AT]
    return invoice


# -- the charger ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad_body",
    [
        pytest.param("not json", id="not JSON"),
        pytest.param('{"id": "sub-00", "kind": "refund_everything"}', id="unknown kind"),
        pytest.param('{"id": "sub-00"}', id="no kind"),
        pytest.param('{"kind": "renewal"}', id="no id"),
        pytest.param('{"kind": "renewal", "id": 7}', id="id not a string"),
        pytest.param("[1, 2]", id="not an object"),
    ],
)
def test_an_invalid_message_fails_alone_and_the_valid_one_does_its_work(
    renewals: Renewals, bad_body: str
) -> None:
    # Given a subscriber whose renewal is due
    [sub_id] = paying_subscribers(renewals, 1)
    renewals.clock.set(RENEWAL_AT)
    # When a batch holds its due message and a message that is not due work
    response = renewals.charge([due(sub_id), bad_body])
    # Then only the invalid message is reported, and the renewal was charged
    assert response["batchItemFailures"] == [{"itemIdentifier": "msg-1"}]
    invoice = renewal_invoice(renewals, sub_id)
    assert invoice.status is InvoiceStatus.PAID
    assert [c.outcome for c in renewals.repo.list_charges(invoice.id)] == [ChargeOutcome.SUCCEEDED]


@pytest.mark.parametrize(
    "hint",
    [
        pytest.param("cus-00", id="its own customer"),
        pytest.param("cus-01", id="another customer"),
        pytest.param("cus-gone", id="a customer that does not exist"),
    ],
)
def test_a_renewal_message_naming_a_customer_charges_the_subscriptions_own_customer(
    renewals: Renewals, hint: str
) -> None:
    # Given two subscribers whose renewals are due
    paying_subscribers(renewals, 2)
    renewals.clock.set(RENEWAL_AT)
    # When the charger takes sub-00's message with this customer as its read hint
    response = renewals.charge([due("sub-00", customer=hint)])
    # Then sub-00 renewed, charged once to its own customer; a wrong hint changes nothing
    assert response["batchItemFailures"] == []
    invoice = renewal_invoice(renewals, "sub-00")
    assert (invoice.status, invoice.customer_id) == (InvoiceStatus.PAID, "cus-00")
    [charge] = renewals.repo.list_charges(invoice.id)
    intent = renewals.gateway.payment_intent(charge.payment_id or "")
    assert intent["customer"] == renewals.repo.get_customer("cus-00").provider_customer_id  # type: ignore[union-attr]
    assert [i.period_start for i in renewals.repo.list_invoices("sub-01")] == [T0]


def test_a_message_for_a_deleted_subscription_is_skipped_without_failing(
    renewals: Renewals,
) -> None:
    # Given a due message for a subscription that no longer exists
    renewals.clock.set(RENEWAL_AT)
    # When the charger takes it
    response = renewals.charge([due("sub-gone")])
    # Then it is acknowledged and nothing is charged
    assert response["batchItemFailures"] == []
    assert renewals.gateway.confirmations == 0


def test_a_message_carrying_a_subscription_deleted_since_is_skipped_without_failing(
    renewals: Renewals,
) -> None:
    # Given a renewal queued with its subscription, which was then deleted from the table
    paying_subscribers(renewals, 1)
    renewals.schedule(RENEWAL_AT)
    renewals.clock.set(RENEWAL_AT)
    [body] = renewals.sqs.bodies
    assert "subscription" in json.loads(body)
    del renewals.repo.subscriptions["sub-00"]
    confirmations = renewals.gateway.confirmations
    # When the charger takes the message
    response = renewals.charge([body])
    # Then it is acknowledged, nothing is charged and no invoice is stored
    assert response["batchItemFailures"] == []
    assert renewals.gateway.confirmations == confirmations
    assert [i.period_start for i in renewals.repo.list_invoices("sub-00")] == [T0]


def test_a_due_message_delivered_again_after_it_was_worked_is_a_no_op(
    renewals: Renewals,
) -> None:
    # Given a subscriber whose renewal was charged from its message
    [sub_id] = paying_subscribers(renewals, 1)
    renewals.clock.set(RENEWAL_AT)
    assert renewals.charge([due(sub_id)])["batchItemFailures"] == []
    confirmations = renewals.gateway.confirmations
    # When SQS delivers the same message again (twice in one batch, and later)
    response = renewals.charge([due(sub_id), due(sub_id)])
    renewals.clock.advance(timedelta(hours=1))
    later = renewals.charge([due(sub_id)])
    # Then nothing fails and nothing more is charged
    assert response["batchItemFailures"] == later["batchItemFailures"] == []
    assert renewals.gateway.confirmations == confirmations
    assert len(renewals.repo.list_charges(renewal_invoice(renewals, sub_id).id)) == 1


@pytest.mark.parametrize(
    "carried",
    [
        pytest.param("not an object", id="not an object"),
        pytest.param({"id": "sub-00"}, id="missing fields"),
        pytest.param({"id": "sub-00", "status": "confused"}, id="unknown status"),
        pytest.param("other", id="another subscription"),
    ],
)
def test_a_message_carrying_an_unreadable_subscription_renews_from_the_stored_one(
    renewals: Renewals, carried: Any
) -> None:
    # Given two subscribers whose renewals are due, and the queued message for sub-00
    paying_subscribers(renewals, 2)
    renewals.clock.set(RENEWAL_AT)
    renewals.schedule(RENEWAL_AT)
    [body] = [json.loads(b) for b in renewals.sqs.bodies if json.loads(b)["id"] == "sub-00"]
    # ... whose subscription has been mangled (or is sub-01's)
    if carried == "other":
        [other] = [json.loads(b) for b in renewals.sqs.bodies if json.loads(b)["id"] == "sub-01"]
        carried = other["subscription"]
    elif isinstance(carried, dict):
        carried = body["subscription"] | carried
    body["subscription"] = carried
    # When the charger takes it
    response = renewals.charge([json.dumps(body)])
    # Then sub-00 renewed from what is stored, charged once; sub-01 was not touched
    assert response["batchItemFailures"] == []
    invoice = renewal_invoice(renewals, "sub-00")
    assert invoice.status is InvoiceStatus.PAID
    assert len(renewals.repo.list_charges(invoice.id)) == 1
    assert [i.period_start for i in renewals.repo.list_invoices("sub-01")] == [T0]


# -- the scheduler -------------------------------------------------------------------------------
def test_the_scheduler_queues_one_message_per_due_item_in_batches_of_ten(
    renewals: Renewals,
) -> None:
    # Given 23 subscribers whose renewals fall due at the same moment
    sub_ids = paying_subscribers(renewals, 23)
    # When the schedule runs at that moment (the function's own clock lags behind)
    renewals.clock.set(RENEWAL_AT - timedelta(minutes=1))
    result = renewals.schedule(RENEWAL_AT)
    # Then one message per due renewal, in batches of at most ten, to the renewal queue
    assert result["queued"] == 23
    assert [len(batch) for batch in renewals.sqs.batches] == [10, 10, 3]
    assert set(renewals.sqs.urls) == {QUEUE_URL}
    for batch in renewals.sqs.batches:
        assert len({entry["Id"] for entry in batch}) == len(batch)
    messages = [json.loads(body) for body in renewals.sqs.bodies]
    assert sorted(m["id"] for m in messages) == sub_ids
    assert {(m["kind"], m["due_at"]) for m in messages} == {("renewal", iso(RENEWAL_AT))}
    # ... each naming the subscription's customer and carrying the subscription as stored,
    # so that the charger renews without reading it
    assert all(m["customer"] == m["id"].replace("sub-", "cus-") for m in messages)
    for m in messages:
        stored = renewals.repo.get_subscription(m["id"])
        assert codec.subscription_from_attrs(m["subscription"]) == stored


def test_one_scheduler_run_queues_every_page_of_due_work_each_item_once(
    renewals: Renewals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 23 renewals due at once, and pages of 8 due items (one per shard)
    sub_ids = paying_subscribers(renewals, 23)
    monkeypatch.setattr(due_service, "PAGE", 8)
    # When the schedule runs once
    result = renewals.schedule(RENEWAL_AT)
    # Then it read page after page until none was left, and queued each renewal once
    assert result["queued"] == 23 and result["more"] is False
    assert sorted(json.loads(b)["id"] for b in renewals.sqs.bodies) == sub_ids


def test_a_run_short_of_time_stops_after_a_page_and_the_next_run_queues_the_rest(
    renewals: Renewals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 23 renewals due at once, pages of 8, and a run with less time left than a page
    # needs
    sub_ids = paying_subscribers(renewals, 23)
    monkeypatch.setattr(due_service, "PAGE", 8)
    short = renewals.module.RESERVE_MS - 1
    # When the schedule runs
    result = renewals.schedule(RENEWAL_AT, remaining_ms=short)
    # Then it queued one page and says more is due
    assert result["more"] is True
    assert 0 < result["queued"] == len(renewals.sqs.bodies) < 23
    # ... and the next run, with time, queues everything still due (the first page again:
    # those renewals are still due until charged, and a duplicate charges once)
    again = renewals.schedule(RENEWAL_AT)
    assert again["queued"] == 23 and again["more"] is False
    assert {json.loads(b)["id"] for b in renewals.sqs.bodies} == set(sub_ids)


def test_the_scheduler_queues_nothing_before_anything_is_due(renewals: Renewals) -> None:
    # Given subscribers renewing next month
    paying_subscribers(renewals, 3)
    # When the schedule runs a minute before
    result = renewals.schedule(RENEWAL_AT - timedelta(minutes=1))
    # Then nothing is queued
    assert result["queued"] == 0
    assert renewals.sqs.bodies == []


def test_a_scheduler_run_that_could_not_queue_everything_fails_for_a_retry(
    renewals: Renewals,
) -> None:
    # Given due renewals, and SQS refusing one entry of the batch
    paying_subscribers(renewals, 3)
    renewals.sqs.fail = {"1"}
    # When the schedule runs
    # Then the run fails, so the schedule's retry queues the work again
    with pytest.raises(RuntimeError):
        renewals.schedule(RENEWAL_AT)


def test_running_the_scheduler_twice_queues_duplicates_that_charge_once(
    renewals: Renewals,
) -> None:
    # Given 12 subscribers whose renewals fall due at the same moment
    sub_ids = paying_subscribers(renewals, 12)
    renewals.clock.set(RENEWAL_AT)
    confirmations = renewals.gateway.confirmations
    # When the schedule runs twice before the charger drains the queue
    renewals.schedule(RENEWAL_AT)
    renewals.schedule(RENEWAL_AT)
    bodies = renewals.sqs.bodies
    assert len(bodies) == 24
    failures = []
    for start in range(0, len(bodies), 10):
        failures += renewals.charge(bodies[start : start + 10])["batchItemFailures"]
    # Then every message was accepted, and each renewal was charged exactly once
    assert failures == []
    assert renewals.gateway.confirmations - confirmations == 12
    for sub_id in sub_ids:
        invoice = renewal_invoice(renewals, sub_id)
        assert invoice.status is InvoiceStatus.PAID
        assert len(renewals.repo.list_charges(invoice.id)) == 1


def test_an_owed_refund_whose_tries_stopped_is_counted_for_the_alarm(
    renewals: Renewals, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a subscriber canceled with a full refund the provider never answered
    [sub_id] = paying_subscribers(renewals, 1)
    renewals.gateway.fail_next("rate_limit", times=1000, on="refund")
    cancellation.request_cancel(renewals.svc, sub_id, refund="full")
    [paid] = renewals.repo.list_invoices(sub_id)
    capsys.readouterr()
    # When the charger works the refund after the key's 23 hours
    renewals.clock.set(T0 + timedelta(hours=23, minutes=30))
    response = renewals.charge([json.dumps({"id": paid.id, "kind": "refund", "due_at": iso(T0)})])
    # Then the message succeeded and RefundsFailed was counted once
    assert response["batchItemFailures"] == []
    counted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"') and "RefundsFailed" in line
    ]
    assert [doc["RefundsFailed"] for doc in counted] == [[1.0]]
