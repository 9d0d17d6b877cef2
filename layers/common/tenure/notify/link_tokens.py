"""Signed links: an email's way into one customer's page for one purpose, for a while.

A token is `base64url(json claims) + "." + base64url(HMAC-SHA256(key, payload))`. The claims
name the customer, the purpose, the subject (an invoice or a subscription) and the expiry; a
changed byte anywhere breaks the signature, and verification is constant-time.

A page's form carries a second, short-lived token (`form_token`): an HMAC over the link's
signature and an issue time, under a key derived from the link key. Only a page rendered by
Tenure for that link holds one, so a form posted from another site, or built without opening
the page, is refused.
"""

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode, urlsplit


class LinkPurpose(StrEnum):
    UPDATE_CARD = "update_card"
    CONFIRM_PAYMENT = "confirm_payment"
    MANAGE_SUBSCRIPTION = "manage_subscription"  # pause or cancel at period end, or come back
    COLLECTIONS = "collections"  # a collections case: pay it in full or choose a plan


PAGE_PATHS = {
    LinkPurpose.UPDATE_CARD: "/pages/card",
    LinkPurpose.CONFIRM_PAYMENT: "/pages/confirm",
    LinkPurpose.MANAGE_SUBSCRIPTION: "/pages/subscription",
    LinkPurpose.COLLECTIONS: "/pages/collections",
}


# The latest expiry a link may carry: the last second `datetime` can represent (9999-12-31).
# Anything larger is a malformed link, not an overflow.
_LAST_SECOND = 253_402_300_799
# Ids have the shape the API accepts in paths (derived invoice ids included); a signed claim
# holding anything else is malformed, so no store is ever asked for an empty or huge key.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
# A form token: the issue time in ASCII decimal seconds, a dot, the MAC.
_FORM_TOKEN = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{43})")
# How long a rendered page's form may be posted: long enough to find a card, short enough that
# a form token copied out of a page is soon worthless.
FORM_TOKEN_TTL = timedelta(hours=2)
# Clocks of two containers may disagree by a little; a token "issued" later than this is forged.
_FORM_CLOCK_SKEW = timedelta(minutes=1)


# Where a page may send the customer back to (a portal link's `return_url`): the business's
# own app, over https, or a loopback address over http while developing. Bounded, printable
# ASCII (an IRI is sent percent-encoded), and without user info: "https://shop.example@evil"
# reads as the shop and goes elsewhere.
MAX_RETURN_URL = 2000
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


class InvalidReturnUrlError(ValueError):
    """A return_url a link may not carry; the message says why (never the URL itself)."""


def check_return_url(url: str, *, allow_loopback_http: bool) -> str:
    """`url` if a page may link back to it, else InvalidReturnUrlError."""
    if len(url) > MAX_RETURN_URL:
        raise InvalidReturnUrlError(f"must be at most {MAX_RETURN_URL} characters")
    if not _PRINTABLE_ASCII.fullmatch(url):
        raise InvalidReturnUrlError("must be printable ASCII without spaces (percent-encode)")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise InvalidReturnUrlError("is not a URL") from exc
    if not host or parts.username is not None or parts.password is not None:
        raise InvalidReturnUrlError("must name a host, without user info")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_loopback_http and host in _LOOPBACK_HOSTS:
        return url
    raise InvalidReturnUrlError(
        "must be https" + (" (or http to a loopback address)" if allow_loopback_http else "")
    )


class InvalidLinkError(Exception):
    """The link cannot be honoured. `reason`: malformed, tampered, expired or wrong_purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidFormTokenError(Exception):
    """A page form cannot be accepted. `reason`: missing, tampered or stale."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkClaims:
    customer_id: str
    purpose: LinkPurpose
    subject: str  # the invoice or subscription the page acts on
    expires_at: datetime
    # Where the page's "Back to <business>" goes (portal links): signed with the rest, so
    # it cannot be swapped for another site. Absent from a link that has none (the emails'),
    # so those sign exactly as before.
    return_url: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign(key: bytes, claims: LinkClaims) -> str:
    body: dict[str, str | int] = {
        "c": claims.customer_id,
        "p": str(claims.purpose),
        "s": claims.subject,
        "e": int(claims.expires_at.timestamp()),
    }
    if claims.return_url is not None:
        body["r"] = claims.return_url
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
        claims = _claims(json.loads(_unb64(payload)))
    except (ValueError, KeyError, TypeError, OverflowError, OSError, RecursionError) as exc:
        raise InvalidLinkError("malformed") from exc
    if claims.purpose is not purpose:
        raise InvalidLinkError("wrong_purpose")
    if now >= claims.expires_at:
        raise InvalidLinkError("expired")
    return claims


def _claims(body: object) -> LinkClaims:
    """The claims of a decoded payload, each of the exact type and range a link is made with.

    Only a payload signed with our key gets here, but a key may sign what an older version
    made, and a leaked key anything: an expiry of 10**30, a string of Arabic-Indic digits (which
    `int()` would accept) or an empty id is refused as malformed, never turned into a 5xx."""
    if not isinstance(body, dict):
        raise TypeError("claims are not an object")
    customer, subject, expiry = body["c"], body["s"], body["e"]
    if not (isinstance(customer, str) and _ID.fullmatch(customer)):
        raise ValueError("customer id")
    if not (isinstance(subject, str) and _ID.fullmatch(subject)):
        raise ValueError("subject id")
    if type(expiry) is not int or not 0 <= expiry <= _LAST_SECOND:
        raise ValueError("expiry")
    back = body.get("r")
    if back is not None:
        if not isinstance(back, str):
            raise TypeError("return url")
        # Loopback http is accepted here whatever the deployment: signing decided it.
        check_return_url(back, allow_loopback_http=True)
    return LinkClaims(
        customer, LinkPurpose(body["p"]), subject, datetime.fromtimestamp(expiry, UTC), back
    )


def link_id(token: str) -> str:
    """A stable name of one link for single-use markers: a digest of its signature. The
    signature itself is never stored: with the claims (which the table can tell) it would
    be the link, and anyone who reads the table could act as the customer."""
    signature = token.partition(".")[2]
    return hashlib.sha256(signature.encode("utf-8", "replace")).hexdigest()[:32]


def _form_key(key: bytes) -> bytes:
    # A key of its own: a form token can never pass for a link signature, nor one for the other.
    return hmac.new(key, b"tenure page form token v1", hashlib.sha256).digest()


def _form_mac(key: bytes, link_token: str, issued: int) -> str:
    signature = link_token.partition(".")[2]
    message = f"{issued}\n{signature}".encode("utf-8", "replace")
    return _b64(hmac.new(_form_key(key), message, hashlib.sha256).digest())


def form_token(key: bytes, link_token: str, issued_at: datetime) -> str:
    """The token a page's forms post back: bound to the link (its signature covers customer,
    purpose, subject and expiry) and to when the page was rendered."""
    issued = int(issued_at.timestamp())
    return f"{issued}.{_form_mac(key, link_token, issued)}"


def check_form_token(key: bytes, link_token: str, value: str, now: datetime) -> None:
    """Raise InvalidFormTokenError unless `value` was issued by `form_token` for this link,
    with this key, less than FORM_TOKEN_TTL ago."""
    if not value:
        raise InvalidFormTokenError("missing")
    found = _FORM_TOKEN.fullmatch(value)
    if found is None:
        raise InvalidFormTokenError("tampered")
    issued = int(found.group(1))
    expected = _form_mac(key, link_token, issued)
    if not hmac.compare_digest(expected.encode(), found.group(2).encode()):
        raise InvalidFormTokenError("tampered")
    stamp = now.timestamp()
    if issued > stamp + _FORM_CLOCK_SKEW.total_seconds():
        raise InvalidFormTokenError("tampered")
    if stamp - issued > FORM_TOKEN_TTL.total_seconds():
        raise InvalidFormTokenError("stale")


def page_url(base_url: str, key: bytes, claims: LinkClaims) -> str:
    """The full URL of the page a link opens: `{base_url}/pages/...?t=TOKEN`."""
    return (
        f"{base_url.rstrip('/')}{PAGE_PATHS[claims.purpose]}?{urlencode({'t': sign(key, claims)})}"
    )
