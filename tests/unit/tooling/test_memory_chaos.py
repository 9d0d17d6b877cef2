"""Chaos on the memory engine raises, at seeded points, what the services would see from the
DynamoDB store, SQS and SES once their SDK's retries are spent."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from botocore.exceptions import ClientError

from tenure.domain.customers import Customer
from tenure.domain.errors import ConcurrencyError
from tenure.domain.numbering import NumberedKind
from tenure.fakes import InMemoryRepository
from tenure.notify.mailers import MailDeferred
from tenure.ports import Commit
from tenure_local.simulator.chaos import Chaos, Rates, SimulatedBackoff, SimulatedCrash, parse_kinds
from tenure_local.simulator.memory_adapters import InProcessQueue, SesRecorder
from tenure_local.simulator.memory_chaos import ChaoticQueue, ChaoticRepository, ThrottledSes

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def chaos_with(**rates: float) -> Chaos:
    chaos = Chaos(
        kinds=parse_kinds("all"),
        seed=1,
        clock=lambda: NOW,
        quiet_from=NOW + timedelta(days=1),
        rates=Rates(**{f: 0.0 for f in Rates.__dataclass_fields__} | rates),
    )
    chaos.function = "renewals-charger"
    return chaos


def alice() -> Commit:
    return Commit(customers=[Customer(id="alice", email="alice@example.com", created_at=NOW)])


def test_a_transaction_conflict_surfaces_as_the_stores_concurrency_error_and_writes_nothing() -> (
    None
):
    inner = InMemoryRepository()
    repo = ChaoticRepository(inner, chaos_with(transaction_conflict=1.0), SimulatedBackoff().sleep)
    with pytest.raises(ConcurrencyError, match="TransactionConflict"):
        repo.commit(alice())
    assert inner.get_customer("alice") is None


def test_throttling_surfaces_as_dynamodbs_error_or_costs_only_a_backoff() -> None:
    chaos, backoff = chaos_with(dynamodb_throttle=1.0), SimulatedBackoff()
    repo = ChaoticRepository(InMemoryRepository(), chaos, backoff.sleep)
    outcomes = []
    for n in range(40):
        try:
            repo.get_customer(f"c{n}")
            outcomes.append("absorbed")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in (
                "ProvisionedThroughputExceededException",
                "ThrottlingException",
            )
            outcomes.append("surfaced")
    assert set(outcomes) == {"absorbed", "surfaced"}
    assert backoff.count >= outcomes.count("absorbed") > 0
    faults = {i.fault for i in chaos.injected}
    assert faults == {"throttled_absorbed", "throttled_surfaced"}


def test_a_hint_that_makes_no_request_is_never_throttled() -> None:
    """`expect_numbering` only tells the store what comes next (on DynamoDB it rides on the
    next customer read, which is faulted as any read is): nothing to throttle of its own."""
    chaos = chaos_with(dynamodb_throttle=1.0)
    repo = ChaoticRepository(InMemoryRepository(), chaos, SimulatedBackoff().sleep)
    for n in range(20):
        repo.expect_numbering(NumberedKind.INVOICE, datetime(2026, 1, 1, n, tzinfo=UTC))
    assert chaos.injected == []


def test_the_process_dies_right_after_a_write_took_effect() -> None:
    inner = InMemoryRepository()
    repo = ChaoticRepository(inner, chaos_with(crash_after_write=1.0), SimulatedBackoff().sleep)
    with pytest.raises(SimulatedCrash):
        repo.commit(alice())
    assert inner.get_customer("alice") is not None
    assert repo.get_customer("alice") is not None, "reads do not crash the process"


def test_nothing_is_injected_outside_the_faulted_functions() -> None:
    chaos = chaos_with(transaction_conflict=1.0, crash_after_write=1.0, dynamodb_throttle=1.0)
    chaos.function = "api"
    repo = ChaoticRepository(InMemoryRepository(), chaos, SimulatedBackoff().sleep)
    repo.commit(alice())
    assert repo.get_customer("alice") is not None and chaos.injected == []


def test_the_scheduler_may_die_once_its_batch_is_queued() -> None:
    queue = InProcessQueue(url="memory://q", max_receive_count=5)
    sender = ChaoticQueue(queue, chaos_with(crash_after_queueing=1.0))
    with pytest.raises(SimulatedCrash):
        sender.send_message_batch(QueueUrl="memory://q", Entries=[{"Id": "0", "MessageBody": "x"}])
    assert queue.depth == 1, "what was queued stays queued"


def email() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "billing@example.com", "alice@example.com"
    message.set_content("hi")
    return message


def test_ses_throttling_is_absorbed_or_defers_the_email_unsent() -> None:
    chaos, backoff = chaos_with(ses_throttle=1.0), SimulatedBackoff()
    outcomes = set()
    for n in range(30):
        ses = SesRecorder(verified_sender="billing@example.com")
        mailer = ThrottledSes(ses, chaos, backoff.sleep)
        message = email()
        message.replace_header("To", f"c{n}@example.com")
        try:
            mailer.send(message, customer_id=f"c{n}", kind="receipt", sent_at=NOW)
            assert len(ses.requests) == 1
            outcomes.add("absorbed")
        except MailDeferred:
            assert ses.requests == []
            outcomes.add("deferred")
    assert outcomes == {"absorbed", "deferred"}
    assert backoff.count > 0
