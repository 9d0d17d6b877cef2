"""Signed links: an email's way into one customer's page for one purpose, for a while.

A token is `base64url(json claims) + "." + base64url(HMAC-SHA256(key, payload))`. The claims
name the customer, the purpose, the subject (an invoice or a subscription) and the expiry; a
changed byte anywhere breaks the signature, and verification is constant-time.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlencode


class LinkPurpose(StrEnum):
    UPDATE_CARD = "update_card"
    CONFIRM_PAYMENT = "confirm_payment"
    MANAGE_SUBSCRIPTION = "manage_subscription"  # pause or cancel at period end, or come back


PAGE_PATHS = {
    LinkPurpose.UPDATE_CARD: "/pages/card",
    LinkPurpose.CONFIRM_PAYMENT: "/pages/confirm",
    LinkPurpose.MANAGE_SUBSCRIPTION: "/pages/subscription",
}


class InvalidLinkError(Exception):
    """The link cannot be honoured. `reason`: malformed, tampered, expired or wrong_purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkClaims:
    customer_id: str
    purpose: LinkPurpose
    subject: str  # the invoice or subscription the page acts on
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign(key: bytes, claims: LinkClaims) -> str:
    body = {
        "c": claims.customer_id,
        "p": str(claims.purpose),
        "s": claims.subject,
        "e": int(claims.expires_at.timestamp()),
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(key, payload)}"


def verify(key: bytes, token: str, purpose: LinkPurpose, now: datetime) -> LinkClaims:
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise InvalidLinkError("malformed")
    try:
        expected = _mac(key, payload)
    except UnicodeEncodeError as exc:
        raise InvalidLinkError("malformed") from exc
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise InvalidLinkError("tampered")
    try:
        body = json.loads(_unb64(payload))
        claims = LinkClaims(
            customer_id=str(body["c"]),
            purpose=LinkPurpose(body["p"]),
            subject=str(body["s"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidLinkError("malformed") from exc
    if claims.purpose is not purpose:
        raise InvalidLinkError("wrong_purpose")
    if now >= claims.expires_at:
        raise InvalidLinkError("expired")
    return claims


def page_url(base_url: str, key: bytes, claims: LinkClaims) -> str:
    """The full URL of the page a link opens: `{base_url}/pages/...?t=TOKEN`."""
    return (
        f"{base_url.rstrip('/')}{PAGE_PATHS[claims.purpose]}?{urlencode({'t': sign(key, claims)})}"
    )
