"""Where emails go: SES in AWS, an outbox folder of .eml files locally, or both.

A mailer either accepts a message (and returns the provider's message id), or raises
MailRejected (this message will never be accepted: a bad address, a refused sender) or
MailDeferred (not now: throttling that outlasted the retries, a network failure before the
request was sent). The reminders run records which, and never marks a refused email as sent.
"""

import os
import random
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from tenure.notify.message import header_text, sent_message_id


class MailRejected(Exception):
    """The provider refused this message for good."""


class MailDeferred(Exception):
    """The message was not sent now; it may be tried again later."""


class Mailer(Protocol):
    def send(
        self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime
    ) -> str: ...


_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}
_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "MailFromDomainNotVerified",
    "ConfigurationSetDoesNotExist",
    "AccountSendingPausedException",
    "InvalidParameterValue",
}


class SesMailer:
    """SES `SendRawEmail`: the MIME message as built, so the .eml and the sent mail agree.

    Throttling ("Maximum sending rate exceeded") is retried with exponential backoff and
    full jitter; what still fails is deferred to a later run."""

    def __init__(
        self,
        client: Any,
        configuration_set: str = "",
        attempts: int = 5,
        base_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ses = client
        self._configuration_set = configuration_set
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        request: dict[str, Any] = {
            "Source": header_text(message, "From"),
            "Destinations": [header_text(message, "To")],
            "RawMessage": {"Data": message.as_bytes()},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        for attempt in range(self._attempts):
            try:
                return str(self._ses.send_raw_email(**request)["MessageId"])
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                message_text = exc.response.get("Error", {}).get("Message", "")
                if code in _THROTTLED or "rate exceeded" in message_text.lower():
                    if attempt + 1 < self._attempts:
                        self._sleep(random.uniform(0, self._base_delay * 2**attempt))
                        continue
                    raise MailDeferred(f"SES throttled: {code}") from exc
                if code in _REJECTED:
                    raise MailRejected(f"{code}: {message_text}") from exc
                raise MailDeferred(f"SES error {code}") from exc
            except BotoCoreError as exc:
                raise MailDeferred(f"SES unreachable: {type(exc).__name__}") from exc
        raise MailDeferred("SES throttled")  # pragma: no cover - the loop returns or raises


class OutboxMailer:
    """Writes each email as `DIR/<timestamp>-<customer id>-<kind>.eml` (RFC 5322)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        stamp = _stamp(sent_at)
        safe_customer = "".join(c if c.isalnum() or c in "-_" else "_" for c in customer_id)
        # Names as text, not Paths: pathlib interns each part of a path it parses, and an
        # interned string lives as long as the process (Python 3.12), so a Path per email
        # kept every email's name of a year's simulation in memory.
        stem = os.path.join(os.fspath(self.folder), f"{stamp}-{safe_customer}-{kind}")
        data = message.as_bytes()
        n, made = 1, False
        while True:
            path = f"{stem}.eml" if n == 1 else f"{stem}-{n}.eml"
            try:
                # "x": created here or not at all, so the folder is made and a name taken
                # checked only when needed (a stat and a mkdir an email cost as much again).
                with open(path, "xb") as fh:
                    fh.write(data)
                return sent_message_id(message)
            except FileExistsError:  # two emails of one kind in the same second: keep both
                n += 1
            except FileNotFoundError:  # the first email (or the folder was removed)
                if made:
                    raise
                self.folder.mkdir(parents=True, exist_ok=True)
                made = True


def _stamp(moment: datetime) -> str:
    """`moment` as `%Y%m%dT%H%M%SZ` (its own clock's fields, as strftime writes them),
    without strftime's cost (about 20 µs, a tenth of writing the file)."""
    if moment.year < 1000:  # strftime writes no leading zeros there
        return moment.strftime("%Y%m%dT%H%M%SZ")
    return (
        f"{moment.year}{moment.month:02d}{moment.day:02d}"
        f"T{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z"
    )


def forget_outbox_copies(folder: Path, customer_id: str) -> int:
    """Delete the local outbox's copies of the emails sent to a customer whose data was
    erased (docs/privacy.md); returns how many. The name OutboxMailer gives each file is the
    only place its customer is named, so nothing else is read."""
    safe_customer = "".join(c if c.isalnum() or c in "-_" else "_" for c in customer_id)
    gone = 0
    for path in sorted(folder.glob(f"*-{safe_customer}-*.eml")) if folder.is_dir() else []:
        # `<stamp>-<customer>-<kind>[-n].eml`: the stamp has no hyphen, so the customer is
        # exactly what follows the first one (a customer "a" never takes "a-b"'s files).
        if path.name.split("-", 1)[1].startswith(f"{safe_customer}-") and _kind_follows(
            path.name.split("-", 1)[1][len(safe_customer) + 1 :]
        ):
            path.unlink()
            gone += 1
    return gone


def _kind_follows(rest: str) -> bool:
    kind = rest.removesuffix(".eml").rsplit("-", 1)
    name = kind[0] if len(kind) == 2 and kind[1].isdigit() else rest.removesuffix(".eml")
    return bool(name) and all(c.isalnum() or c == "_" for c in name)


class TeeMailer:
    """Sends through the first mailer and keeps a copy with the others (the local outbox)."""

    def __init__(self, primary: Mailer, *copies: Mailer) -> None:
        self._primary = primary
        self._copies = copies

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        message_id = self._primary.send(
            message, customer_id=customer_id, kind=kind, sent_at=sent_at
        )
        for copy in self._copies:
            copy.send(message, customer_id=customer_id, kind=kind, sent_at=sent_at)
        return message_id
