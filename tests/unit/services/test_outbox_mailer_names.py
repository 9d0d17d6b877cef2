"""The local outbox names each email's file without keeping the name for the process's life."""

import os
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

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


def test_a_third_email_of_the_second_and_a_removed_folder_are_written_too(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "outbox"
    mailer = OutboxMailer(folder)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for _ in range(3):
        mailer.send(a_message(), customer_id="cus_1", kind="receipt", sent_at=at)
    assert sorted(os.listdir(folder)) == [
        f"20260302T090000Z-cus_1-receipt{end}.eml" for end in ("-2", "-3", "")
    ]
    for name in os.listdir(folder):
        os.remove(folder / name)
    os.rmdir(folder)
    mailer.send(a_message(), customer_id="cus_1", kind="receipt", sent_at=at)
    assert os.listdir(folder) == ["20260302T090000Z-cus_1-receipt.eml"]


def test_an_outbox_that_cannot_be_made_is_an_error_not_a_loop(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder would go")
    mailer = OutboxMailer(tmp_path / "taken" / "outbox")
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with pytest.raises(OSError):
        mailer.send(a_message(), customer_id="cus_1", kind="receipt", sent_at=at)


class _Unmade(type(Path())):  # type: ignore[misc]
    """A folder whose mkdir makes nothing (as one removed again at once would be)."""

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        return None


def test_a_folder_still_missing_after_it_was_made_is_an_error_not_a_loop(tmp_path: Path) -> None:
    mailer = OutboxMailer(_Unmade(tmp_path / "outbox"))
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with pytest.raises(FileNotFoundError):
        mailer.send(a_message(), customer_id="cus_1", kind="receipt", sent_at=at)
