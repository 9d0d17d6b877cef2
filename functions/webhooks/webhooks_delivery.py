"""One delivery, before any state is touched: size, provider, signature on the raw body, then
parsing. Every refusal is a WebhookRefused with its status, every signed body Tenure cannot
read a RejectedEvent; nothing here writes anything."""

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from webhooks_secrets import may_refresh, secrets_for

from tenure.webhooks.errors import MalformedEventError, PayloadTooLargeError, SignatureError
from tenure.webhooks.model import ProviderEvent, RejectedEvent, body_event_id
from tenure.webhooks.providers import WebhookProvider


def raw_body(event: APIGatewayProxyEventV2, limit: int) -> bytes:
    """The bytes the provider sent (the signature is over them, not over parsed JSON)."""
    text = event.body or ""
    if len(text) > limit * 4 // 3 + 4:  # too long even as base64: refuse before decoding
        raise PayloadTooLargeError(f"body is over {limit} bytes")
    if event.is_base64_encoded:
        try:
            body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedEventError("body is not valid base64") from None
    else:
        body = text.encode("utf-8")
    if len(body) > limit:
        raise PayloadTooLargeError(f"body is over {limit} bytes")
    return body


def lower_headers(event: APIGatewayProxyEventV2) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.headers or {}).items()}


def verified_event(
    provider: WebhookProvider, body: bytes, headers: Mapping[str, str], now: datetime
) -> ProviderEvent | RejectedEvent:
    """Verify the signature with the provider's current secrets (fetching them again once if
    none matches: a rotation may have happened), then parse.

    Before the signature is verified every refusal is a WebhookRefused (4xx: the sender may
    not be the provider). After, the body is the provider's own and a retry would bring the
    same bytes: a body Tenure cannot read is a RejectedEvent, which the handler records and
    acknowledges."""
    at = int(now.timestamp())
    try:
        provider.verify(body, headers, secrets_for(provider.name), at)
    except SignatureError:
        if not may_refresh():
            raise
        provider.verify(body, headers, secrets_for(provider.name, refresh=True), at)
    try:
        return provider.parse(body, headers)
    except MalformedEventError as exc:
        return _rejected(provider, body, headers, exc.message)
    except Exception as exc:  # parsing is pure: whatever it raises, the body caused
        # A parser bug, not a provider's: recorded and logged as one (the detail), yet not a
        # 5xx, since a retry would fail on the same bytes for days.
        return _rejected(provider, body, headers, "the event cannot be read", type(exc).__name__)


def _rejected(
    provider: WebhookProvider,
    body: bytes,
    headers: Mapping[str, str],
    reason: str,
    detail: str | None = None,
) -> RejectedEvent:
    event_id = provider.event_id(body, headers) or body_event_id(body)
    return RejectedEvent(provider.name, event_id, reason, detail)
