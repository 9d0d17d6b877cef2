"""Routes for the business's webhook endpoints (Standard Webhooks): register, list, read,
delete, enable again; each endpoint's delivery log; replay a delivery."""

from datetime import timedelta
from typing import Annotated, TypedDict

from api_guard import BEARER
from api_routes_operator import actor
from api_schemas import PATH_ID_PATTERN
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from tenure import bootstrap
from tenure.domain.timeutil import iso
from tenure.domain.webhooks_out import WebhookDelivery, WebhookEndpoint
from tenure.services import webhooks_out
from tenure.webhooks_out_http import resolve_addresses

router = APIGatewayHttpRouter()

Id = Annotated[str, Path(pattern=PATH_ID_PATTERN)]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    url: str = Field(max_length=2048, description="https (http to a loopback host locally)")
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=100, description='event types (docs/events.md), or ["*"] for every one'
    )


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    previous_secret_expires_in: StrictInt = Field(
        default=86_400,
        ge=0,
        le=86_400,
        description="seconds the old secret still signs deliveries (beside the new one); 0: "
        "it stops at once",
    )


class WebhookEndpointView(TypedDict):
    id: str
    url: str
    events: list[str]
    status: str
    disabled_reason: str | None
    failing_since: str | None
    created_at: str


class WebhookEndpointCreated(WebhookEndpointView):
    secret: str  # shown here only


class WebhookEndpointRotated(WebhookEndpointCreated):
    previous_secret_expires_at: str | None  # the old secret signs deliveries until then


class WebhookEndpointPage(TypedDict):
    data: list[WebhookEndpointView]


class WebhookEndpointDeleted(TypedDict):
    id: str
    deleted: bool


class WebhookDeliveryView(TypedDict):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_status: int | None
    last_error: str | None


class WebhookDeliveryPage(TypedDict):
    data: list[WebhookDeliveryView]


def _view(e: WebhookEndpoint) -> WebhookEndpointView:
    return {
        "id": e.id,
        "url": e.url,
        "events": list(e.events),
        "status": str(e.status),
        "disabled_reason": e.disabled_reason,
        "failing_since": iso(e.failing_since),
        "created_at": str(iso(e.created_at)),
    }


def _delivery(d: WebhookDelivery) -> WebhookDeliveryView:
    return WebhookDeliveryView(**d.to_dict())  # type: ignore[typeddict-item]


TAGS = ["webhook endpoints"]


@router.post("/v1/webhook-endpoints", status_code=201, security=BEARER, tags=TAGS)
def create_webhook_endpoint(body: WebhookEndpointCreate) -> WebhookEndpointCreated:
    """Every domain event of the types named is POSTed to `url`, signed per Standard Webhooks
    with the `secret` returned here (and never again). A URL that is not https (http to a
    loopback host is allowed locally) or whose host resolves to a private, loopback or
    link-local address: 422, nothing stored."""
    wired = bootstrap.wiring()
    endpoint = webhooks_out.register_endpoint(
        wired.services,
        body.url,
        body.events,
        local=wired.settings.environment == "local",
        addresses=resolve_addresses,
        actor=actor(),
    )
    return {**_view(endpoint), "secret": endpoint.secret}


@router.get("/v1/webhook-endpoints", security=BEARER, tags=TAGS)
def list_webhook_endpoints() -> WebhookEndpointPage:
    svc = bootstrap.wiring().services
    return {"data": [_view(e) for e in webhooks_out.list_endpoints(svc)]}


@router.get("/v1/webhook-endpoints/<endpoint_id>", security=BEARER, tags=TAGS)
def get_webhook_endpoint(endpoint_id: Id) -> WebhookEndpointView:
    return _view(webhooks_out.get_endpoint(bootstrap.wiring().services, endpoint_id))


@router.delete("/v1/webhook-endpoints/<endpoint_id>", security=BEARER, tags=TAGS)
def delete_webhook_endpoint(endpoint_id: Id) -> WebhookEndpointDeleted:
    """Deleted: nothing more is sent to it, pending deliveries included."""
    webhooks_out.delete_endpoint(bootstrap.wiring().services, endpoint_id, actor=actor())
    return {"id": endpoint_id, "deleted": True}


@router.post("/v1/webhook-endpoints/<endpoint_id>/enable", security=BEARER, tags=TAGS)
def enable_webhook_endpoint(endpoint_id: Id) -> WebhookEndpointView:
    """Enabled again after it was disabled for failing; events from now on are sent (replay
    the deliveries it missed)."""
    svc = bootstrap.wiring().services
    return _view(webhooks_out.enable_endpoint(svc, endpoint_id, actor=actor()))


@router.get("/v1/webhook-endpoints/<endpoint_id>/deliveries", security=BEARER, tags=TAGS)
def list_webhook_deliveries(
    endpoint_id: Id, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> WebhookDeliveryPage:
    """The endpoint's deliveries, newest first: status, tries, the last answer."""
    svc = bootstrap.wiring().services
    found = webhooks_out.list_deliveries(svc, endpoint_id, limit)
    return {"data": [_delivery(d) for d in found]}


@router.post("/v1/webhook-deliveries/<delivery_id>/replay", security=BEARER, tags=TAGS)
def replay_webhook_delivery(delivery_id: Id) -> WebhookDeliveryView:
    """Sent again now, whatever became of it, with the same `webhook-id` (a receiver that
    handled it already may drop it) and 3 fresh days of retries."""
    wired = bootstrap.wiring()
    delivery = webhooks_out.replay(wired.services, delivery_id, actor=actor())
    wired.webhook_queue().due(delivery.id, delivery.next_attempt_at or wired.services.clock.now())
    return _delivery(delivery)


@router.post("/v1/webhook-endpoints/<endpoint_id>/rotate-secret", security=BEARER, tags=TAGS)
def rotate_webhook_endpoint_secret(
    endpoint_id: Id, body: Annotated[SecretRotation, Body()] = SecretRotation()
) -> WebhookEndpointRotated:
    """A new `secret`, returned here only. Until `previous_secret_expires_at` (by default 24
    hours from now; at most that) each delivery carries a signature under the old secret as
    well, so the receiver can switch without refusing one. Rotating again drops the old one."""
    svc = bootstrap.wiring().services
    endpoint = webhooks_out.rotate_secret(
        svc, endpoint_id, timedelta(seconds=body.previous_secret_expires_in), actor=actor()
    )
    return {
        **_view(endpoint),
        "secret": endpoint.secret,
        "previous_secret_expires_at": iso(endpoint.previous_secret_until),
    }
