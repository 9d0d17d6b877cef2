"""Outbound webhooks (Standard Webhooks): the business's endpoints, each delivery of a domain
event to one, how a delivery is signed, and the retry and disable rules (docs/webhooks-outbound.md).
"""

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.ids import digest
from tenure.domain.timeutil import iso

SECRET_PREFIX = "whsec_"
EVERY_EVENT = "*"
# A delivery is tried again after 30 s, then after twice the previous wait each time, never
# more than 12 h apart, for as long as its next try would still fall within 3 days of its first.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=12)
RETRY_WINDOW = timedelta(days=3)
# After a secret is rotated, deliveries carry a signature under the previous secret as well
# for as long as the business chose, at most a day (Standard Webhooks: several signatures,
# space-separated, so a receiver can move to the new secret without dropping a delivery).
LONGEST_PREVIOUS_SECRET = timedelta(hours=24)
MAX_URL = 2048
ANSWER_KEPT = 200  # characters of a receiver's answer kept in the delivery log


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # a try is due at next_attempt_at
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # tries stopped: 3 days of failures, or the endpoint is gone or disabled


def event_types() -> frozenset[str]:
    return frozenset(str(t) for t in EventType)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    url: str
    events: tuple[str, ...]  # event types, or ("*",) for every one
    secret: str  # "whsec_" + base64 of the key bytes
    created_at: datetime
    status: EndpointStatus = EndpointStatus.ENABLED
    disabled_reason: str | None = None
    # The first failure since the endpoint last answered 2xx (None: it is not failing).
    failing_since: datetime | None = None
    # The secret before the last rotation, still signed with until `previous_secret_until`.
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    def secrets_at(self, at: datetime) -> tuple[str, ...]:
        """The secrets a delivery made at `at` is signed with: the current one first."""
        until = self.previous_secret_until
        if self.previous_secret is None or until is None or at >= until:
            return (self.secret,)
        return (self.secret, self.previous_secret)

    def wants(self, event_type: str) -> bool:
        return self.status is EndpointStatus.ENABLED and (
            EVERY_EVENT in self.events or event_type in self.events
        )


def new_secret(key: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(key).decode()


def delivery_id(endpoint_id: str, event_id: str) -> str:
    """The `webhook-id` of an event sent to an endpoint: the same on every try and replay, so
    the receiver can drop a copy it has already handled."""
    return f"msg_{digest(endpoint_id, event_id, size=24)}"


def payload(event: dict[str, Any], version: int | None) -> str:
    """The body sent for a committed domain event (docs/events.md): Standard Webhooks'
    `type`/`timestamp`/`data` envelope around the event. `data.object_version` is the version
    of the object the event is about once the change was written (None where the event names
    none), since deliveries may arrive out of order."""
    data = dict(event) | {"object_version": version}
    body = {"type": event["type"], "timestamp": event["occurred_at"], "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: `v1,` + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"
    under the secret's key bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(
    secret: str, message_id: str, at: datetime, body: str, *also: str
) -> dict[str, str]:
    """The Standard Webhooks headers; `also`: more secrets to sign with (a rotated secret's
    predecessor), each signature after the first separated by a space."""
    timestamp = int(at.timestamp())
    signatures = " ".join(sign(s, message_id, timestamp, body) for s in (secret, *also))
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def retry_wait(failures: int) -> timedelta:
    """The wait after the `failures`-th failed try in a row (1, 2, ...)."""
    return min(FIRST_RETRY * 2 ** min(failures - 1, 20), LONGEST_WAIT)


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event to one endpoint, with what became of its tries. `window_start` is when its
    current run of tries began (its creation, or its last replay)."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    payload: str  # signed as it is on every try
    created_at: datetime
    window_start: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0  # every try ever made, replays included
    failures: int = 0  # failed tries in a row since the last success or replay
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status: int | None = None  # the receiver's HTTP status (None: no answer)
    last_error: str | None = None
    version: int = 0

    def succeeded(self, at: datetime, status: int) -> "WebhookDelivery":
        return replace(
            self,
            status=DeliveryStatus.SUCCEEDED,
            attempts=self.attempts + 1,
            failures=0,
            next_attempt_at=None,
            last_attempt_at=at,
            last_status=status,
            last_error=None,
        )

    def failed(self, at: datetime, status: int | None, error: str) -> "WebhookDelivery":
        """After a failed try: due again after the backoff, or FAILED when that would fall
        outside the 3 days since the run of tries began."""
        failures = self.failures + 1
        retry_at = at + retry_wait(failures)
        gave_up = retry_at - self.window_start > RETRY_WINDOW
        return replace(
            self,
            status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
            attempts=self.attempts + 1,
            failures=failures,
            next_attempt_at=None if gave_up else retry_at,
            last_attempt_at=at,
            last_status=status,
            last_error=error[:ANSWER_KEPT],
        )

    def stopped(self, reason: str) -> "WebhookDelivery":
        """No more tries: the endpoint was deleted or disabled."""
        return replace(self, status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=reason)

    def replayed(self, at: datetime) -> "WebhookDelivery":
        """Sent again now, with a fresh 3 days of tries should it fail."""
        return replace(
            self, status=DeliveryStatus.PENDING, failures=0, next_attempt_at=at, window_start=at
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": str(self.status),
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "next_attempt_at": iso(self.next_attempt_at) if self.next_attempt_at else None,
            "last_attempt_at": iso(self.last_attempt_at) if self.last_attempt_at else None,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


def check_url(url: str, *, local: bool, addresses: Callable[[str], list[str]] | None) -> str:
    """The URL an endpoint may have, or ValidationFailedError("url", why): https; plain http
    only to a loopback host in local mode; deployed, no host whose addresses (as `addresses`
    resolves them) include a private, loopback, link-local (the instance metadata service),
    reserved or otherwise non-public one. `addresses` None: the URL's form only, for a
    sender that resolves the host and checks each address itself as it connects."""
    if len(url) > MAX_URL or not url.isascii() or not url.isprintable():
        raise ValidationFailedError("url", f"must be at most {MAX_URL} printable ASCII characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a bracketed host that is not an IPv6 address, among others
        raise ValidationFailedError("url", "is not a URL") from None
    if not host or parts.username is not None or parts.password is not None:
        raise ValidationFailedError("url", "must name a host, and no user or password")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValidationFailedError("url", "has a port that is not a number") from None
    if parts.scheme == "http" and local and is_loopback_host(host):
        return url
    if parts.scheme != "https":
        allowed = "https (or http to a loopback host in local mode)" if local else "https"
        raise ValidationFailedError("url", f"must be {allowed}")
    if local or addresses is None:
        return url
    try:
        found = addresses(host)
    except OSError:
        raise ValidationFailedError("url", f"host {host!r} does not resolve") from None
    check_addresses(host, found)
    return url


def check_addresses(host: str, found: list[str]) -> None:
    """ValidationFailedError("url", why) unless `host` resolved, and only to public addresses."""
    if not found:
        raise ValidationFailedError("url", f"host {host!r} does not resolve")
    for text in found:
        if not _public(ipaddress.ip_address(text.split("%")[0])):
            raise ValidationFailedError(
                "url", f"host {host!r} resolves to a private or reserved address ({text})"
            )


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, and so is any IPv4 address inside an IPv6 one (mapped, compatible, NAT64,
    6to4, Teredo), which a gateway or a dual-stack socket would reach; Python calls several
    of those global whatever they carry."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    inner = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return all(each is None or each.is_global for each in inner)


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback address: a receiver on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_events(events: list[str]) -> tuple[str, ...]:
    """The event types an endpoint subscribes to: ["*"] alone, or known types."""
    if not events:
        raise ValidationFailedError("events", 'name at least one event type, or "*" for all')
    if EVERY_EVENT in events:
        if len(events) > 1:
            raise ValidationFailedError("events", '"*" already means every event; send it alone')
        return (EVERY_EVENT,)
    known = event_types()
    unknown = sorted({e for e in events if e not in known})
    if unknown:
        raise ValidationFailedError("events", f"unknown event types: {', '.join(unknown[:5])}")
    return tuple(dict.fromkeys(events))
