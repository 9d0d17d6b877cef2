"""Chaos replay's faults (tenure_local.simulator.chaos): what each injects, where, and that a seed
replays the same ones. No sockets: the AWS clients answer from event hooks."""

import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError

from tenure.domain.money import Money
from tenure.notify.mailers import MailDeferred, SesMailer
from tenure.payments.gateway import ProviderUnavailableError, RateLimitedError
from tenure.payments.sandbox import SandboxGateway
from tenure_local.simulator.chaos import (
    Chaos,
    ChaosOptionError,
    Rates,
    SimulatedBackoff,
    SimulatedCrash,
    parse_kinds,
    summary,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def chaos_with(kinds: str = "all", seed: int = 1, **rates: float) -> Chaos:
    return Chaos(
        kinds=parse_kinds(kinds),
        seed=seed,
        clock=lambda: NOW,
        quiet_from=NOW + timedelta(days=1),
        rates=Rates(**{f: 0.0 for f in Rates.__dataclass_fields__} | rates),
    )


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def offline_client(service: str, answer: Callable[[Any], bytes]) -> tuple[Any, list[int]]:
    """A boto3 client whose requests never leave the process: each one sent is answered
    200 with `answer(request)` unless a chaos hook answered first. The list records, for
    each request, the SDK's attempt number (2 and more: retried)."""
    sent: list[int] = []
    client = boto3.client(
        service,  # type: ignore[call-overload]
        region_name="us-east-1",
        endpoint_url="http://offline.invalid",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )

    def reply(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, HTTPHeaders(), _Raw(answer(request)))

    def record(context: dict[str, Any], response_dict: dict[str, Any] | None, **_: Any) -> None:
        if response_dict is not None and response_dict["status_code"] == 200:
            sent.append(int(context.get("retries", {}).get("attempt", 1)))

    # botocore calls every before-send hook and takes the first answer: registered last,
    # this one's counts only when no chaos hook answered.
    client.meta.events.register_last(f"before-send.{service}", reply)
    client.meta.events.register_last(f"response-received.{service}", record)
    return client, sent


def put(client: Any, n: int = 1) -> None:
    client.put_item(TableName="t", Item={"PK": {"S": f"CUS#{n}"}, "entity": {"S": "customer"}})


def test_kinds_are_named_comma_separated_or_all() -> None:
    assert parse_kinds("crashes, timeouts") == {"crashes", "timeouts"}
    assert parse_kinds("all") == {"crashes", "throttling", "timeouts", "webhooks"}


@pytest.mark.parametrize("text", ["crashes,floods", "", " , "])
def test_an_unknown_or_empty_kind_is_refused_with_the_kinds_there_are(text: str) -> None:
    with pytest.raises(ChaosOptionError, match="crashes, throttling, timeouts, webhooks"):
        parse_kinds(text)


def test_the_process_dies_after_a_write_that_took_effect() -> None:
    chaos = chaos_with(crash_after_write=1.0)
    client, sent = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    with chaos.running("renewals-charger"), pytest.raises(SimulatedCrash):
        put(client)
    assert len(sent) == 1  # the write was sent (and answered) before the crash
    [injected] = chaos.injected
    assert (injected.kind, injected.fault) == ("crashes", "crash")
    assert injected.step == "after PutItem customer"
    assert injected.function == "renewals-charger"


def test_nothing_is_injected_into_the_api_nor_in_the_quiet_tail() -> None:
    chaos = chaos_with(crash_after_write=1.0, dynamodb_throttle=1.0)
    client, sent = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    put(client, 1)  # the scenario's own API calls: no function under chaos
    late = chaos_with(crash_after_write=1.0)
    late.quiet_from = NOW
    late_client, late_sent = offline_client("dynamodb", lambda _: b"{}")
    late.attach_dynamodb(late_client)
    with late.running("renewals-charger"):
        put(late_client, 2)
    assert chaos.injected == [] and late.injected == []
    assert sent == late_sent == [1]  # each written at the first attempt


def test_throttling_is_either_absorbed_by_the_sdk_retries_or_surfaces_to_the_code() -> None:
    chaos = chaos_with(kinds="throttling", dynamodb_throttle=1.0)
    client, sent = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    surfaced = absorbed = 0
    with chaos.running("webhooks"):
        for n in range(12):
            before = len(sent)
            try:
                put(client, n)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] in (
                    "ProvisionedThroughputExceededException",
                    "ThrottlingException",
                )
                assert len(sent) == before  # it never reached the table
                surfaced += 1
            else:
                assert sent[before:] == [2] or sent[before:] == [3]  # the SDK's retry got through
                absorbed += 1
    faults = [i.fault for i in chaos.injected]
    assert faults.count("throttled_surfaced") == surfaced > 0
    assert faults.count("throttled_absorbed") == absorbed > 0


def test_the_sdk_backoffs_under_chaos_pass_in_simulated_time_and_are_counted() -> None:
    chaos = chaos_with(kinds="throttling", dynamodb_throttle=1.0)
    client, sent = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    backoff = SimulatedBackoff()
    with backoff.botocore_retries(), chaos.running("webhooks"):
        for n in range(12):
            with contextlib.suppress(ClientError):
                put(client, n)
    retried = [attempt for attempt in sent if attempt > 1]
    # Every retry the SDK made after an absorbed throttle waited once, on our clock.
    assert retried and backoff.count == sum(attempt - 1 for attempt in retried)
    assert backoff.seconds > 0
    assert vars(botocore.endpoint)["time"] is time  # put back once the simulation ends


def test_a_transaction_conflict_cancels_the_whole_transaction_naming_one_item() -> None:
    chaos = chaos_with(kinds="throttling", transaction_conflict=1.0)
    client, sent = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    items = [
        {"Put": {"TableName": "t", "Item": {"PK": {"S": f"INV#{n}"}, "entity": {"S": "invoice"}}}}
        for n in range(3)
    ]
    with chaos.running("renewals-charger"), pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=items)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert sorted(codes) == ["None", "None", "TransactionConflict"]
    assert sent == []


def test_ses_throttling_is_absorbed_by_the_mailer_or_defers_the_email() -> None:
    chaos = chaos_with(kinds="throttling", ses_throttle=1.0)
    answer = (
        b"<SendRawEmailResponse><SendRawEmailResult><MessageId>m-1</MessageId>"
        b"</SendRawEmailResult></SendRawEmailResponse>"
    )
    client, _ = offline_client("ses", lambda _: answer)
    chaos.attach_ses(client)
    mailer = SesMailer(client, sleep=lambda _: None)
    outcomes = []
    with chaos.running("reminders"):
        for n in range(10):
            message = EmailMessage()
            message["From"], message["To"] = "billing@example.com", f"c{n}@example.com"
            try:
                mailer.send(message, customer_id=f"c{n}", kind="receipt", sent_at=NOW)
                outcomes.append("sent")
            except MailDeferred:
                outcomes.append("deferred")
    faults = [i.fault for i in chaos.injected]
    assert outcomes.count("deferred") == faults.count("ses_throttled_deferred") > 0
    assert outcomes.count("sent") == faults.count("ses_throttled_absorbed") > 0


def test_a_provider_call_times_out_before_or_after_it_took_effect_or_is_refused() -> None:
    chaos = chaos_with(kinds="timeouts", provider_fault=1.0)
    sandbox = SandboxGateway(clock=lambda: int(NOW.timestamp()))
    gateway = chaos.gateway(sandbox)
    seen: dict[str, bool] = {}
    with chaos.running("renewals-charger"):
        for n in range(15):
            payment: dict[str, Any] = {
                "amount": Money(1000, "USD"),
                "customer_id": "cus_1",
                "payment_method": "pm_card_visa",
                "invoice_id": f"in_{n}",
                "attempt": 1,
                "idempotency_key": f"charge:in_{n}:1:create",
            }
            with pytest.raises((ProviderUnavailableError, RateLimitedError)):
                gateway.create_payment(**payment)
            # The same request afterwards: the provider counts two calls for the payment if
            # the faulted one had reached it, one if not.
            fault = chaos.injected[-1].fault
            first = sandbox.create_payment(**payment)
            seen[fault] = sandbox.calls[first] == 2
    assert seen == {"rate_limited": False, "timeout_before": False, "timeout_after": True}
    assert gateway.name == sandbox.name


def test_the_one_request_and_the_list_are_faulted_like_any_provider_call() -> None:
    chaos = chaos_with(kinds="timeouts", provider_fault=1.0)
    sandbox = SandboxGateway(clock=lambda: int(NOW.timestamp()))
    gateway = chaos.gateway(sandbox)
    request = {
        "amount": Money(1000, "USD"),
        "customer_id": "cus_1",
        "payment_method": "pm_card_visa",
        "attempt": 1,
    }
    charged: dict[str, bool] = {}
    with chaos.running("renewals-charger"):
        for n in range(15):
            key = f"charge:in_{n}:1:create"
            before = sandbox.confirmations
            with pytest.raises((ProviderUnavailableError, RateLimitedError)):
                gateway.create_and_confirm_payment(
                    **request, invoice_id=f"in_{n}", idempotency_key=key
                )
            # Money moved only when the faulted request had reached the provider.
            charged[chaos.injected[-1].fault] = sandbox.confirmations > before
        with pytest.raises((ProviderUnavailableError, RateLimitedError)):
            gateway.find_payment(
                customer_id="cus_1",
                invoice_id="in_0",
                attempt=1,
                created_from=NOW,
                created_until=NOW,
            )
    assert charged == {"rate_limited": False, "timeout_before": False, "timeout_after": True}
    assert chaos.injected[-1].fault in ("rate_limited", "timeout_before")  # a read acts never


def test_the_reminders_process_may_die_once_ses_took_the_email() -> None:
    chaos = chaos_with(kinds="crashes", crash_after_email=1.0)
    sent: list[str] = []

    class Inner:
        def send(self, message: Any, **_: Any) -> str:
            sent.append(str(message["To"]))
            return "m-1"

    message = EmailMessage()
    message["To"], message["X-Tenure-Notice"] = "a@example.com", "sub-1:receipt:now:0"
    with chaos.running("reminders"), pytest.raises(SimulatedCrash):
        chaos.mailer(Inner()).send(message, customer_id="a", kind="receipt", sent_at=NOW)
    assert sent == ["a@example.com"]


def decisions(seed: int) -> list[tuple[str, str]]:
    chaos = chaos_with(seed=seed, crash_after_write=0.3, dynamodb_throttle=0.3)
    client, _ = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    with chaos.running("webhooks"):
        for n in range(40):
            with contextlib.suppress(SimulatedCrash, ClientError):
                put(client, n)
    return [(i.fault, i.step) for i in chaos.injected]


def test_a_seed_replays_the_same_faults_and_another_seed_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)  # the SDK's backoff before a retry
    assert decisions(7) == decisions(7)
    assert decisions(7) != decisions(8)


def test_the_summary_counts_what_was_injected_by_kind_fault_and_step() -> None:
    chaos = chaos_with(crash_after_write=1.0)
    client, _ = offline_client("dynamodb", lambda _: b"{}")
    chaos.attach_dynamodb(client)
    for n in range(2):
        with chaos.running("metrics"), pytest.raises(SimulatedCrash):
            put(client, n)
    doc = summary(chaos)
    assert doc["by_kind"] == {"crashes": 2}
    assert doc["by_step"] == {"metrics: crash after PutItem customer": 2}
    assert json.loads(json.dumps(doc))["log"][0]["at"] == "2026-03-01T12:00:00Z"
