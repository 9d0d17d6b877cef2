"""Idempotency-Key on POSTs: a retried request gets the first answer, never a second effect.

A key is claimed before the handler runs. When the handler answers, its status, body and
headers (not its cookies: `_NOT_REPLAYED`) are stored under the key and replayed to any later
request with the same key and the same body. The key is released instead only when the
request failed having written nothing (a 4xx from validation or a business rule, a conflict
that left nothing behind): a corrected retry with the same key then runs normally. A request
that wrote anything keeps its key, whatever it answered, so its retry can never apply the
change a second time (Stripe saves results the same way once an endpoint has started
executing). The same key with a different method, path or body is a client bug (422); the
same key while the first request still runs is 409. The answer of a request about a customer
is filed under them: their erasure drops it, and the key then answers 409
`idempotency_answer_erased` rather than run the request again (docs/privacy.md).

Keys are the caller's own: each token's principal has its own keys (`record_key`), so two
people or systems of one business that both pick `order-1` never meet. Only a caller who is
someone has keys: a token's principal, or a customer page's signed link. The console's routes
are open (it checks its own session cookie) and ignore the header (docs/api.md).
"""

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from api_guard import Rejection, caller, is_console, is_page, raw_body
from api_tokens import ADMIN_NAME
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from tenure import bootstrap
from tenure.services import idempotency
from tenure.services.context import Services

HEADER = "Idempotency-Key"
_AFTER_WRITE = (
    '{"error":"internal_error","message":"the request was recorded but its answer failed; '
    'read the resource to see its state"}'
)
_MAX_KEY_LENGTH = 255
# An answer's headers are stored with it and replayed, so that a retry gets the same answer (a
# page's content type and security policy, a redirect's Location), except these: the ones
# about one message or connection, which are set afresh for each answer sent, and cookies.
# A cookie is never stored nor replayed: it belongs to the request that earned it (a session,
# say), and a record is not the place to keep one; a replay simply comes without it.
_NOT_REPLAYED = frozenset(
    {
        "set-cookie",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "date",
        "trailer",
        "upgrade",
        "idempotent-replayed",
    }
)
# What a record without headers replays with: every record stored before headers were kept,
# and every answer that set nothing else (all JSON API answers today), whose records so stay
# as small as they were.
_JSON_ONLY: dict[str, str | list[str]] = {"Content-Type": content_types.APPLICATION_JSON}
# A route under a customer (`/v1/customers/{id}/portal-links`, …) is about that customer
# even when it writes nothing: its answer may still name them.
_CUSTOMER_PATH = re.compile(r"/v1/customers/([^/]+)")

logger = Logger(service="tenure-api", child=True)  # logs through app.py's logger


def idempotent_posts(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    event = app.current_event
    key = event.headers.get(HEADER.lower())
    if event.http_method.upper() != "POST" or key is None or is_console(event):
        # The console's routes are open (its session cookie is checked by the console, after
        # this): a key sent there would be claimed for nobody, under the administrator's own
        # records. Its actions have their own once-only keys (api_console._run_once), and a
        # browser's form sends no Idempotency-Key, so the header is ignored there.
        return next_middleware(app)
    _check_key(key)
    svc = bootstrap.wiring().services
    path_customer = _path_customer(event.path)
    if is_page(event):
        # Imported here: only a page's request needs the pages' machinery (templates, links),
        # as only it loads the page routes (api_resolver).
        from api_pages_visit import page_link

        link = page_link(event)
        if link is None:  # the page refuses the request itself, having written nothing
            return next_middleware(app)
        record_key = page_record_key(link.customer_id, str(link.purpose), key)
        path_customer = link.customer_id  # filed under them: their erasure drops the answer
    else:
        principal = caller()
        if principal is None:
            # Only a caller who authenticated owns keys: every other route checks the token
            # before this middleware runs (api_guard.check_access), so none arrives here
            # without one; if an open POST route is ever added, its keys are ignored rather
            # than kept under the administrator's records.
            return next_middleware(app)
        record_key = idempotency_record_key(principal.name, key)
    fingerprint = _fingerprint(event)
    held = idempotency.claim(svc, record_key, fingerprint)
    if held is not None:
        return _replay(held.fingerprint == fingerprint, held.status, held.response)
    written = svc.commits
    try:
        with svc.noting_customers() as touched:
            response = next_middleware(app)
    except BaseException:
        if svc.commits == written:
            _release(svc, record_key)
            raise
        # A bug of ours after a write: the caller gets a 500 and so does every retry with
        # this key, rather than a second change.
        logger.exception("request failed after writing", extra={"route": event.path})
        response = Response(500, content_types.APPLICATION_JSON, _AFTER_WRITE)
    if response.status_code >= 400 and svc.commits == written:
        _release(svc, record_key)
        return response
    body = response.body if isinstance(response.body, str) else _dumps(response.body)
    if len(touched) > 1:
        logger.warning("request about several customers", extra={"route": event.path})
    customer = idempotency.about(path_customer, touched)
    try:
        idempotency.complete(
            svc, record_key, response.status_code, body, customer, _kept_headers(response)
        )
    except Exception:
        # The change is committed and the caller gets its answer; a retry with this key will
        # see it in progress (409) until the record expires rather than apply it twice.
        logger.exception("idempotency record not completed", extra={"route": event.path})
    return response


def idempotency_record_key(principal: str, key: str) -> str:
    """The record a request's key is kept under: one per principal. Two tokens picking the
    same key would otherwise get each other's 422 for a different request, or, for the same
    one, each other's stored answer instead of their own change. The administrator (the
    bare token, principal `api`) keeps `api:<key>`, the record every key had before keys were
    per token, so keys stored before go on replaying. A named principal's is
    `api@<name>:<key>`: no `api:` record starts so, and a name holds no `:`, so no two
    principals' records can be the same. A customer page's caller has its own
    (page_record_key); the console's requests keep none (its actions key their own records,
    `console:<actor>:<key>`, api_console._run_once)."""
    if principal == ADMIN_NAME:
        return f"api:{key}"
    return f"api@{principal}:{key}"


def page_record_key(customer_id: str, purpose: str, key: str) -> str:
    """The record of a key sent with a customer page's POST: the customer the page's signed
    link acts for, and the link's purpose, `page@<customer>/<purpose>:<key>`. A page caller
    has no token, and under the administrator's `api:<key>` it would meet the administrator's
    keys and every other customer's: answered 422 for the key another picked, or holding a
    key another then cannot use. No `api` record starts with `page@`, and the customer id is
    %-encoded (no `/` left in it), so no two callers' records can be the same."""
    return f"page@{quote(customer_id, safe='')}/{purpose}:{key}"


def _path_customer(path: str) -> str | None:
    found = _CUSTOMER_PATH.search(path)
    return found.group(1) if found else None


def _check_key(key: str) -> None:
    if not 0 < len(key) <= _MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Rejection(
            422,
            {
                "error": "validation_error",
                "detail": [
                    {
                        "loc": ["header", HEADER],
                        "msg": f"must be 1 to {_MAX_KEY_LENGTH} printable ASCII characters",
                        "type": "value_error",
                    }
                ],
            },
        )


def _fingerprint(event: BaseProxyEvent) -> str:
    digest = hashlib.sha256()
    digest.update(f"{event.http_method.upper()} {event.path}\n".encode())
    digest.update(raw_body(event))
    return digest.hexdigest()


def _replay(same_request: bool, status: str, stored: dict[str, Any] | None) -> Response[Any]:
    if not same_request:
        raise Rejection(
            422,
            {
                "error": "idempotency_key_reused",
                "message": f"this {HEADER} was used with a different request",
            },
        )
    if status == "erased":
        raise Rejection(
            409,
            {
                "error": "idempotency_answer_erased",
                "message": f"the customer this {HEADER} was used for has been erased, and "
                "with them the answer it kept; read the resource, or use a new key",
            },
        )
    if status != "done" or stored is None:
        raise Rejection(
            409,
            {
                "error": "idempotency_in_progress",
                "message": f"a request with this {HEADER} is still being processed; retry later",
            },
        )
    headers = _copied(stored.get("headers", _JSON_ONLY))
    headers["Idempotent-Replayed"] = "true"
    return Response(
        int(stored["status"]),  # DynamoDB hands numbers back as Decimal
        None,  # the Content-Type is among the headers
        str(stored["body"]),
        headers,
    )


def _kept_headers(response: Response[Any]) -> dict[str, str | list[str]] | None:
    """The headers a replay of `response` must carry to be the same answer; None when they
    are what a record without headers replays with anyway."""
    kept = _copied(
        {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in _NOT_REPLAYED
        }
    )
    return None if kept == _JSON_ONLY else kept


def _copied(headers: dict[str, Any]) -> dict[str, str | list[str]]:
    return {
        str(name): [str(v) for v in value] if isinstance(value, list) else str(value)
        for name, value in headers.items()
    }


def _release(svc: Services, record_key: str) -> None:
    try:
        idempotency.release(svc, record_key)
    except Exception:
        # The request's own error matters more; the record expires by itself.
        logger.exception("idempotency record not released")


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))
