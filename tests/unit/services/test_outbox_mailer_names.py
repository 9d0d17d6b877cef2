"""The local outbox names each email's file without keeping the name for the process's life."""

import os
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from tenure.notify.mailers import OutboxMailer


def a_message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "billing@example.com"
    message["To"] = "zoe@example.com"
    message["Message-ID"] = "<m1@example.com>"
    message.set_content("hello")
    return message


def test_the_outbox_writes_each_email_under_its_own_name_and_interns_none(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox")
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    customer = "cus-interned-check-7f3a"  # a name no other test makes
    for _ in range(2):
        assert mailer.send(a_message(), customer_id=customer, kind="receipt", sent_at=at)
    names = sorted(os.listdir(tmp_path / "outbox"))  # not Paths: they would intern the names
    assert names == [f"20260302T090000Z-{customer}-receipt{end}.eml" for end in ("-2", "")]
    with open(os.path.join(tmp_path, "outbox", names[1]), "rb") as fh:
        assert fh.read() == a_message().as_bytes()
    # pathlib interns each part of a path it parses (for good, in Python 3.12): a Path per
    # email kept a year's file names. A fresh copy of a name interns as itself only if the
    # mailer never interned it.
    for name in names:
        fresh = "".join(list(name))
        assert sys.intern(fresh) is fresh
