"""The HTTP API: customers, plans, subscriptions and invoices over API Gateway v2 (payload 2.0)."""

import json
from functools import cache
from http import HTTPStatus
from typing import Any, TypedDict

import api_console
import api_pages
import api_routes_billing
import api_routes_catalog
import api_routes_collections
import api_routes_coupons
import api_routes_credit_notes
import api_routes_installments
import api_routes_operator
import api_routes_points
import api_routes_portal
import api_routes_privacy
import api_routes_programs
import api_routes_retention
import api_routes_webhook_endpoints
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
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.services.self_service import NothingToOpenError

SERVICE = "tenure-api"
logger = Logger(service=SERVICE)


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
    route = app.context.get("_route")
    takes_body = bool(route is not None and route.dependant.body_params)
    refuse_ignored_body(app.current_event, takes_body)
    return next_middleware(app)


app.use(middlewares=[_no_ignored_body, idempotent_posts])
app.include_router(api_routes_catalog.router)
app.include_router(api_routes_billing.router)
app.include_router(api_routes_coupons.router)
app.include_router(api_routes_retention.router)
app.include_router(api_routes_programs.router)
app.include_router(api_routes_points.router)
app.include_router(api_routes_portal.router)
app.include_router(api_routes_installments.router)
app.include_router(api_routes_collections.router)
app.include_router(api_routes_credit_notes.router)
app.include_router(api_pages.router)
app.include_router(api_routes_webhook_endpoints.router)
app.include_router(api_routes_operator.router)
app.include_router(api_console.router)
app.include_router(api_routes_privacy.router)


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

    document = json.loads(
        app.get_openapi_json_schema(
            title="Tenure API",
            version="1",
            description="Subscription billing back office. Send `Authorization: Bearer <token>`.",
            security_schemes={BEARER_SCHEME: HTTPBearer(description="the Tenure API token")},
        )
    )
    return json.dumps(with_error_responses(document), indent=2)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
    logger.remove_keys(["actor"])  # a warm container's last caller is not this one
    return app.resolve(event, context)


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
    detail = [
        {"loc": list(e["loc"]), "msg": e.get("msg", ""), "type": e.get("type", "value_error")}
        for e in exc.errors()
    ]  # never the rejected input: it may be a card number or an email address
    return _json(422, {"error": "validation_error", "detail": detail})


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
    detail = [{"loc": ["body", exc.field], "msg": message, "type": "value_error"}]
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
    detail = [{"loc": [], "msg": str(exc), "type": "value_error"}]
    return _json(422, {"error": "validation_error", "detail": detail})


@app.not_found
def _unknown_route(exc: RouteNotFoundError) -> Response[Any]:
    event = app.current_event
    return _error(404, "not_found", f"no route for {event.http_method.upper()} {event.path}")


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response[Any]:
    _refused(exc.status_code, type(exc).__name__)
    error = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return _error(exc.status_code, error, str(exc.msg))


@app.exception_handler(Exception)
def _internal_error(exc: Exception) -> Response[Any]:
    logger.exception("unhandled error", extra={"route": app.current_event.path})
    return _error(500, "internal_error", "something went wrong on our side; it has been logged")
