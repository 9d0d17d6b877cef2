"""The memory engine's queue and mailer answer as SQS and SES do for the calls Tenure makes."""

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tenure.notify.mailers import MailRejected
from tenure_local.simulator.aws_timer import AwsTimer
from tenure_local.simulator.engines import (
    EngineOptionError,
    MemoryEngine,
    RunSpec,
    engine_named,
)
from tenure_local.simulator.memory_adapters import InProcessQueue, QueueRequestError, SesRecorder

URL = "memory://renewals"
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def queue(max_receive_count: int = 5) -> InProcessQueue:
    return InProcessQueue(url=URL, max_receive_count=max_receive_count)


def send(q: InProcessQueue, *bodies: str) -> Any:
    entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
    return q.send_message_batch(QueueUrl=URL, Entries=entries)


def receive(q: InProcessQueue, n: int = 10) -> list[dict[str, str]]:
    found: list[dict[str, str]] = q.receive_message(QueueUrl=URL, MaxNumberOfMessages=n).get(
        "Messages", []
    )
    return found


def handles(messages: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]


def test_messages_come_out_in_the_order_they_were_sent_at_most_ten_at_a_time() -> None:
    q = queue()
    sent = send(q, *(f"m{n}" for n in range(10)))
    send(q, "m10", "m11")
    assert [s["Id"] for s in sent["Successful"]] == [str(n) for n in range(10)]
    assert sent["Failed"] == []
    first, second = receive(q), receive(q)
    assert [m["Body"] for m in first] == [f"m{n}" for n in range(10)]
    assert [m["Body"] for m in second] == ["m10", "m11"]
    assert receive(q) == []


def test_a_received_message_stays_in_flight_until_deleted() -> None:
    q = queue()
    send(q, "a", "b")
    got = receive(q)
    assert receive(q) == [] and q.depth == 2
    answer = q.delete_message_batch(QueueUrl=URL, Entries=handles(got))
    assert [s["Id"] for s in answer["Successful"]] == ["0", "1"] and answer["Failed"] == []
    assert q.depth == 0


def test_a_message_made_visible_again_is_handed_out_before_later_ones() -> None:
    q = queue()
    send(q, "first", "second")
    got = receive(q, 1)
    send(q, "third")
    entries = [h | {"VisibilityTimeout": 0} for h in handles(got)]
    assert q.change_message_visibility_batch(QueueUrl=URL, Entries=entries)["Failed"] == []
    assert [m["Body"] for m in receive(q)] == ["first", "second", "third"]


def test_a_longer_visibility_keeps_the_message_in_flight() -> None:
    q = queue()
    send(q, "a")
    got = receive(q)
    entries = [h | {"VisibilityTimeout": 60} for h in handles(got)]
    q.change_message_visibility_batch(QueueUrl=URL, Entries=entries)
    assert receive(q) == []
    assert q.delete_message_batch(QueueUrl=URL, Entries=handles(got))["Failed"] == []


def test_an_unknown_or_spent_receipt_handle_is_a_failed_entry_not_an_error() -> None:
    q = queue()
    send(q, "a")
    got = receive(q)
    q.delete_message_batch(QueueUrl=URL, Entries=handles(got))
    again = q.delete_message_batch(QueueUrl=URL, Entries=handles(got))
    assert again["Successful"] == []
    assert [(f["Id"], f["Code"]) for f in again["Failed"]] == [("0", "ReceiptHandleIsInvalid")]


def test_a_message_received_too_often_goes_to_the_dead_letters() -> None:
    q = queue(max_receive_count=2)
    send(q, "poison", "fine")
    for _ in range(2):
        got = receive(q, 1)
        assert [m["Body"] for m in got] == ["poison"]
        q.change_message_visibility_batch(
            QueueUrl=URL, Entries=[h | {"VisibilityTimeout": 0} for h in handles(got)]
        )
    assert [m["Body"] for m in receive(q)] == ["fine"]
    assert q.dead_letters == ["poison"]


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ([], "1 to 10 entries"),
        ([{"Id": str(n), "MessageBody": "x"} for n in range(11)], "1 to 10 entries"),
        ([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}], "distinct"),
        ([{"Id": "a", "MessageBody": ""}], "non-empty"),
    ],
)
def test_a_batch_sqs_would_refuse_is_refused_whole(
    entries: list[dict[str, Any]], problem: str
) -> None:
    q = queue()
    with pytest.raises(QueueRequestError, match=problem):
        q.send_message_batch(QueueUrl=URL, Entries=entries)
    assert q.depth == 0


def test_calls_on_another_queue_or_for_too_many_messages_are_refused() -> None:
    q = queue()
    with pytest.raises(QueueRequestError, match="no queue"):
        q.send_message_batch(QueueUrl="memory://other", Entries=[{"Id": "a", "MessageBody": "x"}])
    with pytest.raises(QueueRequestError, match="MaxNumberOfMessages"):
        q.receive_message(QueueUrl=URL, MaxNumberOfMessages=11)


def email(sender: str, to: str = "alice@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Tenure Demo <{sender}>"
    message["To"] = to
    message.set_content("hello")
    return message


def test_ses_takes_an_email_from_the_verified_sender_and_records_the_request() -> None:
    ses = SesRecorder(verified_sender="billing@example.com")
    first = ses.send(email("Billing@Example.com"), customer_id="alice", kind="receipt", sent_at=AT)
    second = ses.send(email("billing@example.com"), customer_id="alice", kind="receipt", sent_at=AT)
    assert first != second
    assert [(r.destinations, r.message_id) for r in ses.requests] == [
        (("alice@example.com",), first),
        (("alice@example.com",), second),
    ]


def test_ses_rejects_an_email_from_a_sender_it_has_not_verified() -> None:
    ses = SesRecorder(verified_sender="billing@example.com")
    with pytest.raises(MailRejected, match="not verified"):
        ses.send(email("someone@else.example"), customer_id="alice", kind="receipt", sent_at=AT)
    assert ses.requests == []


def test_ses_checks_each_sender_once_and_refuses_an_unverified_one_every_time() -> None:
    ses = SesRecorder(verified_sender="billing@example.com")
    ses.send(email("billing@example.com"), customer_id="alice", kind="receipt", sent_at=AT)
    for _ in range(2):  # the answer kept for a sender is its refusal too
        with pytest.raises(MailRejected, match="not verified"):
            ses.send(email("someone@else.example"), customer_id="a", kind="receipt", sent_at=AT)
    ses.send(email("billing@example.com"), customer_id="alice", kind="receipt", sent_at=AT)
    assert len(ses.requests) == 2


def test_an_unknown_engine_name_is_refused_with_the_choices() -> None:
    with pytest.raises(EngineOptionError, match="dynamodb-local, memory"):
        engine_named("sqlite")


def test_the_memory_engine_offers_only_the_queue_among_aws_clients(tmp_path: Path) -> None:
    with MemoryEngine().open(RunSpec(out=tmp_path, timer=AwsTimer())) as adapters:
        assert adapters.clients("sqs") is adapters.queue
        with pytest.raises(EngineOptionError, match="no 'ses' client"):
            adapters.clients("ses")
        assert adapters.backend == "memory"
        assert adapters.settings.api_token and adapters.webhook_secret


def test_chaos_run_refuses_an_unknown_engine_before_running_anything(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tenure_local.cli.main import app

    scenario = Path(__file__).resolve().parents[3] / "examples" / "demo.yaml"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["chaos", "run", str(scenario), "--engine", "sqlite", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "unknown engine 'sqlite'" in result.output
    assert not out.exists()


def test_ses_records_each_emails_own_recipient_though_it_reads_headers_once_per_value() -> None:
    ses = SesRecorder(verified_sender="billing@example.com")
    for to in ("alice@example.com", "=?utf-8?q?B=C3=B6b?= <bob@example.com>", "alice@example.com"):
        message = EmailMessage()  # headers kept as raw text, as Tenure's messages keep them
        message.set_raw("From", "Tenure Demo <billing@example.com>")
        message.set_raw("To", to)
        ses.send(message, customer_id="c", kind="receipt", sent_at=AT)
    assert [r.destinations for r in ses.requests] == [
        ("alice@example.com",),
        ("Böb <bob@example.com>",),
        ("alice@example.com",),
    ]


def test_ses_rejects_an_email_that_names_no_sender() -> None:
    ses = SesRecorder(verified_sender="billing@example.com")
    message = email("billing@example.com")
    del message["From"]
    with pytest.raises(MailRejected, match="not verified"):
        ses.send(message, customer_id="alice", kind="receipt", sent_at=AT)
    assert ses.requests == []


def test_ses_requests_read_back_as_they_were_sent_though_held_as_pair_indexes() -> None:
    ses = SesRecorder(verified_sender="billing@example.com")
    sent = [
        ses.send(email("billing@example.com", to), customer_id="c", kind="receipt", sent_at=AT)
        for to in ("alice@example.com", "bob@example.com", "alice@example.com")
    ]
    assert sent == ["memory-0000000001", "memory-0000000002", "memory-0000000003"]
    assert len(ses.requests._pairs) == 2  # the third email reuses the first's pair
    tos = [r.destinations for r in ses.requests]
    assert tos == [("alice@example.com",), ("bob@example.com",), ("alice@example.com",)]
    assert ses.requests[-1] == ses.requests[2] != ses.requests[1]
    assert ses.requests[1:] == [ses.requests[1], ses.requests[2]]
    assert ses.requests[0].source == "Tenure Demo <billing@example.com>"
    with pytest.raises(IndexError):
        ses.requests[3]
    assert ses.requests != "not a list"
