"""The WebhookOutStore role on dicts, mixed into the in-memory repository (tenure.fakes),
with the same conditions as the DynamoDB store (tenure.store.webhooks_out)."""

import bisect
from dataclasses import replace
from datetime import datetime

from tenure.domain.audit import AuditEntry
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError
from tenure.domain.webhooks_out import EndpointStatus, WebhookDelivery, WebhookEndpoint


class InMemoryWebhookOut:
    """Endpoints and deliveries kept apart from the repository's other records, so a run
    with no endpoint registered stores exactly what it stored before."""

    @property
    def _endpoints(self) -> dict[str, WebhookEndpoint]:
        found: dict[str, WebhookEndpoint] = self.__dict__.setdefault("_webhook_endpoints", {})
        return found

    @property
    def _deliveries(self) -> dict[str, WebhookDelivery]:
        found: dict[str, WebhookDelivery] = self.__dict__.setdefault("_webhook_deliveries", {})
        return found

    def _audited(self, audit: AuditEntry | None) -> None:
        """Keep an operator's entry with the change (the repository's own list, in order)."""
        if audit is None:
            return
        entries: list[AuditEntry] = self.__dict__.setdefault("audit", [])
        if any(e.id == audit.id for e in entries):
            raise AlreadyExistsError("audit", audit.id)
        bisect.insort(entries, audit, key=lambda e: e.order)

    def add_webhook_endpoint(
        self, endpoint: WebhookEndpoint, audit: AuditEntry | None = None
    ) -> None:
        if endpoint.id in self._endpoints:
            raise ConcurrencyError(f"webhook endpoint {endpoint.id} exists")
        self._audited(audit)
        self._endpoints[endpoint.id] = endpoint

    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        return self._endpoints.get(endpoint_id)

    def list_webhook_endpoints(self) -> list[WebhookEndpoint]:
        return [self._endpoints[k] for k in sorted(self._endpoints)]  # the table's key order

    def delete_webhook_endpoint(self, endpoint_id: str, audit: AuditEntry | None = None) -> bool:
        if endpoint_id not in self._endpoints:
            return False
        self._audited(audit)
        del self._endpoints[endpoint_id]
        return True

    def enable_webhook_endpoint(self, endpoint_id: str, audit: AuditEntry | None = None) -> bool:
        found = self._endpoints.get(endpoint_id)
        if found is None:
            return False
        self._audited(audit)
        self._endpoints[endpoint_id] = replace(
            found, status=EndpointStatus.ENABLED, disabled_reason=None, failing_since=None
        )
        return True

    def rotate_webhook_secret(
        self,
        endpoint_id: str,
        was: str,
        rotated: WebhookEndpoint,
        audit: AuditEntry | None = None,
    ) -> bool:
        found = self._endpoints.get(endpoint_id)
        if found is None or found.secret != was:
            return False
        self._audited(audit)
        self._endpoints[endpoint_id] = replace(
            found,
            secret=rotated.secret,
            previous_secret=rotated.previous_secret,
            previous_secret_until=rotated.previous_secret_until,
        )
        return True

    def note_webhook_failure(self, endpoint_id: str, at: datetime) -> None:
        found = self._endpoints.get(endpoint_id)
        if found is not None and found.failing_since is None:
            self._endpoints[endpoint_id] = replace(found, failing_since=at)

    def note_webhook_success(self, endpoint_id: str) -> None:
        found = self._endpoints.get(endpoint_id)
        if found is not None and found.failing_since is not None:
            self._endpoints[endpoint_id] = replace(found, failing_since=None)

    def disable_failing_webhook_endpoint(
        self, endpoint_id: str, since: datetime, reason: str
    ) -> bool:
        found = self._endpoints.get(endpoint_id)
        if found is None or found.failing_since is None or found.failing_since > since:
            return False
        self._endpoints[endpoint_id] = replace(
            found, status=EndpointStatus.DISABLED, disabled_reason=reason
        )
        return True

    def add_webhook_delivery(self, delivery: WebhookDelivery) -> bool:
        if delivery.id in self._deliveries:
            return False
        self._deliveries[delivery.id] = replace(delivery, version=1)
        return True

    def get_webhook_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        return self._deliveries.get(delivery_id)

    def save_webhook_delivery(
        self, delivery: WebhookDelivery, now: datetime, audit: AuditEntry | None = None
    ) -> WebhookDelivery:
        stored = self._deliveries.get(delivery.id)
        if stored is None or stored.version != delivery.version:
            raise ConcurrencyError(f"webhook delivery {delivery.id} changed meanwhile")
        self._audited(audit)
        saved = replace(delivery, version=delivery.version + 1)
        self._deliveries[delivery.id] = saved
        return saved

    def list_webhook_deliveries(self, endpoint_id: str, limit: int) -> list[WebhookDelivery]:
        mine = [d for d in self._deliveries.values() if d.endpoint_id == endpoint_id]
        mine.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return mine[:limit]
