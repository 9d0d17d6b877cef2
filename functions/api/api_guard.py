"""Checks made on every request before its fields are looked at: bearer token, body size, JSON.

The token and the size are checked once per request, first: app.py runs `check_access` at the
head of the request validation, which Powertools makes the first middleware of every route
(an unknown one too), so nothing unauthenticated or over the limit is ever validated or
parsed. The body's shape is checked after: `json_object_body` while a JSON route's body is
validated, `refuse_ignored_body` for routes that take none.
"""

import json
from contextvars import ContextVar
from typing import Any

from api_tokens import Principal, Scope, TokenConfigError, authenticate, principals, required_scope
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from tenure import bootstrap

logger = Logger(service="tenure-api", child=True)
# Who the current request authenticated as (None on open routes and pages).
_caller: ContextVar[Principal | None] = ContextVar("tenure_api_caller", default=None)

# Everything else needs the bearer token; an unknown route too (it answers 401, not 404).
OPEN_ROUTES = frozenset({("GET", "/healthz"), ("GET", "/openapi.json")})
# Customer pages (api_pages_*.py): a signed link is their authority, and their forms post
# HTML form fields, not JSON.
PAGES_PREFIX = "/pages/"
# The operator console (api_console.py): its own session cookie is its authority (the token
# is pasted once, into its sign-in form), and its forms post HTML form fields too.
CONSOLE_PATH = "/console"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
BEARER_SCHEME = "bearerAuth"
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]  # a route's OpenAPI `security`


class Rejection(Exception):
    """The request is answered here with `status` and `body`; nothing has been changed."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", "rejected"))
        self.status = status
        self.body = body

    def response(self) -> Response[Any]:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return Response(self.status, content_types.APPLICATION_JSON, self.body, headers)


def unauthorized() -> Rejection:
    return Rejection(401, {"error": "unauthorized", "message": "missing or invalid bearer token"})


def forbidden(principal: Principal, needed: Scope) -> Rejection:
    message = f"the token {principal.name!r} lacks the {needed.name.lower()!r} scope"
    return Rejection(403, {"error": "forbidden", "message": message})


def caller() -> Principal | None:
    """The principal the current request authenticated as: the actor of what it changes."""
    return _caller.get()


def malformed_json(reason: str) -> Rejection:
    return Rejection(
        400, {"error": "malformed_json", "message": f"request body is not JSON: {reason}"}
    )


def is_page(event: BaseProxyEvent) -> bool:
    return event.path.startswith(PAGES_PREFIX)


def is_console(event: BaseProxyEvent) -> bool:
    return event.path == CONSOLE_PATH or event.path.startswith(CONSOLE_PATH + "/")


def takes_forms(event: BaseProxyEvent) -> bool:
    """Routes of HTML pages whose POSTs are forms, checked by the pages themselves."""
    return is_page(event) or is_console(event)


def is_open(event: BaseProxyEvent) -> bool:
    open_route = (event.http_method.upper(), event.path) in OPEN_ROUTES
    return open_route or is_page(event) or is_console(event)


def raw_body(event: BaseProxyEvent) -> bytes:
    """The body as received (base64 left encoded: the limit is on what came over the wire)."""
    body = event.body
    return body.encode() if body else b""


def check_access(event: BaseProxyEvent) -> None:
    """Raise a Rejection for a missing or wrong token (401), a token without the route's
    scope (403) or an oversized body (413); remember who called."""
    _caller.set(None)
    if not is_open(event):
        principal = _authenticated(event.headers.get("authorization"))
        needed = required_scope(event.http_method, event.path)
        if not principal.may(needed):
            raise forbidden(principal, needed)
        _caller.set(principal)
        logger.append_keys(actor=principal.name)
    limit = bootstrap.wiring().settings.max_body_bytes
    # A page's form has its own, smaller limit, refused as a page the customer can read.
    if not takes_forms(event) and len(raw_body(event)) > limit:
        raise Rejection(
            413, {"error": "payload_too_large", "message": f"request body is over {limit} bytes"}
        )


def refuse_ignored_body(event: BaseProxyEvent, takes_body: bool) -> None:
    """A route that takes no body accepts none, or an empty JSON object (a body it would
    ignore is refused, not ignored). Routes with a body model are checked by
    `json_object_body`, while they are validated."""
    if takes_body or takes_forms(event) or event.http_method.upper() not in _BODY_METHODS:
        return
    if json_object_body(event):
        raise _invalid_body("this route takes no body; send none, or {}")


def json_object_body(event: BaseProxyEvent) -> dict[str, Any] | None:
    """The body of a JSON route: None when none was sent; else it must be sent as
    application/json (415), be JSON (400) and be an object (422). Called only after
    `check_access`, so nothing unauthenticated or oversized is read."""
    if not event.body:
        return None
    media_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise Rejection(
            415,
            {
                "error": "unsupported_media_type",
                "message": "send the body as application/json",
            },
        )
    try:
        value = event.json_body  # parsed once (json_body_deserializer), then cached
    except UnicodeDecodeError:
        raise malformed_json("not UTF-8") from None
    if not isinstance(value, dict):
        raise _invalid_body("must be a JSON object")
    return value


def _invalid_body(message: str) -> Rejection:
    detail = [{"loc": ["body"], "msg": message, "type": "value_error"}]
    return Rejection(422, {"error": "validation_error", "detail": detail})


def parse_json(text: str) -> Any:
    """Strict JSON: NaN, Infinity, huge integers, absurd nesting and a key given twice in one
    object are malformed, not 500s (nor the last of the two silently taken, where another
    reader of the same body, a proxy or a log, may take the first)."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise malformed_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise malformed_json(
            type(exc).__name__ if isinstance(exc, RecursionError) else str(exc)
        ) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key appears twice in one object")  # the key is not repeated back
    return found


def _authenticated(header: str | None) -> Principal:
    try:
        known = principals(bootstrap.wiring().api_token())
    except TokenConfigError as exc:
        # Fail closed, and say so: every caller is refused until the list is fixed.
        logger.error("api tokens misconfigured", extra={"problem": str(exc)})
        raise Rejection(
            503, {"error": "unavailable", "message": "the API's tokens are misconfigured"}
        ) from None
    principal = authenticate(header, known)  # no configured token: nobody, never everybody
    if principal is None:
        raise unauthorized()
    return principal
