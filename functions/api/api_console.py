"""The operator console at /console: find a customer, read their timeline, subscriptions and
invoices, and perform the operator actions, each after a confirmation step (docs/console.md).

Server-rendered HTML with no scripts and nothing loaded from elsewhere. The operator pastes an
API token once; the console then holds a signed session cookie (console_session.py), and the
token's scopes apply to everything it shows and does. Every POST is a form of the console's
own: sent from this site (`Origin`, `Sec-Fetch-Site`), carrying the form token of its session,
and (actions) an idempotency key per rendered confirmation, so a double submit acts once.
Every refusal and error becomes a page in `_console`, the one place these routes map them.
"""

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from api_pages_forms import BadForm, check_same_site, read_form
from api_schemas import PRIVATE_DOWNLOAD, pdf_response
from api_tokens import Scope, TokenConfigError, authenticate, principals
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from console_actions import ACTIONS, Action, Target, day_of, money_of, owner_of, values_of
from console_session import (
    COOKIE,
    SESSION_TTL,
    FormRefusedError,
    Session,
    SessionRefusedError,
    check_form_token,
    form_token,
    open_session,
    read_session,
)

from tenure import bootstrap
from tenure.domain.audit import check_note
from tenure.domain.errors import DomainError, NotFoundError, ValidationFailedError
from tenure.notify.customer_links import allows_loopback_return
from tenure.payments.gateway import GatewayError
from tenure.services import catalog, documents, idempotency, subscriptions
from tenure.services import timeline as timelines
from tenure.services.context import Services
from tenure.settings import Settings

if TYPE_CHECKING:
    from jinja2 import Environment

router = APIGatewayHttpRouter()
logger = Logger(service="tenure-api", child=True)

HTML = "text/html; charset=utf-8"
TEMPLATES = Path(__file__).parent / "console_templates"
# No script at all; styles only the page's own (nonce'd); forms post only back here.
_CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'none'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SEARCH_SHOWN = 20  # customers listed for an email prefix
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
_KEY = re.compile(r"[A-Za-z0-9_-]{22}")
INVOICES_SHOWN = 12  # the newest of each subscription; older ones are in the timeline
TIMELINE_PAGE = 50


@dataclass(slots=True)
class _Visit:
    svc: Services
    settings: Settings
    session: Session
    now: datetime
    form: dict[str, str] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def actor(self) -> str:
        return self.session.principal.name

    def may_act(self) -> bool:
        return self.session.principal.may(Scope.BILLING)

    def may(self, action: Action) -> bool:
        return self.session.principal.may(Scope.ADMIN if action.admin else Scope.BILLING)

    def render(self, status: int, template: str, title: str, **context: Any) -> Response[str]:
        body = _render(
            template,
            title=title,
            nonce=self.nonce,
            operator=self.session.principal.name,
            scope=self.session.principal.scope.name.lower(),
            form_token=form_token(self.session, self.now),
            may_act=self.may_act(),
            **context,
        )
        return _html(status, body, self.nonce)


# -- routes -------------------------------------------------------------------------------------
@router.get("/console", include_in_schema=False)
def home() -> Response[str]:
    return _console(Scope.READ, _find)


@router.post("/console/sign-in", include_in_schema=False)
def sign_in() -> Response[str]:
    return _sign_in()


@router.post("/console/sign-out", include_in_schema=False)
def sign_out() -> Response[str]:
    return _console(Scope.READ, _signed_out)


@router.get("/console/customers/<customer_id>", include_in_schema=False)
def customer_page(customer_id: str) -> Response[str]:
    return _console(Scope.READ, lambda visit: _show_customer(visit, customer_id))


@router.get("/console/customers/<customer_id>/timeline", include_in_schema=False)
def timeline_page(customer_id: str) -> Response[str]:
    return _console(Scope.READ, lambda visit: _show_timeline(visit, customer_id))


@router.get("/console/invoices/<invoice_id>/pdf", include_in_schema=False)
# Unannotated return on purpose: Powertools validates an annotated return as JSON, and a PDF
# is bytes.
def invoice_pdf(invoice_id: str):
    return _console(Scope.READ, lambda visit: _download_invoice(visit, invoice_id))


@router.get("/console/<on>/<entity_id>/<action>", include_in_schema=False)
def action_form(on: str, entity_id: str, action: str) -> Response[str]:
    return _console(Scope.BILLING, lambda visit: _show_action(visit, on, entity_id, action))


@router.post("/console/<on>/<entity_id>/<action>", include_in_schema=False)
def action_submit(on: str, entity_id: str, action: str) -> Response[str]:
    return _console(Scope.BILLING, lambda visit: _submit_action(visit, on, entity_id, action))


# -- finding a customer, reading their account --------------------------------------------------
def _find(visit: _Visit) -> Response[str]:
    query = (router.current_event.get_query_string_value("q") or "").strip()
    if not query:
        return visit.render(200, "home.html", "Find a customer", query="", missing=False)
    if _ID.fullmatch(query) and catalog.find_customer(visit.svc, query) is not None:
        return _see_other(f"/console/customers/{quote(query)}")
    found = catalog.find_customers_by_email(visit.svc, query, SEARCH_SHOWN)
    if len(found) == 1:
        return _see_other(f"/console/customers/{quote(found[0][1])}")
    if found:
        return visit.render(
            200, "home.html", "Find a customer", query=query, missing=False, found=found
        )
    return visit.render(404, "home.html", "Find a customer", query=query, missing=True)


def _show_customer(visit: _Visit, customer_id: str, notice: str | None = None) -> Response[str]:
    customer = catalog.get_customer(visit.svc, _checked_id(customer_id))
    subs = subscriptions.list_subscriptions(visit.svc, customer.id)
    rows = []
    for sub in subs:
        invoices = subscriptions.list_invoices(visit.svc, sub.id)[-INVOICES_SHOWN:]
        rows.append(
            {
                "sub": sub,
                "items": catalog.priced_items(visit.svc, sub),
                "scheduled": (
                    catalog.priced_items(visit.svc, sub, sub.scheduled_items)
                    if sub.scheduled_items is not None
                    else None
                ),
                "actions": _offered("subscriptions", sub),
                "invoices": [{"invoice": i, "actions": _offered("invoices", i)} for i in invoices],
            }
        )
    return visit.render(
        200,
        "customer.html",
        "Customer",
        customer=customer,
        customer_actions=[a for a in _offered("customers", customer) if visit.may(a)],
        rows=rows,
        money=money_of,
        day=day_of,
        notice=notice,
    )


def _show_timeline(visit: _Visit, customer_id: str) -> Response[str]:
    customer = catalog.get_customer(visit.svc, _checked_id(customer_id))
    cursor = router.current_event.get_query_string_value("cursor") or None
    if cursor is not None and (len(cursor) > 300 or not cursor.isascii()):
        raise ValidationFailedError("cursor", "not a cursor this console made")
    items, more = timelines.customer_timeline(visit.svc, customer.id, TIMELINE_PAGE, cursor)
    entries = [{"at": day_of(i.at), "type": i.type, "id": i.id, "detail": i.detail} for i in items]
    return visit.render(
        200,
        "timeline.html",
        "Timeline",
        customer=customer,
        entries=entries,
        next_url=(
            f"/console/customers/{quote(customer.id)}/timeline?cursor={quote(more)}"
            if more
            else None
        ),
    )


def _download_invoice(visit: _Visit, invoice_id: str) -> Response[Any]:
    invoice = subscriptions.get_invoice(visit.svc, _checked_id(invoice_id))
    pdf = documents.invoice_pdf(visit.svc, invoice, documents.seller_of(visit.settings))
    return pdf_response(pdf, PRIVATE_DOWNLOAD)


# -- actions: a form, its confirmation, then the action once ----------------------------------
class _NotAllowed(Exception):
    """The session's token may act, but not this action (it needs `admin`)."""

    def __init__(self, action: Action) -> None:
        super().__init__(action.name)
        self.action = action


def _offered(on: str, target: Target) -> list[Action]:
    return [a for (kind, _), a in ACTIONS.items() if kind == on and a.offered(target)]


def _action(on: str, action: str) -> Action:
    found = ACTIONS.get((on, action))
    if found is None:
        raise NotFoundError("console action", f"{on}/{action}")
    return found


def _target(visit: _Visit, action: Action, entity_id: str) -> Target:
    entity_id = _checked_id(entity_id)
    if not visit.may(action):
        raise _NotAllowed(action)
    if action.on == "customers":
        return catalog.get_customer(visit.svc, entity_id)
    if action.on == "invoices":
        return subscriptions.get_invoice(visit.svc, entity_id)
    return subscriptions.get_subscription(visit.svc, entity_id)


def _show_action(visit: _Visit, on: str, entity_id: str, name: str) -> Response[str]:
    action = _action(on, name)
    target = _target(visit, action, entity_id)
    return _action_form(visit, 200, action, target, {}, "", None)


def _action_form(
    visit: _Visit,
    status: int,
    action: Action,
    target: Target,
    values: dict[str, str],
    note: str,
    problem: str | None,
) -> Response[str]:
    return visit.render(
        status,
        "action.html",
        action.label,
        action=action,
        target=target,
        values=values,
        note=note,
        problem=problem,
        back_url=f"/console/customers/{quote(owner_of(target))}",
    )


def _submit_action(visit: _Visit, on: str, entity_id: str, name: str) -> Response[str]:
    """`step=review` shows what will happen, with a fresh idempotency key; `step=confirm`
    (from that page only) does it, once."""
    action = _action(on, name)
    target = _target(visit, action, entity_id)
    form = visit.form
    note = form.get("note", "")
    try:
        values = values_of(action, form)
        check_note(note)
        summary = action.describe(target, values)
    except ValidationFailedError as exc:
        return _action_form(visit, 422, action, target, form, note, str(exc))
    step = form.get("step")
    if step == "review":
        return visit.render(
            200,
            "review.html",
            f"Confirm: {action.label}",
            action=action,
            target=target,
            values=values,
            note=note,
            summary=summary,
            key=secrets.token_urlsafe(16),
            back_url=f"/console/customers/{quote(owner_of(target))}",
        )
    if step != "confirm":
        raise ValidationFailedError("step", "send the form from its page")
    return _run_once(visit, action, target, values, note)


def _run_once(
    visit: _Visit, action: Action, target: Target, values: dict[str, str], note: str
) -> Response[str]:
    """The API's idempotency records, keyed by the confirmation page's own key: a second
    submit of that page gets the first outcome, never a second effect."""
    key = visit.form.get("k", "")
    if not _KEY.fullmatch(key):
        raise ValidationFailedError("k", "confirm the action from its confirmation page")
    svc = visit.svc
    record = f"console:{visit.actor}:{key}"
    fingerprint = hashlib.sha256(
        json.dumps([action.on, action.name, target.id, values, note]).encode()
    ).hexdigest()
    held = idempotency.claim(svc, record, fingerprint)
    back = f"/console/customers/{quote(owner_of(target))}"
    if held is not None:
        if held.fingerprint != fingerprint:
            return _problem_page(visit, 422, "This confirmation was used for another action.")
        if held.status == "erased":
            return _problem_page(
                visit, 409, "This action was about a customer since erased; its outcome is gone."
            )
        if held.status != "done" or held.response is None:
            return _problem_page(visit, 409, "This action is still being carried out; wait.")
        first = json.loads(str(held.response["body"]))
        return _done(visit, first["text"], first.get("audit"), back, replayed=True)
    written = svc.commits
    try:
        done = action.run(svc, target, values, visit.actor, note)
    except BaseException:
        if svc.commits == written:  # refused before writing: a corrected submit may run
            _release(svc, record)
        raise
    body = json.dumps({"text": done.text, "audit": done.audit_id})
    try:
        # Filed under the customer: the outcome's text may name them, and their erasure drops it.
        idempotency.complete(svc, record, 200, body, owner_of(target))
    except Exception:
        logger.exception("console idempotency record not completed")
    logger.info("console action", extra={"action": action.name, "entity": target.id})
    return _done(visit, done.text, done.audit_id, back, replayed=False)


def _done(
    visit: _Visit, text: str, audit_id: str | None, back: str, *, replayed: bool
) -> Response[str]:
    return visit.render(
        200, "done.html", "Done", text=text, audit_id=audit_id, back_url=back, replayed=replayed
    )


def _release(svc: Services, record: str) -> None:
    try:
        idempotency.release(svc, record)
    except Exception:
        logger.exception("console idempotency record not released")


def _checked_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise NotFoundError("object", value[:40])
    return value


# -- signing in and out --------------------------------------------------------------------------
def _sign_in() -> Response[str]:
    event = router.current_event
    wired = bootstrap.wiring()
    settings = wired.settings
    try:
        check_same_site(event.headers, settings)
        form = read_form(
            event.headers.get("content-type"), event.body, bool(event.is_base64_encoded)
        )
        known = principals(wired.api_token())
    except BadForm as bad:
        logger.info("console form refused", extra={"reason": bad.reason})
        return _bare(bad.status, "Refused", "This form was not sent from the console.")
    except TokenConfigError as exc:
        logger.error("api tokens misconfigured", extra={"problem": str(exc)})
        return _bare(503, "Unavailable", "The API's tokens are misconfigured.")
    principal = authenticate(f"Bearer {form.get('token', '').strip()}", known)
    if principal is None:
        logger.info("console sign-in refused", extra={"reason": "unknown_token"})
        return _sign_in_page(401, "That token is not one of this deployment's.")
    value, _session = open_session(principal, wired.services.clock.now())
    logger.info("console signed in", extra={"actor": principal.name})
    return _see_other("/console", [_cookie(settings, value, int(SESSION_TTL.total_seconds()))])


def _signed_out(visit: _Visit) -> Response[str]:
    logger.info("console signed out", extra={"actor": visit.actor})
    return _sign_in_page(200, "Signed out.", clear=True, settings=visit.settings)


def _cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    # Secure everywhere but a developer's own http://localhost, where a browser would drop it.
    secure = not allows_loopback_return(settings)
    return Cookie(
        COOKIE,
        value,
        path="/console",
        secure=secure,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.STRICT_MODE,
    )


def _sign_in_page(
    status: int, message: str | None, *, clear: bool = False, settings: Settings | None = None
) -> Response[str]:
    nonce = secrets.token_urlsafe(16)
    body = _render("sign_in.html", title="Sign in", nonce=nonce, message=message)
    response = _html(status, body, nonce)
    if clear:
        response.cookies.append(_cookie(settings or bootstrap.settings(), "", 0))
    return response


# -- the one place where these routes turn refusals and errors into pages ---------------------
def _console(needed: Scope, show: Callable[[_Visit], Response[Any]]) -> Response[Any]:
    event = router.current_event
    posting = event.http_method.upper() == "POST"
    wired = bootstrap.wiring()
    svc, settings = wired.services, wired.settings
    now = svc.clock.now()
    form: dict[str, str] = {}
    try:
        if posting:
            check_same_site(event.headers, settings)
            form = read_form(
                event.headers.get("content-type"), event.body, bool(event.is_base64_encoded)
            )
        session = read_session(_cookie_value(event.cookies), principals(wired.api_token()), now)
        if posting:
            check_form_token(session, form.get("f", ""), now)
    except BadForm as bad:
        logger.info("console form refused", extra={"reason": bad.reason})
        return _bare(bad.status, "Refused", "This form was not sent from the console.")
    except TokenConfigError as exc:
        logger.error("api tokens misconfigured", extra={"problem": str(exc)})
        return _bare(503, "Unavailable", "The API's tokens are misconfigured.")
    except SessionRefusedError as exc:
        # Why only: never the cookie, which would let a log reader act as the operator.
        logger.info("console session refused", extra={"reason": exc.reason})
        message = "Your session has ended; sign in again." if exc.reason != "missing" else None
        return _sign_in_page(401, message, clear=exc.reason != "missing", settings=settings)
    except FormRefusedError as exc:
        logger.info("console form refused", extra={"reason": exc.reason})
        stale = "This page was open too long; open it again." if exc.reason == "stale" else None
        return _bare(403, "Refused", stale or "This form was not sent from the console.")
    visit = _Visit(svc, settings, session, now, form)
    if not session.principal.may(needed):
        logger.info("console refused", extra={"actor": visit.actor, "reason": "scope"})
        text = f"The token {visit.actor!r} may look but not act (it lacks the billing scope)."
        return _problem_page(visit, 403, text)
    try:
        return show(visit)
    except _NotAllowed as refused:
        logger.info("console refused", extra={"actor": visit.actor, "reason": "scope"})
        text = (
            f"The token {visit.actor!r} may not {refused.action.label.lower()}: "
            "that needs the admin scope."
        )
        return _problem_page(visit, 403, text)
    except NotFoundError as exc:
        return _problem_page(visit, 404, str(exc))
    except GatewayError as exc:
        logger.warning("payment provider failed a console action", extra={"code": exc.code})
        return _problem_page(visit, 503, "The payment provider did not answer; submit again.")
    except ValidationFailedError as exc:
        return _problem_page(visit, 422, str(exc))
    except DomainError as exc:
        logger.info("console action refused", extra={"error": type(exc).__name__})
        return _problem_page(visit, 409, str(exc))


def _cookie_value(cookies: list[str]) -> str | None:
    values = [c.partition("=")[2].strip() for c in cookies if c.partition("=")[0].strip() == COOKIE]
    return values[0] if len(values) == 1 else None


def _problem_page(visit: _Visit, status: int, text: str) -> Response[str]:
    return visit.render(status, "message.html", "Not done", text=text)


def _bare(status: int, title: str, text: str) -> Response[str]:
    """A page that says only what went wrong, shown without a session."""
    nonce = secrets.token_urlsafe(16)
    return _html(status, _render("message.html", title=title, nonce=nonce, text=text), nonce)


def _see_other(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    headers = {"Location": location, "Cache-Control": "no-store"}
    return Response(303, HTML, "", headers, cookies=cookies)


def _html(status: int, body: str, nonce: str) -> Response[str]:
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": _CSP.format(nonce=nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    return Response(status, HTML, body, headers)


@cache
def _environment() -> "Environment":
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(template: str, **context: Any) -> str:
    context.setdefault("operator", None)
    return _environment().get_template(template).render(**context)
