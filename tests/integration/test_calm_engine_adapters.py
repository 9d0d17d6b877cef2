"""A calm DynamoDB Local run keeps its renewal queue and mail in the process, as the memory
engine does, and the table on the emulator; a caller that watches botocore keeps all three on
boto3."""

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tenure.notify.mailers import MailRejected
from tenure_local.simulator.aws_timer import AwsTimer
from tenure_local.simulator.engines import DynamoLocalEngine, RunSpec
from tenure_local.simulator.memory_adapters import InProcessQueue
from tenure_local.stack.local_stack import LocalStack

SENT_AT = datetime(2026, 3, 1, tzinfo=UTC)


def waiting_on_moto(stack: LocalStack) -> int:
    answer = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.env["RENEWAL_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in answer.values())


def email(sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ada@example.com"
    message["Subject"] = "Your receipt"
    message.set_content("Paid.")
    return message


def send_one(adapters: Any) -> None:
    entries = [{"Id": "0", "MessageBody": json.dumps({"subscription": "sub_1"})}]
    adapters.clients("sqs").send_message_batch(QueueUrl=adapters.queue_url, Entries=entries)


@pytest.fixture
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "outbox"
    monkeypatch.setenv("TENURE_OUTBOX_DIR", str(folder))
    return folder


def test_a_calm_run_queues_renewals_in_the_process_and_not_on_moto(
    local_stack: LocalStack, tmp_path: Path, outbox: Path
) -> None:
    engine = DynamoLocalEngine(local_stack)
    with engine.open(RunSpec(out=tmp_path, timer=AwsTimer())) as adapters:
        assert isinstance(adapters.queue, InProcessQueue)
        assert adapters.queue_url == local_stack.env["RENEWAL_QUEUE_URL"]
        send_one(adapters)
        received = adapters.queue.receive_message(
            QueueUrl=adapters.queue_url, MaxNumberOfMessages=10
        )
        assert [json.loads(m["Body"]) for m in received["Messages"]] == [{"subscription": "sub_1"}]
        assert waiting_on_moto(local_stack) == 0


def test_a_calm_run_records_its_mail_in_the_outbox_without_calling_ses(
    local_stack: LocalStack, tmp_path: Path, outbox: Path
) -> None:
    engine = DynamoLocalEngine(local_stack)
    with engine.open(RunSpec(out=tmp_path, timer=AwsTimer())) as adapters:
        assert adapters.mailer is not None
        ses = local_stack.client("ses")
        before = ses.get_send_quota()["SentLast24Hours"]  # the session's stack is shared
        sender = adapters.settings.mail_from
        adapters.mailer.send(email(sender), customer_id="cus_1", kind="receipt", sent_at=SENT_AT)
        assert len(list(outbox.glob("*.eml"))) == 1
        assert ses.get_send_quota()["SentLast24Hours"] == before, "moto's SES was not asked"


def test_a_calm_run_refuses_mail_from_a_sender_ses_has_not_verified(
    local_stack: LocalStack, tmp_path: Path, outbox: Path
) -> None:
    engine = DynamoLocalEngine(local_stack)
    with engine.open(RunSpec(out=tmp_path, timer=AwsTimer())) as adapters:
        assert adapters.mailer is not None
        with pytest.raises(MailRejected, match="not verified"):
            adapters.mailer.send(
                email("mallory@example.net"), customer_id="cus_1", kind="receipt", sent_at=SENT_AT
            )
        assert list(outbox.glob("*.eml")) == []


def test_a_calm_run_reaches_moto_for_services_it_does_not_keep_in_the_process(
    local_stack: LocalStack, tmp_path: Path, outbox: Path
) -> None:
    engine = DynamoLocalEngine(local_stack)
    with engine.open(RunSpec(out=tmp_path, timer=AwsTimer())) as adapters:
        secrets = adapters.clients("secretsmanager")
        assert secrets.meta.service_model.service_name == "secretsmanager"
        assert "SecretList" in secrets.list_secrets()


def test_a_run_that_watches_botocore_keeps_queue_and_mail_on_moto(
    local_stack: LocalStack, tmp_path: Path, outbox: Path
) -> None:
    engine = DynamoLocalEngine(local_stack, lean_client=False)
    with engine.open(RunSpec(out=tmp_path, timer=AwsTimer())) as adapters:
        assert adapters.mailer is None, "the functions build their SES mailer"
        send_one(adapters)
        assert waiting_on_moto(local_stack) == 1
        received = adapters.queue.receive_message(
            QueueUrl=adapters.queue_url, MaxNumberOfMessages=10
        )
        assert len(received["Messages"]) == 1
        # Gone, not left in flight to surface in a later test's run on this stack.
        handle = received["Messages"][0]["ReceiptHandle"]
        adapters.queue.delete_message(QueueUrl=adapters.queue_url, ReceiptHandle=handle)
