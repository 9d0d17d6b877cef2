"""The operator console's session: a signed cookie naming the token's principal, never the token.

The cookie is `base64url(json {n: name, s: session id, e: expiry}) "." MAC`, the MAC keyed by
a key derived from the principal's own token. So nothing but that token can make a session
for its name, the token itself never leaves the sign-in form, and rotating or removing the
token ends every session made with it (its MAC no longer checks).

A console form carries a second token (`form_token`): a MAC over the session id and the
moment the form was rendered, under another key derived from the same token. Only a page the
console rendered for this session holds one, so a form posted from elsewhere is refused even
if a browser did send the cookie.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from api_tokens import Principal

COOKIE = "tenure_console"
# Short: a console left open on a shared desk signs itself out within the hour.
SESSION_TTL = timedelta(hours=1)
# A rendered form may be posted for as long as its session lasts, and no longer.
FORM_TTL = SESSION_TTL
_CLOCK_SKEW = timedelta(minutes=1)
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_FORM = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{43})")
_MAX_COOKIE = 600


class SessionRefusedError(Exception):
    """No usable session: `reason` is missing, malformed, tampered, expired or unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FormRefusedError(Exception):
    """A console form without a valid form token of its session: missing, tampered, stale."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    session_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(principal: Principal, purpose: bytes) -> bytes:
    return hmac.new(principal.token.encode(), purpose, hashlib.sha256).digest()


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest())


def open_session(principal: Principal, now: datetime) -> tuple[str, Session]:
    """A new session for `principal`: the cookie's value and what it stands for."""
    session_id = secrets.token_urlsafe(16)
    expires = int((now + SESSION_TTL).timestamp())
    body = {"n": principal.name, "s": session_id, "e": expires}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    value = f"{payload}.{_mac(_key(principal, b'tenure console session v1'), payload)}"
    return value, Session(principal, session_id, now + SESSION_TTL)


def read_session(value: str | None, known: tuple[Principal, ...], now: datetime) -> Session:
    """The session a cookie value stands for; SessionRefusedError otherwise."""
    if not value:
        raise SessionRefusedError("missing")
    payload, dot, mac = value.partition(".")
    if not dot or len(value) > _MAX_COOKIE or not value.isascii():
        raise SessionRefusedError("malformed")
    try:
        body = json.loads(_unb64(payload))
        name, session_id, expires = body["n"], body["s"], body["e"]
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise SessionRefusedError("malformed") from None
    if not (isinstance(name, str) and isinstance(session_id, str) and type(expires) is int):
        raise SessionRefusedError("malformed")
    principal = next((p for p in known if p.name == name), None)
    if principal is None:
        raise SessionRefusedError("unknown")  # the token was removed: its sessions end too
    expected = _mac(_key(principal, b"tenure console session v1"), payload)
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        raise SessionRefusedError("tampered")
    if not _SESSION_ID.fullmatch(session_id):
        raise SessionRefusedError("malformed")
    if now.timestamp() >= expires or expires - now.timestamp() > SESSION_TTL.total_seconds() + 60:
        raise SessionRefusedError("expired")
    return Session(principal, session_id, datetime.fromtimestamp(expires, now.tzinfo))


def form_token(session: Session, now: datetime) -> str:
    """The token a form rendered now, in this session, posts back."""
    issued = int(now.timestamp())
    return f"{issued}.{_form_mac(session, issued)}"


def check_form_token(session: Session, value: str, now: datetime) -> None:
    """FormRefusedError unless `value` is a form token of this session, not older than
    FORM_TTL (nor from the future)."""
    if not value:
        raise FormRefusedError("missing")
    found = _FORM.fullmatch(value)
    if found is None:
        raise FormRefusedError("tampered")
    issued = int(found.group(1))
    if not hmac.compare_digest(_form_mac(session, issued).encode(), found.group(2).encode()):
        raise FormRefusedError("tampered")
    stamp = now.timestamp()
    if issued > stamp + _CLOCK_SKEW.total_seconds():
        raise FormRefusedError("tampered")
    if stamp - issued > FORM_TTL.total_seconds():
        raise FormRefusedError("stale")


def _form_mac(session: Session, issued: int) -> str:
    key = _key(session.principal, b"tenure console form v1")
    return _mac(key, f"{issued}\n{session.session_id}")
