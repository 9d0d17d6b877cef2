"""Outbound webhooks, the use cases: register and manage the business's endpoints, turn a
committed domain event into one delivery per endpoint that wants it, try a delivery, replay
one (docs/webhooks-outbound.md)."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from tenure.domain.audit import SYSTEM_API, AuditAction, AuditEntry, endpoint_entry
from tenure.domain.errors import ConcurrencyError, NotFoundError, ValidationFailedError
from tenure.domain.timeutil import iso, parse_iso
from tenure.domain.webhooks_out import (
    LONGEST_PREVIOUS_SECRET,
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
    check_events,
    check_url,
    delivery_id,
    new_secret,
    payload,
    signed_headers,
)
from tenure.services.context import Services
from tenure.services.outbox import SOURCE

Addresses = Callable[[str], list[str]]
Token = Callable[[int], bytes]
GAVE_UP = "every try failed for 3 days"


class SendFailedError(Exception):
    """No answer from the receiver (refused, timed out, not allowed): a failed try."""


class WebhookSender(Protocol):
    def post(self, url: str, headers: dict[str, str], body: str) -> int:
        """POST `body`; the receiver's HTTP status, or SendFailedError when none came."""
        ...


class WebhookQueue(Protocol):
    def due(self, delivery_id: str, at: datetime) -> None:
        """Hand the delivery to the dispatcher again at `at` (or as soon after as it can)."""
        ...


DELIVERY_MESSAGE = "webhook_delivery"


@dataclass(frozen=True, slots=True)
class DeliveryDue:
    """The dispatcher's queue message for a delivery to try at `due_at`."""

    delivery_id: str
    due_at: datetime

    def to_message(self) -> dict[str, str]:
        return {
            "kind": DELIVERY_MESSAGE,
            "delivery_id": self.delivery_id,
            "due_at": str(iso(self.due_at)),
        }


@dataclass(frozen=True, slots=True)
class EventCommitted:
    """A committed domain event as the bus hands it to the dispatcher's queue."""

    event: dict[str, Any]
    version: int | None


class UnreadableMessageError(ValueError):
    """A queue message that is neither a delivery due nor a Tenure event."""


def parse_message(message: Any) -> DeliveryDue | EventCommitted:
    """The dispatcher's messages: its own (`DeliveryDue.to_message`), or an EventBridge event
    from Tenure's bus (the rule's target is the queue), whose detail is the event's public
    form with `object_version` beside it."""
    if not isinstance(message, dict):
        raise UnreadableMessageError("a message is a JSON object")
    try:
        if message.get("kind") == DELIVERY_MESSAGE:
            return DeliveryDue(str(message["delivery_id"]), parse_iso(str(message["due_at"])))
        detail = message["detail"]
        if message.get("source") != SOURCE or not isinstance(detail, dict):
            raise UnreadableMessageError("not an event from Tenure's bus")
        if not isinstance(detail.get("id"), str) or not isinstance(detail.get("type"), str):
            raise UnreadableMessageError("an event names its id and type")
        event = {k: v for k, v in detail.items() if k != "object_version"}
        version = detail.get("object_version")
        return EventCommitted(event, version if isinstance(version, int) else None)
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, UnreadableMessageError):
            raise
        raise UnreadableMessageError(f"unreadable message: {type(exc).__name__} {exc}") from exc


def dispatch(
    svc: Services,
    sender: WebhookSender,
    queue: WebhookQueue,
    message: DeliveryDue | EventCommitted,
    *,
    url_allowed: Callable[[str], None] = lambda url: None,
) -> list[WebhookDelivery]:
    """One message of the dispatcher's queue, handled: an event becomes its deliveries, each
    tried at once; a delivery due is tried, or handed back to the queue when its time has not
    come. Whatever is still pending afterwards goes back to the queue for its next try, so a
    message handled twice (at least once) never loses one."""
    if isinstance(message, DeliveryDue):
        if message.due_at > svc.clock.now():
            queue.due(message.delivery_id, message.due_at)
            return []
        ids = [message.delivery_id]
    else:
        made = fan_out(svc, message.event, message.version)
        ids = [d.id for d in made if d.status is DeliveryStatus.PENDING]
    tried = []
    for each in ids:
        after = attempt(svc, sender, each, url_allowed=url_allowed)
        if after is None:
            continue
        tried.append(after)
        if after.status is DeliveryStatus.PENDING and after.next_attempt_at is not None:
            queue.due(after.id, after.next_attempt_at)
    return tried


def register_endpoint(
    svc: Services,
    url: str,
    events: list[str],
    *,
    local: bool,
    addresses: Addresses,
    token: Token = secrets.token_bytes,
    actor: str = SYSTEM_API,
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret; a refused URL or event list stores nothing. Each
    change to endpoints (and each replay) writes an audit entry naming `actor` with it."""
    chosen = check_events(events)
    checked = check_url(url, local=local, addresses=addresses)
    endpoint = WebhookEndpoint(
        id=f"we_{token(12).hex()}",
        url=checked,
        events=chosen,
        secret=new_secret(token(24)),
        created_at=svc.clock.now(),
    )
    audit = endpoint_entry(
        at=endpoint.created_at,
        actor=actor,
        action=AuditAction.ENDPOINT_REGISTERED,
        entity=endpoint.id,
        after={"url": endpoint.url, "events": " ".join(endpoint.events)},
    )
    svc.repo.add_webhook_endpoint(endpoint, audit)
    return endpoint


def list_endpoints(svc: Services) -> list[WebhookEndpoint]:
    return svc.repo.list_webhook_endpoints()


def get_endpoint(svc: Services, endpoint_id: str) -> WebhookEndpoint:
    found = svc.repo.get_webhook_endpoint(endpoint_id)
    if found is None:
        raise NotFoundError("webhook endpoint", endpoint_id)
    return found


def _entry(svc: Services, actor: str, action: AuditAction, entity: str) -> AuditEntry:
    return endpoint_entry(at=svc.clock.now(), actor=actor, action=action, entity=entity, after={})


def delete_endpoint(svc: Services, endpoint_id: str, actor: str = SYSTEM_API) -> None:
    """Deleted: its pending deliveries stop at their next try."""
    audit = _entry(svc, actor, AuditAction.ENDPOINT_DELETED, endpoint_id)
    if not svc.repo.delete_webhook_endpoint(endpoint_id, audit):
        raise NotFoundError("webhook endpoint", endpoint_id)


def enable_endpoint(svc: Services, endpoint_id: str, actor: str = SYSTEM_API) -> WebhookEndpoint:
    """Enabled again (for events from now on; replay the deliveries it missed)."""
    audit = _entry(svc, actor, AuditAction.ENDPOINT_ENABLED, endpoint_id)
    if not svc.repo.enable_webhook_endpoint(endpoint_id, audit):
        raise NotFoundError("webhook endpoint", endpoint_id)
    return get_endpoint(svc, endpoint_id)


def rotate_secret(
    svc: Services,
    endpoint_id: str,
    previous_valid_for: timedelta = LONGEST_PREVIOUS_SECRET,
    *,
    token: Token = secrets.token_bytes,
    actor: str = SYSTEM_API,
) -> WebhookEndpoint:
    """A new secret for the endpoint, answered once (as at registration). Deliveries sent in
    the next `previous_valid_for` (0 to 24 hours; 0: the old secret stops at once) carry a
    signature under the old secret too; a secret rotated before then is dropped. Two
    rotations at once: one wins, the other is a ConcurrencyError (409) and changes nothing."""
    if not timedelta(0) <= previous_valid_for <= LONGEST_PREVIOUS_SECRET:
        raise ValidationFailedError(
            "previous_secret_expires_in", "must be from 0 to 86400 seconds (24 hours)"
        )
    endpoint = get_endpoint(svc, endpoint_id)
    now = svc.clock.now()
    rotated = replace(
        endpoint,
        secret=new_secret(token(24)),
        previous_secret=endpoint.secret if previous_valid_for else None,
        previous_secret_until=now + previous_valid_for if previous_valid_for else None,
    )
    audit = endpoint_entry(
        at=now,
        actor=actor,
        action=AuditAction.ENDPOINT_SECRET_ROTATED,
        entity=endpoint_id,
        after={"previous_secret_until": iso(rotated.previous_secret_until) or ""},
        nonce=rotated.secret,  # hashed into the id: two rotations in one instant, two entries
    )
    if not svc.repo.rotate_webhook_secret(endpoint_id, endpoint.secret, rotated, audit):
        if svc.repo.get_webhook_endpoint(endpoint_id) is None:
            raise NotFoundError("webhook endpoint", endpoint_id)
        raise ConcurrencyError("the endpoint's secret was rotated at the same time; read it again")
    return rotated


def list_deliveries(svc: Services, endpoint_id: str, limit: int) -> list[WebhookDelivery]:
    get_endpoint(svc, endpoint_id)
    return svc.repo.list_webhook_deliveries(endpoint_id, limit)


def fan_out(svc: Services, event: dict[str, Any], version: int | None) -> list[WebhookDelivery]:
    """One pending delivery, due now, per enabled endpoint that wants `event` (a committed
    event's public form). An event seen again makes none twice: those made before come back
    as they stand, so the caller tries whatever is still pending."""
    now = svc.clock.now()
    made = []
    for endpoint in svc.repo.list_webhook_endpoints():
        if not endpoint.wants(str(event["type"])):
            continue
        delivery = WebhookDelivery(
            id=delivery_id(endpoint.id, str(event["id"])),
            endpoint_id=endpoint.id,
            event_id=str(event["id"]),
            event_type=str(event["type"]),
            payload=payload(event, version),
            created_at=now,
            window_start=now,
            next_attempt_at=now,
        )
        if svc.repo.add_webhook_delivery(delivery):
            made.append(delivery)
        else:
            earlier = svc.repo.get_webhook_delivery(delivery.id)
            if earlier is not None:
                made.append(earlier)
    return made


def attempt(
    svc: Services,
    sender: WebhookSender,
    delivery_id_: str,
    *,
    url_allowed: Callable[[str], None] = lambda url: None,
) -> WebhookDelivery | None:
    """Try a delivery that is due: sign it now, send it, record the answer. Returns the
    delivery as it stands after (its next_attempt_at says when to come back, if ever); one
    not due, or no longer pending, is returned untouched. `url_allowed` re-checks the URL
    before sending (deployed: the host may resolve elsewhere than when it was registered)."""
    delivery = svc.repo.get_webhook_delivery(delivery_id_)
    now = svc.clock.now()
    if delivery is None or delivery.status is not DeliveryStatus.PENDING:
        return delivery
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return delivery
    endpoint = svc.repo.get_webhook_endpoint(delivery.endpoint_id)
    if endpoint is None or endpoint.status is EndpointStatus.DISABLED:
        why = "the endpoint was deleted" if endpoint is None else "the endpoint is disabled"
        return _save(svc, delivery.stopped(why))
    current, *previous = endpoint.secrets_at(now)
    headers = signed_headers(current, delivery.id, now, delivery.payload, *previous)
    status: int | None = None
    try:
        url_allowed(endpoint.url)
        status = sender.post(endpoint.url, headers, delivery.payload)
        error = f"answered {status}"
    except (SendFailedError, ValidationFailedError) as exc:
        # Refused by the URL check counts as a failed try: the host may point back out.
        error = str(exc) or type(exc).__name__
    # The endpoint's notes are written only when they change, as the endpoint read says.
    if status is not None and 200 <= status < 300:
        if endpoint.failing_since is not None:
            svc.repo.note_webhook_success(endpoint.id)
        return _save(svc, delivery.succeeded(now, status))
    after = delivery.failed(now, status, error)
    if endpoint.failing_since is None:
        svc.repo.note_webhook_failure(endpoint.id, now)
    if after.status is DeliveryStatus.FAILED:
        svc.repo.disable_failing_webhook_endpoint(endpoint.id, delivery.window_start, GAVE_UP)
    return _save(svc, after)


def replay(svc: Services, delivery_id_: str, actor: str = SYSTEM_API) -> WebhookDelivery:
    """Due again now, whatever became of it, with 3 fresh days of tries."""
    delivery = svc.repo.get_webhook_delivery(delivery_id_)
    if delivery is None:
        raise NotFoundError("webhook delivery", delivery_id_)
    get_endpoint(svc, delivery.endpoint_id)
    audit = _entry(svc, actor, AuditAction.DELIVERY_REPLAYED, delivery.id)
    audit = replace(audit, after={"endpoint": delivery.endpoint_id, "event": delivery.event_id})
    saved = _save(svc, delivery.replayed(svc.clock.now()), audit)
    if saved is None or saved.status is not DeliveryStatus.PENDING:
        raise ConcurrencyError(f"webhook delivery {delivery_id_} was tried meanwhile; replay again")
    return saved


def _save(
    svc: Services, delivery: WebhookDelivery, audit: AuditEntry | None = None
) -> WebhookDelivery | None:
    try:
        return svc.repo.save_webhook_delivery(delivery, svc.clock.now(), audit)
    except ConcurrencyError:
        # Another try wrote first (a message seen twice): its record stands, and the
        # receiver may have had the event twice, which at-least-once allows.
        return svc.repo.get_webhook_delivery(delivery.id)
