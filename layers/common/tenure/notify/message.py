"""A rendered email as an RFC 5322 message, ready for SES `SendRawEmail` or an `.eml` file."""

import hashlib
import unicodedata
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime
from typing import TYPE_CHECKING

from tenure.domain.customers import valid_address  # the one address rule, at every entry

if TYPE_CHECKING:  # rendering (Jinja2, Babel) is imported when something is to be sent
    from tenure.notify.render import RenderedEmail

# Bodies go out as quoted-printable or base64 (whichever is shorter), never raw 8-bit:
# SES asks for 7-bit-clean MIME parts.
_POLICY = default.clone(cte_type="7bit")


def _one_line(text: str) -> str:
    """Control characters and line separators become spaces: a header stays one header.
    Other spacing (Babel's no-break spaces in dates) is kept as it is."""
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text
    ).strip()


def _digest(notice_key: str, sent_at: datetime) -> str:
    return hashlib.sha256(f"{notice_key}\x00{sent_at.isoformat()}".encode()).hexdigest()


def message_id(notice_key: str, sent_at: datetime, sender: str) -> str:
    """`<hash@sender-domain>`: the same notice sent at another moment gets another id."""
    return f"<{_digest(notice_key, sent_at)[:40]}@{sender.rpartition('@')[2]}>"


def _boundary(seed: str, *bodies: str) -> str:
    """A boundary drawn from `seed` that no body contains. Encoded, a body cannot contain it
    either: quoted-printable escapes "=", base64 has no "-", and 7-bit text is sent as it is."""
    for n in range(1000):
        tag = hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()[:24]
        candidate = f"==tenure-{tag}=="
        if not any(candidate in body for body in bodies):
            return candidate
    raise ValueError("no boundary fits these bodies")  # pragma: no cover - 1000 collisions


def build_message(
    rendered: "RenderedEmail",
    *,
    to: str,
    to_name: str,
    sender: str,
    sender_name: str,
    sent_at: datetime,
    notice_key: str,
) -> EmailMessage:
    """multipart/alternative (text, then HTML, both UTF-8) with the headers a bulk-safe
    transactional email carries. Raises ValueError for a bad address or a naive `sent_at`."""
    for role, addr in (("to", to), ("sender", sender)):
        if not valid_address(addr):
            raise ValueError(f"invalid {role} address")  # no address in the text: PII
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at must be timezone-aware")
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = Address(display_name=_one_line(sender_name), addr_spec=sender)
    msg["To"] = Address(display_name=_one_line(to_name), addr_spec=to)
    msg["Subject"] = _one_line(rendered.subject)
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = message_id(notice_key, sent_at, sender)
    # RFC 3834: tells auto-responders (vacation replies) not to answer.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Tenure-Notice"] = _one_line(notice_key)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # The same email gets the same bytes (the generator would draw a random boundary), so a
    # replay's outbox can be compared byte for byte.
    msg.set_boundary(_boundary(_digest(notice_key, sent_at), rendered.text, rendered.html))
    # After the bodies: set_content clears every Content-* header already there.
    msg["Content-Language"] = rendered.locale
    return msg
