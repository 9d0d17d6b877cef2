"""The renewal queue's messages: due work as the JSON that deployed queues hold.

A message is `{"id", "due_at", "kind"}`, with `"customer"` (a read hint) and, for a
subscription's work, `"subscription"` (the subscription as the table holds it, so the
charger renews without reading it). Messages queued before `id` existed name it
`subscription_id`. The format only ever gains fields.
"""

import json
from typing import Any

from tenure.domain.due import DueKind
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.ports import DueItem, DueMessage
from tenure.store import codec

KINDS = frozenset(str(kind) for kind in DueKind)


class InvalidDueMessageError(ValueError):
    """Not a due-work message: the charger fails it, so SQS moves it to the DLQ after its
    receives."""


def due_message_body(item: DueItem) -> str:
    body: dict[str, Any] = {
        "id": item.entity_id,
        "due_at": iso(item.due_at),
        "kind": str(item.kind),
    }
    if item.customer_id:
        body["customer"] = item.customer_id
    if item.subscription is not None:
        body["subscription"] = codec.subscription_to_attrs(item.subscription)
    return json.dumps(body)


def parse_due_message(body: str) -> DueMessage:
    """The due work a message carries; InvalidDueMessageError when it carries none. A
    subscription it carries that cannot be read is only a lost shortcut (see DueMessage)."""
    try:
        data = json.loads(body)
        kind, entity_id = data["kind"], data.get("id") or data["subscription_id"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidDueMessageError("the message is not due work") from exc
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidDueMessageError(f"unknown kind of due work: {kind!r}")
    if not isinstance(entity_id, str):
        raise InvalidDueMessageError(f"the due work's id is not text: {entity_id!r}")
    customer = data.get("customer")
    carried = data.get("subscription")
    snapshot = _snapshot(carried, entity_id)
    return DueMessage(
        DueKind(kind),
        entity_id,
        customer if isinstance(customer, str) and customer else None,
        snapshot,
        snapshot_unreadable=carried is not None and snapshot is None,
    )


def _snapshot(attrs: Any, entity_id: str) -> Subscription | None:
    if attrs is None:
        return None
    try:
        sub = codec.subscription_from_attrs(attrs)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return sub if sub is not None and sub.id == entity_id else None
