"""The HTTP API's resolver: request validation, the routes and the answer to every error.

Imported by the container's first request, not at its cold start (app.py): building the
resolver imports pydantic and Powertools' validation, and each route module brings its own
models and services. Only the route modules whose paths can match a request are imported
(`resolver_for`); the OpenAPI document imports them all."""

import importlib
import json
from functools import cache
from http import HTTPStatus
from typing import Any, TypedDict

from api_guard import (
    BEARER_SCHEME,
    Rejection,
    check_access,
    json_object_body,
    malformed_json,
    parse_json,
    refuse_ignored_body,
    takes_forms,
)
from api_idempotency import idempotent_posts
from api_schemas import with_error_responses
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.types import EventHandlerInstance

from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    DomainError,
    FieldRuleError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.payments.gateway import (
    GatewayError,
    IdempotencyConflictError,
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from tenure.services.self_service import NothingToOpenError

logger = Logger(service="tenure-api", child=True)


class _GuardedValidation(OpenAPIRequestValidationMiddleware):
    """Request validation behind the token and size checks. Powertools runs it first on every
    route (an unknown one too), so the checks run here once per request, before any field is
    validated or any body is parsed: a caller without a token learns nothing about its body.

    It also reads a JSON route's body only as a JSON object sent as application/json.
    Powertools would also read form and multipart bodies, and take the JSON `null` for no body
    at all: a body sent in another shape is refused, never ignored."""

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        check_access(app.current_event)
        return super().handler(app, next_middleware)

    def _get_body(self, app: EventHandlerInstance) -> Any:
        if takes_forms(app.current_event):
            return super()._get_body(app)
        return json_object_body(app.current_event)


app = APIGatewayHttpResolver(
    enable_validation=True,
    # A response that does not match its declared shape is our bug: 500, never a 422.
    response_validation_error_http_code=500,
    json_body_deserializer=parse_json,
)
# Every route's request validation runs this one (the resolver made its own in __init__).
app._request_validation_middleware = _GuardedValidation()


def _no_ignored_body(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    route: Any = app.context.get("_route")
    if not _registered(app, route):
        return next_middleware(app)  # no route matched: a 404 says so, whatever the body
    takes_body = bool(route.dependant.body_params)
    refuse_ignored_body(app.current_event, takes_body)
    return next_middleware(app)


def _registered(app: APIGatewayHttpResolver, route: Any) -> bool:
    """Whether `route` is one of ours, not the catch-all Powertools makes for a request no
    route matches (it runs the middlewares too)."""
    return route is not None and any(
        route is known for known in (*app._static_routes, *app._dynamic_routes)
    )


app.use(middlewares=[_no_ignored_body, idempotent_posts])

# The route modules, in the order their routes are matched and listed in the OpenAPI document.
ROUTE_MODULES = (
    "api_routes_catalog",
    "api_routes_billing",
    "api_routes_coupons",
    "api_routes_retention",
    "api_routes_programs",
    "api_routes_points",
    "api_routes_portal",
    "api_routes_installments",
    "api_routes_collections",
    "api_routes_credit_notes",
    "api_pages_card",
    "api_pages_confirm",
    "api_pages_subscription",
    "api_pages_collections",
    "api_pages_invoice",
    "api_routes_webhook_endpoints",
    "api_routes_operator",
    "api_console",
    "api_routes_privacy",
)
# The modules whose routes lie under each path group (`path_group`): a request imports only
# these. A path in no group matches no route module (healthz and openapi.json are here).
ROUTES_UNDER: dict[str, tuple[str, ...]] = {
    "/v1/customers": (
        "api_routes_catalog",
        "api_routes_billing",
        "api_routes_points",
        "api_routes_portal",
        "api_routes_installments",
        "api_routes_operator",
        "api_routes_privacy",
    ),
    "/v1/plans": ("api_routes_catalog",),
    "/v1/subscriptions": ("api_routes_billing", "api_routes_operator"),
    "/v1/invoices": ("api_routes_billing", "api_routes_retention", "api_routes_operator"),
    "/v1/coupons": ("api_routes_coupons",),
    "/v1/programs": ("api_routes_programs",),
    "/v1/installment-plans": ("api_routes_installments",),
    "/v1/collection-cases": ("api_routes_collections",),
    "/v1/credit-notes": ("api_routes_credit_notes",),
    "/v1/webhook-endpoints": ("api_routes_webhook_endpoints",),
    "/v1/webhook-deliveries": ("api_routes_webhook_endpoints",),
    "/v1/audit": ("api_routes_operator",),
    "/pages": (
        "api_pages_card",
        "api_pages_confirm",
        "api_pages_subscription",
        "api_pages_collections",
        "api_pages_invoice",
    ),
    "/console": ("api_console",),
}
_included: set[str] = set()


def path_group(path: str) -> str:
    """The first segment of a path, or its first two under /v1: `/v1/customers/c1` ->
    `/v1/customers`, `/pages/card` -> `/pages`."""
    segments = path.split("/")
    return "/".join(segments[:3] if len(segments) > 2 and segments[1] == "v1" else segments[:2])


def resolver_for(path: str) -> APIGatewayHttpResolver:
    """The resolver, holding every route that can match `path`."""
    for name in ROUTES_UNDER.get(path_group(path), ()):
        include(name)
    return app


def include(name: str) -> None:
    """Import a route module and add its routes, where today's order puts them. One request
    runs at a time in a container (and in the local runtime), so no lock is needed."""
    if name in _included:
        return
    app.include_router(importlib.import_module(name).router)
    _included.add(name)
    # Matching and the OpenAPI document follow this order, whichever request came first.
    app._static_routes.sort(key=_rank)
    app._dynamic_routes.sort(key=_rank)


def include_every_route() -> APIGatewayHttpResolver:
    for name in ROUTE_MODULES:
        include(name)
    return app


def _rank(route: Route) -> int:
    # The resolver's own routes (healthz, openapi.json) were registered after every module.
    module = route.func.__module__
    return ROUTE_MODULES.index(module) if module in ROUTE_MODULES else len(ROUTE_MODULES)


class Health(TypedDict):
    status: str


@app.get("/healthz", tags=["meta"], summary="Liveness; needs no token")
def healthz() -> Health:
    return {"status": "ok"}


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, _openapi_json())


@cache
def _openapi_json() -> str:
    # Imported here: the OpenAPI models cost ~70 ms of cold start that only this route needs.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    include_every_route()
    document = json.loads(
        app.get_openapi_json_schema(
            title="Tenure API",
            version="1",
            description="Subscription billing back office. Send `Authorization: Bearer <token>`.",
            security_schemes={BEARER_SCHEME: HTTPBearer(description="the Tenure API token")},
        )
    )
    return json.dumps(with_error_responses(document), indent=2)


# -- errors: every exception type mapped to its answer, here and only here -----------------------
def _error(status: int, error: str, message: str) -> Response[Any]:
    return _json(status, {"error": error, "message": message})


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, body)


def _refused(status: int, reason: str) -> None:
    # The kind of refusal only: messages can carry what the caller sent.
    logger.info(
        "request refused",
        extra={"status": status, "reason": reason, "route": app.current_event.path},
    )


@app.exception_handler(Rejection)
def _rejected(exc: Rejection) -> Response[Any]:
    _refused(exc.status, str(exc.body.get("error", "rejected")))
    return exc.response()


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    _refused(422, type(exc).__name__)
    # never the rejected input: it may be a card number or an email address
    detail = [_fault(e) for e in exc.errors()]
    return _json(422, {"error": "validation_error", "detail": detail})


def _fault(error: dict[str, Any]) -> dict[str, Any]:
    """One field at fault. A rule across a model's fields names the one that broke it
    (FieldRuleError): pydantic puts it on the model, here it goes on that field, named as
    the domain's refusals name theirs (`["body", "amount"]`, `["body", "tiers[1].up_to"]`)."""
    loc, msg = list(error["loc"]), error.get("msg", "")
    rule = (error.get("ctx") or {}).get("error")
    if isinstance(rule, FieldRuleError):
        loc, msg = [*loc, rule.field], rule.message
    return {"loc": loc, "msg": msg, "type": error.get("type", "value_error")}


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[Any]:
    _refused(415, type(exc).__name__)
    return _error(415, "unsupported_media_type", "send the body as application/json")


@app.exception_handler(UnicodeDecodeError)
def _undecodable_body(exc: UnicodeDecodeError) -> Response[Any]:
    # A base64 body that is not UTF-8 fails while Powertools decodes it, before parse_json.
    if not app.current_event.is_base64_encoded:
        return _internal_error(exc)  # not the body: a bug of ours
    return _rejected(malformed_json("not UTF-8"))


@app.exception_handler(ValidationFailedError)
def _business_rule_broken(exc: ValidationFailedError) -> Response[Any]:
    _refused(422, type(exc).__name__)
    message = str(exc).removeprefix(f"{exc.field}: ")
    # A GET has no body: the value it names came from the query (`/v1/audit?since=`).
    source = "query" if app.current_event.http_method.upper() == "GET" else "body"
    detail = [{"loc": [source, exc.field], "msg": message, "type": "value_error"}]
    return _json(422, {"error": "validation_error", "detail": detail})


@app.exception_handler(NotFoundError)
def _unknown_id(exc: NotFoundError) -> Response[Any]:
    _refused(404, type(exc).__name__)
    return _error(404, "not_found", str(exc))


@app.exception_handler(
    [IllegalTransitionError, AlreadyExistsError, ConcurrencyError, NothingToOpenError]
)
def _conflict(exc: DomainError) -> Response[Any]:
    _refused(409, type(exc).__name__)
    return _error(409, "conflict", str(exc))


@app.exception_handler(DomainError)
def _other_domain_error(exc: DomainError) -> Response[Any]:
    _refused(422, type(exc).__name__)
    return _json(422, {"error": "validation_error", "detail": [_at_large(str(exc))]})


def _at_large(msg: str) -> dict[str, Any]:
    """A validation fault of the request as a whole, no field to name."""
    return {"loc": [], "msg": msg, "type": "value_error"}


@app.not_found
def _unknown_route(exc: RouteNotFoundError) -> Response[Any]:
    event = app.current_event
    return _error(404, "not_found", f"no route for {event.http_method.upper()} {event.path}")


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response[Any]:
    _refused(exc.status_code, type(exc).__name__)
    error = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return _error(exc.status_code, error, str(exc.msg))


# A payment provider a request needed (a first card makes the provider's customer, then
# attaches the card) that did not answer: the request can be made again, as it is (its
# Idempotency-Key was released, having written nothing of its own). One that refused the
# call outright will refuse it again: the caller learns its code. A key the provider says
# was used with other parameters is a bug of ours, logged as one.
@app.exception_handler([ProviderUnavailableError, RateLimitedError])
def _provider_down(exc: GatewayError) -> Response[Any]:
    _refused(503, type(exc).__name__)
    return _error(503, "service_unavailable", "the payment provider did not answer; retry")


@app.exception_handler(InvalidRequestError)
def _provider_refused(exc: InvalidRequestError) -> Response[Any]:
    if isinstance(exc, IdempotencyConflictError):
        return _internal_error(exc)
    _refused(422, type(exc).__name__)
    msg = f"the payment provider refused the request ({exc.code or 'invalid_request'})"
    return _json(422, {"error": "validation_error", "detail": [_at_large(msg)]})


@app.exception_handler(Exception)
def _internal_error(exc: Exception) -> Response[Any]:
    logger.exception("unhandled error", extra={"route": app.current_event.path})
    return _error(500, "internal_error", "something went wrong on our side; it has been logged")
