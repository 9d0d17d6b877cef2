"""The providers the webhook endpoint accepts, each with its signature check and parser."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tenure.webhooks import razorpay_events, stripe_events
from tenure.webhooks.errors import UnknownProviderError
from tenure.webhooks.model import ProviderEvent

Verify = Callable[[bytes, Mapping[str, str], Sequence[str], int], None]
Parse = Callable[[bytes, Mapping[str, str]], ProviderEvent]
Sign = Callable[[bytes, str, int], dict[str, str]]
EventId = Callable[[bytes, Mapping[str, str]], str | None]


@dataclass(frozen=True, slots=True)
class WebhookProvider:
    name: str
    signature_header: str
    verify: Verify  # raises SignatureError; `now` in unix seconds from the injected clock
    parse: Parse  # raises MalformedEventError; unknown types come back as kind IGNORED
    sign: Sign  # the headers of a fresh delivery (tests, the replay tool, the simulator)
    # Payment gateways that speak this provider's wire format: the sandbox is Stripe-shaped,
    # and its events arrive at /webhooks/stripe.
    gateways: frozenset[str]
    # The event's id from a verified delivery whose body cannot be parsed, if it has one:
    # what its rejection is recorded under.
    event_id: EventId


PROVIDERS: dict[str, WebhookProvider] = {
    p.name: p
    for p in (
        WebhookProvider(
            stripe_events.NAME,
            stripe_events.SIGNATURE_HEADER,
            stripe_events.verify,
            stripe_events.parse,
            stripe_events.sign,
            frozenset({"stripe", "sandbox"}),
            stripe_events.event_id,
        ),
        WebhookProvider(
            razorpay_events.NAME,
            razorpay_events.SIGNATURE_HEADER,
            razorpay_events.verify,
            razorpay_events.parse,
            razorpay_events.sign,
            frozenset({"razorpay"}),
            razorpay_events.event_id_of,
        ),
    )
}


def provider(name: str) -> WebhookProvider:
    found = PROVIDERS.get(name.lower())
    if found is None:
        raise UnknownProviderError(f"no webhook provider named {name[:40]!r}")
    return found


def link_namespace(provider_name: str, gateway_name: str | None) -> str:
    """Under which provider name Tenure stored its links to this provider's objects: the
    configured gateway's when it speaks this provider's format, else the provider's own."""
    found = PROVIDERS.get(provider_name)
    if found is not None and gateway_name in found.gateways:
        return gateway_name
    return provider_name
