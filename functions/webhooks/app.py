"""Payment-provider webhooks: POST /webhooks/{provider}, verified on the raw body, applied once.

2xx once the event is durably recorded (or known, ignored, or not Tenure's); 400 for a bad
or missing signature, a stale timestamp, a malformed header or an unsigned malformed body;
413 over the size limit; 404 for an unknown provider; 2xx with `"result": "rejected"` for a
validly signed body Tenure cannot read (recorded: a retry would bring the same bytes); 5xx
only when something failed on our side, so the provider retries.
"""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from webhooks_delivery import lower_headers, raw_body, verified_event

from tenure import bootstrap
from tenure.services.context import Services
from tenure.services.provider_events import (
    Applied,
    apply_provider_event,
    record_rejected_event,
)
from tenure.webhooks.errors import WebhookRefused
from tenure.webhooks.model import RejectedEvent
from tenure.webhooks.providers import link_namespace, provider

SERVICE = "tenure-webhooks"
logger = Logger(service=SERVICE)
emf = Metrics()
app = APIGatewayHttpResolver()
_METRIC = {
    Applied.APPLIED: "WebhookApplied",
    Applied.DUPLICATE: "WebhookDuplicate",
    Applied.IGNORED: "WebhookIgnored",
    Applied.UNMATCHED: "WebhookUnmatched",
    Applied.UNCHANGED: "WebhookUnchanged",
    Applied.REJECTED: "WebhookRejected",
}


@app.post("/webhooks/<name>")
def receive(name: str) -> Response[Any]:
    source = provider(name)
    wired = bootstrap.wiring()
    body = raw_body(app.current_event, wired.settings.max_body_bytes)
    svc = wired.services
    event = verified_event(source, body, lower_headers(app.current_event), svc.clock.now())
    if isinstance(event, RejectedEvent):
        return _rejected(svc, event)
    gateway = svc.gateway.name if svc.gateway is not None else None
    applied = apply_provider_event(svc, event, link_namespace(source.name, gateway))
    emf.add_metric(name=_METRIC[applied], unit=MetricUnit.Count, value=1)
    fields = {"provider": source.name, "type": event.type, "event_id": event.event_id}
    if applied is Applied.IGNORED:
        logger.debug("webhook of an unhandled type ignored", extra=fields)
    else:
        logger.info("webhook received", extra=fields | {"result": str(applied)})
    return _json(200, {"received": True, "result": str(applied)})


def _rejected(svc: Services, rejected: RejectedEvent) -> Response[Any]:
    applied = record_rejected_event(svc, rejected)
    emf.add_metric(name=_METRIC[applied], unit=MetricUnit.Count, value=1)
    fields: dict[str, str | None] = {"provider": rejected.provider, "event_id": rejected.event_id}
    fields |= {"reason": rejected.reason, "detail": rejected.detail}
    # An error: a provider's signed event that Tenure cannot read is either a new shape to
    # learn or a parser bug (`detail` then names the exception).
    logger.error("signed webhook rejected", extra=fields)
    return _json(200, {"received": True, "result": str(applied), "reason": rejected.reason})


@logger.inject_lambda_context
@emf.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
    return app.resolve(event, context)


# -- every refusal and failure answered here ---------------------------------------------------
def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, body)


@app.exception_handler(WebhookRefused)
def _refused(exc: WebhookRefused) -> Response[Any]:
    # The reason only: never the body or the signature the caller sent.
    logger.info("webhook refused", extra={"status": exc.status, "reason": exc.error})
    emf.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    return _json(exc.status, {"error": exc.error, "message": exc.message})


@app.not_found
def _unknown_route(exc: RouteNotFoundError) -> Response[Any]:
    emf.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    event = app.current_event
    message = f"no route for {event.http_method.upper()} {event.path}"
    return _json(404, {"error": "not_found", "message": message})


@app.exception_handler(Exception)
def _failed(exc: Exception) -> Response[Any]:
    # A 5xx makes the provider retry: the event is not lost, and the marker (not committed)
    # lets the retry apply it once.
    logger.exception("webhook failed", extra={"route": app.current_event.path})
    emf.add_metric(name="WebhookFailed", unit=MetricUnit.Count, value=1)
    return _json(500, {"error": "internal_error", "message": "not recorded; retry later"})


cold_start.done()
