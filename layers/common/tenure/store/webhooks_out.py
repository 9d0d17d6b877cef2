"""Outbound webhook endpoints and deliveries on the table (docs/data-model.md): the DynamoDB
side of the WebhookOutStore port, mixed into DynamoRepository.

Endpoints share one partition (`WHOOK`, a business has a handful): listing them is one query.
A delivery is its own item (`WHDLV#{id}`), found by id for a replay, and listed per endpoint,
newest first, through GSI1 (`WHOOK#{endpoint}`). Deliveries expire 30 days after their last
change (TTL).
"""

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenure.domain.audit import AuditEntry
from tenure.domain.errors import ConcurrencyError
from tenure.domain.timeutil import iso, parse_iso
from tenure.domain.webhooks_out import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenure.store.codec import from_item, to_item
from tenure.store.event_items import in_table_order
from tenure.store.streams import CommittedEvent
from tenure.store.table import failed_condition

DELIVERY_KEPT = timedelta(days=30)
_ENDPOINTS = "WHOOK"


def _opt(text: Any) -> datetime | None:
    return parse_iso(text) if text else None


def endpoint_to_attrs(e: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": e.id,
        "url": e.url,
        "events": list(e.events),
        "secret": e.secret,
        "created_at": iso(e.created_at),
        "status": str(e.status),
        "disabled_reason": e.disabled_reason,
        "failing_since": iso(e.failing_since),
        "previous_secret": e.previous_secret,
        "previous_secret_until": iso(e.previous_secret_until),
    }


def endpoint_from_attrs(a: dict[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=a["id"],
        url=a["url"],
        events=tuple(a["events"]),
        secret=a["secret"],
        created_at=parse_iso(a["created_at"]),
        status=EndpointStatus(a["status"]),
        disabled_reason=a.get("disabled_reason"),
        failing_since=_opt(a.get("failing_since")),
        previous_secret=a.get("previous_secret"),
        previous_secret_until=_opt(a.get("previous_secret_until")),
    )


def delivery_to_attrs(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "payload": d.payload,
        "created_at": iso(d.created_at),
        "window_start": iso(d.window_start),
        "status": str(d.status),
        "attempts": d.attempts,
        "failures": d.failures,
        "next_attempt_at": iso(d.next_attempt_at),
        "last_attempt_at": iso(d.last_attempt_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
    }


def delivery_from_attrs(a: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=a["id"],
        endpoint_id=a["endpoint_id"],
        event_id=a["event_id"],
        event_type=a["event_type"],
        payload=a["payload"],
        created_at=parse_iso(a["created_at"]),
        window_start=parse_iso(a["window_start"]),
        status=DeliveryStatus(a["status"]),
        attempts=int(a["attempts"]),
        failures=int(a["failures"]),
        next_attempt_at=_opt(a.get("next_attempt_at")),
        last_attempt_at=_opt(a.get("last_attempt_at")),
        last_status=None if a.get("last_status") is None else int(a["last_status"]),
        last_error=a.get("last_error"),
        version=int(a.get("version", 0)),
    )


class DynamoWebhookOut:
    """The WebhookOutStore role of DynamoRepository (which gives `_ddb`, `_table`, `_get`,
    `_query` and `_gsi1`)."""

    _ddb: Any
    _table: str

    if TYPE_CHECKING:  # DynamoRepository's own

        def _get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
        def _audit_puts(self, entry: AuditEntry) -> list[dict[str, Any]]: ...
        def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]: ...
        def _by_day(
            self, prefix: str, start: datetime, end: datetime
        ) -> Iterator[dict[str, Any]]: ...

    def committed_events_between(self, start: datetime, end: datetime) -> list[CommittedEvent]:
        """Domain events with start <= occurred_at < end, with their objects' versions, as the
        stream would hand them over: for `tenure serve`, which has no stream to read."""
        return [
            CommittedEvent(body["type"], body, version)
            for body, version in in_table_order(self._by_day("EVT", start, end))
        ]

    def _write_audited(self, kind: str, op: dict[str, Any], audit: AuditEntry | None) -> bool:
        """One conditional write (`kind` is "Put", "Delete" or "Update", `op` its request as
        TransactWriteItems takes it), alone or with `audit`'s puts in one transaction.
        False: its condition failed, and nothing was written."""
        try:
            if audit is None:
                call = {"Put": "put_item", "Delete": "delete_item", "Update": "update_item"}
                getattr(self._ddb, call[kind])(TableName=self._table, **op)
            else:
                every = [{kind: {"TableName": self._table, **op}}, *self._audit_puts(audit)]
                self._ddb.transact_write_items(TransactItems=every)
        except ClientError as exc:
            if failed_condition(exc):
                return False
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def add_webhook_endpoint(
        self, endpoint: WebhookEndpoint, audit: AuditEntry | None = None
    ) -> None:
        item = {"PK": _ENDPOINTS, "SK": f"EP#{endpoint.id}", "entity": "webhook_endpoint"}
        # Absent rather than NULL: the failure notes test whether the attribute exists.
        attrs = {k: v for k, v in endpoint_to_attrs(endpoint).items() if v is not None}
        op = {"Item": to_item(item | attrs), "ConditionExpression": "attribute_not_exists(PK)"}
        if not self._write_audited("Put", op, audit):
            raise ConcurrencyError(f"webhook endpoint {endpoint.id} exists")

    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        raw = self._get(_ENDPOINTS, f"EP#{endpoint_id}")
        return endpoint_from_attrs(raw) if raw else None

    def list_webhook_endpoints(self) -> list[WebhookEndpoint]:
        found = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :ep)",
            ExpressionAttributeValues=to_item({":pk": _ENDPOINTS, ":ep": "EP#"}),
            ConsistentRead=True,
        )
        return [endpoint_from_attrs(raw) for raw in found]

    def delete_webhook_endpoint(self, endpoint_id: str, audit: AuditEntry | None = None) -> bool:
        op = {
            "Key": to_item({"PK": _ENDPOINTS, "SK": f"EP#{endpoint_id}"}),
            "ConditionExpression": "attribute_exists(PK)",
        }
        return self._write_audited("Delete", op, audit)

    def _update_endpoint(
        self,
        endpoint_id: str,
        update: str,
        values: dict[str, Any],
        condition: str = "",
        audit: AuditEntry | None = None,
    ) -> bool:
        kwargs: dict[str, Any] = {
            "Key": to_item({"PK": _ENDPOINTS, "SK": f"EP#{endpoint_id}"}),
            "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(PK)"
            + (f" AND {condition}" if condition else ""),
        }
        if "#s" in update:
            kwargs["ExpressionAttributeNames"] = {"#s": "status"}
        if values:
            kwargs["ExpressionAttributeValues"] = to_item(values)
        return self._write_audited("Update", kwargs, audit)

    def enable_webhook_endpoint(self, endpoint_id: str, audit: AuditEntry | None = None) -> bool:
        return self._update_endpoint(
            endpoint_id,
            "SET #s = :on REMOVE disabled_reason, failing_since",
            {":on": str(EndpointStatus.ENABLED)},
            audit=audit,
        )

    def rotate_webhook_secret(
        self,
        endpoint_id: str,
        was: str,
        rotated: WebhookEndpoint,
        audit: AuditEntry | None = None,
    ) -> bool:
        # Only over the secret that was read: two rotations at once must not both answer a
        # secret as the new one (the first's would be overwritten unseen).
        named = {
            "previous_secret": rotated.previous_secret,
            "previous_secret_until": iso(rotated.previous_secret_until),
        }
        kept = {name: value for name, value in named.items() if value is not None}
        update = "SET " + ", ".join(["secret = :new", *(f"{n} = :{n}" for n in kept)])
        if gone := [name for name in named if name not in kept]:
            update += " REMOVE " + ", ".join(gone)
        values = {":new": rotated.secret, ":was": was} | {f":{n}": v for n, v in kept.items()}
        return self._update_endpoint(endpoint_id, update, values, "secret = :was", audit)

    def note_webhook_failure(self, endpoint_id: str, at: datetime) -> None:
        self._update_endpoint(
            endpoint_id,
            "SET failing_since = if_not_exists(failing_since, :at)",
            {":at": iso(at)},
        )

    def note_webhook_success(self, endpoint_id: str) -> None:
        self._update_endpoint(
            endpoint_id, "REMOVE failing_since", {}, "attribute_exists(failing_since)"
        )

    def disable_failing_webhook_endpoint(
        self, endpoint_id: str, since: datetime, reason: str
    ) -> bool:
        # ISO timestamps in UTC compare as text.
        return self._update_endpoint(
            endpoint_id,
            "SET #s = :off, disabled_reason = :why",
            {":off": str(EndpointStatus.DISABLED), ":why": reason, ":since": iso(since)},
            "failing_since <= :since",
        )

    def _delivery_item(self, d: WebhookDelivery, now: datetime) -> dict[str, Any]:
        return {
            "PK": f"WHDLV#{d.id}",
            "SK": "WHDLV",
            "GSI1PK": f"WHOOK#{d.endpoint_id}",
            "GSI1SK": f"{iso(d.created_at)}#{d.id}",
            "entity": "webhook_delivery",
            "expires_at": int((now + DELIVERY_KEPT).timestamp()),
        } | delivery_to_attrs(d)

    def add_webhook_delivery(self, delivery: WebhookDelivery) -> bool:
        item = self._delivery_item(delivery, delivery.created_at) | {"version": 1}
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if failed_condition(exc):
                return False  # an event delivered twice to the dispatcher: one delivery
            raise
        return True

    def get_webhook_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        raw = self._get(f"WHDLV#{delivery_id}", "WHDLV")
        return delivery_from_attrs(raw) if raw else None

    def save_webhook_delivery(
        self, delivery: WebhookDelivery, now: datetime, audit: AuditEntry | None = None
    ) -> WebhookDelivery:
        saved = replace(delivery, version=delivery.version + 1)
        item = self._delivery_item(delivery, now) | {"version": saved.version}
        op = {
            "Item": to_item(item),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": to_item({":v": delivery.version}),
        }
        if not self._write_audited("Put", op, audit):
            raise ConcurrencyError(f"webhook delivery {delivery.id} changed meanwhile")
        return saved

    def list_webhook_deliveries(self, endpoint_id: str, limit: int) -> list[WebhookDelivery]:
        page = self._ddb.query(
            TableName=self._table,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=to_item({":pk": f"WHOOK#{endpoint_id}"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [delivery_from_attrs(from_item(raw)) for raw in page.get("Items", [])]
