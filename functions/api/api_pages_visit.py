"""What every customer page goes through: the signed link checked, the form checked (for a
POST), the visit the route's handler is given, and every refusal or error turned into a page
in `serve_page`, the one place where these routes map exceptions to answers.

The token comes in `?t=` (GET) or the form field `t` (POST). A link that is missing,
malformed, tampered with or for another page is a 403 page, an expired one a 410 page; both
show nothing of the customer and change nothing. So does an invoice or subscription that is
not the link's customer's. A POST's form must also pass api_pages_forms' checks and carry
the form token the page was rendered with (403; 403 "open too long" when stale).
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api_pages_forms import BadForm, check_same_site, read_form
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from tenure import bootstrap
from tenure.domain.audit import SYSTEM_PORTAL, link_name
from tenure.domain.errors import (
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.notify import pages
from tenure.notify.customer_links import (
    LinkKeyMissingError,
    check_page_form,
    issue_form_token,
    verify_link,
)
from tenure.notify.link_tokens import (
    PAGE_PATHS,
    InvalidFormTokenError,
    InvalidLinkError,
    LinkClaims,
    LinkPurpose,
    link_id,
)
from tenure.payments.gateway import GatewayError
from tenure.services import catalog
from tenure.services.context import Services
from tenure.services.self_service import (
    ForeignSubjectError,
    InvoiceNotShownError,
    LinkUse,
    NothingToConfirmError,
)
from tenure.settings import Settings

logger = Logger(service="tenure-api", child=True)

HTML = "text/html; charset=utf-8"
# Nothing loads but what the page itself carries (nonce'd), forms post only back here, and no
# page can be framed. The Stripe pages add Stripe.js and the frames and calls it makes.
_CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'{stripe_js}; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    "{stripe_frames}"
)
_STRIPE_JS = " https://js.stripe.com"
_STRIPE_FRAMES = (
    "; frame-src https://js.stripe.com https://hooks.stripe.com; connect-src https://api.stripe.com"
)
# The Razorpay confirm page loads Checkout's script, which opens its form in a frame served
# by Razorpay's API origin; nothing else of Razorpay's is allowed, and no other page gets it.
_RAZORPAY_JS = " https://checkout.razorpay.com"
_RAZORPAY_FRAMES = "; frame-src https://api.razorpay.com"


@dataclass(slots=True)
class Visit:
    svc: Services
    settings: Settings
    claims: LinkClaims
    token: str
    locale: str
    form: dict[str, str] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def mode(self) -> str:
        """How a card is taken and a payment confirmed: sandbox form, Stripe.js, or neither."""
        return self.svc.gateway.name if self.svc.gateway is not None else "none"

    @property
    def link(self) -> LinkUse:
        """The link this visit came through, as single-use claims name it."""
        return LinkUse(link_id(self.token), self.claims.expires_at)

    def render(
        self,
        status: int,
        template: str,
        title: str,
        stripe: bool = False,
        razorpay: bool = False,
        **context: Any,
    ) -> Response[str]:
        body = pages.render(
            template,
            self.locale,
            title=pages.strings(self.locale)[title],
            business=self.settings.business_name,
            nonce=self.nonce,
            token=self.token,
            form_token=issue_form_token(self.settings, self.token, self.svc.clock.now()),
            # Only from verified claims: a refusal page never links anywhere.
            return_url=self.claims.return_url,
            **context,
        )
        return _html(status, body, self.nonce, stripe, razorpay)

    def text(self, key: str, **values: str) -> str:
        return pages.strings(self.locale)[key].format(**values)


# The page each form posts to, by path: every page route's POST is at its purpose's path.
_PURPOSE_AT = {path: purpose for purpose, path in PAGE_PATHS.items()}


def page_link(event: BaseProxyEvent) -> LinkClaims | None:
    """The claims of the signed link a page's POST carries, when it holds for the page it is
    posted to: whom the caller acts for, through which purpose. None for anything else (no
    such page, not a form, a missing, forged or expired link): the page refuses that itself,
    writing nothing (serve_page)."""
    purpose = _PURPOSE_AT.get(event.path)
    if purpose is None:
        return None
    try:
        form = read_form(
            event.headers.get("content-type"), event.body, bool(event.is_base64_encoded)
        )
        token = form.get("t", "")
        if not token:
            return None
        settings = bootstrap.wiring().settings
        return verify_link(settings, token, purpose, bootstrap.wiring().services.clock.now())
    except (BadForm, InvalidLinkError, LinkKeyMissingError):
        return None


# A page route's handler, and the decorator that declares it.
Handler = Callable[[Visit], Response[Any]]
Decorates = Callable[[Handler], Handler]


def page_route(router: APIGatewayHttpRouter) -> Callable[..., Decorates]:
    """The decorator a page module's routes are declared with, on its `router`."""

    def route(method: str, path: str, purpose: LinkPurpose, *, binary: bool = False) -> Decorates:
        """Serve `method` `path` with the handler this decorates, through `serve_page`: the
        link (of `purpose`) and, for a POST, the form are checked before the handler sees
        the visit."""
        return _register(router, method, path, purpose, binary)

    return route


def _register(
    router: APIGatewayHttpRouter, method: str, path: str, purpose: LinkPurpose, binary: bool
) -> Decorates:
    def register(handler: Handler) -> Handler:
        def html() -> Response[str]:
            return serve_page(router.current_event, purpose, handler)

        # Unannotated return on purpose: Powertools validates an annotated return as JSON,
        # and a PDF is bytes (sent base64-encoded, as API Gateway expects binary bodies).
        def pdf():
            return serve_page(router.current_event, purpose, handler)

        router.route(path, method, include_in_schema=False)(pdf if binary else html)
        return handler

    return register


class FormFieldRefused(Exception):
    """A page form's field the customer can correct: answered 422 with the page and `text`."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.values = key, values


# -- the one place where these routes turn refusals and errors into pages -------------------------
def serve_page(event: BaseProxyEvent, purpose: LinkPurpose, show: Handler) -> Response[Any]:
    posting = event.http_method.upper() == "POST"
    wired = bootstrap.wiring()
    svc, settings = wired.services, wired.settings
    visitor_locale = _accept_language(event.headers.get("accept-language"))
    form: dict[str, str] = {}
    if posting:
        try:
            check_same_site(event.headers, settings)
            form = read_form(
                event.headers.get("content-type"), event.body, bool(event.is_base64_encoded)
            )
        except BadForm as bad:
            logger.info("page form refused", extra={"purpose": str(purpose), "reason": bad.reason})
            return _notice(visitor_locale, settings, bad.status, bad.headline, bad.body)
    token = form.get("t", "") if posting else (event.get_query_string_value("t") or "")
    try:
        if not token:
            raise InvalidLinkError("malformed")
        claims = verify_link(settings, token, purpose, svc.clock.now())
        if posting:
            check_page_form(settings, token, form.get("f", ""), svc.clock.now())
    except InvalidLinkError as exc:
        return _refused(visitor_locale, settings, purpose, exc.reason)
    except InvalidFormTokenError as exc:
        # Never the token itself in the log: only why it was refused.
        logger.info("page form refused", extra={"purpose": str(purpose), "reason": exc.reason})
        stale = exc.reason == "stale"
        headline = "refused_stale" if stale else "refused_form"
        return _notice(visitor_locale, settings, 403, headline, f"{headline}_body")
    except LinkKeyMissingError:
        logger.error("link key missing", extra={"purpose": str(purpose)})
        return _unavailable(visitor_locale, settings, 503)
    customer = catalog.find_customer(svc, claims.customer_id)
    if customer is None:
        return _refused(visitor_locale, settings, purpose, "unknown_customer")
    visit = Visit(svc, settings, claims, token, pages.locale_of(customer.locale), form)
    try:
        # What a customer does through a signed page is theirs: its commits are the work of
        # `system:portal`, through this link, named by its purpose and an id derived from
        # the token, never the token itself (docs/operations.md).
        with svc.acting_as(SYSTEM_PORTAL, via=link_name(str(purpose), token)):
            response = show(visit)
    except ForeignSubjectError:
        return _refused(visit.locale, settings, purpose, "foreign_subject")
    except InvoiceNotShownError:
        # Another customer's invoice and no invoice at all look the same: nothing to tell.
        logger.info("page invoice not found", extra={"purpose": str(purpose)})
        return _notice(visit.locale, settings, 404, "invoice_not_found", "invoice_not_found_body")
    except NothingToConfirmError:
        return message(
            visit, 200, "title_confirm", "ok", "nothing_to_confirm", "nothing_to_confirm_body"
        )
    except LinkKeyMissingError as exc:
        logger.error("page misconfigured", extra={"purpose": str(purpose), "error": str(exc)})
        return _unavailable(visit.locale, settings, 503)
    except GatewayError as exc:
        logger.warning(
            "payment provider failed a page", extra={"purpose": str(purpose), "code": exc.code}
        )
        return _unavailable(visit.locale, settings, 502)
    except DomainError as exc:
        logger.info(
            "page action refused", extra={"purpose": str(purpose), "error": type(exc).__name__}
        )
        return _unavailable(visit.locale, settings, 409)
    logger.info(
        "page served",
        extra={
            "purpose": str(purpose),
            "method": event.http_method,
            "status": response.status_code,
        },
    )
    return response


def _refused(locale: str, settings: Settings, purpose: LinkPurpose, reason: str) -> Response[str]:
    # The reason is logged, never the token: it would let a log reader act as the customer.
    logger.info("link refused", extra={"purpose": str(purpose), "reason": reason})
    expired = reason == "expired"
    headline = "refused_expired" if expired else "refused_invalid"
    status = 410 if expired else 403
    return _notice(locale, settings, status, headline, f"{headline}_body", title="title_refused")


def _unavailable(locale: str, settings: Settings, status: int) -> Response[str]:
    return _notice(locale, settings, status, "unavailable", "unavailable_body")


def _notice(
    locale: str, settings: Settings, status: int, headline: str, body: str, title: str = ""
) -> Response[str]:
    """A page that only says something went wrong (strings by key; the title is the headline
    unless given): nothing of the customer."""
    strings = pages.strings(locale)
    nonce = secrets.token_urlsafe(16)
    page = pages.render(
        "message.html",
        locale,
        title=strings[title or headline],
        business=settings.business_name,
        nonce=nonce,
        kind="bad",
        headline=strings[headline],
        body=strings[body],
    )
    return _html(status, page, nonce)


def message(
    visit: Visit, status: int, title: str, kind: str, headline: str, body: str
) -> Response[str]:
    return visit.render(
        status,
        "message.html",
        title,
        kind=kind,
        headline=visit.text(headline),
        body=visit.text(body),
    )


def refusal_text(visit: Visit, exc: DomainError) -> str:
    """Why an action was refused, in the visitor's language: "That cannot be done now: …"
    with the reason the pages' catalog has for what refused it (reason_key). Never the
    domain's message: it is English, written for the API's callers, and would be the one
    English sentence on an Arabic or Russian page. The refusal is logged by its kind."""
    key = reason_key(exc)
    logger.info("page action refused", extra={"error": type(exc).__name__, "reason": key})
    return visit.text("action_failed", reason=visit.text(key))


def reason_key(exc: DomainError) -> str:
    """The catalog key of why `exc` refused an action: the state of what was acted on (a
    subscription's, a collections case's, an invoice's), the field a rule was about, or an
    id no longer there; a refusal the catalog has no words for is `reason_other`, said in
    general terms rather than in English."""
    if isinstance(exc, IllegalTransitionError):
        key = f"reason_{exc.entity.replace(' ', '_')}_{exc.status}"
    elif isinstance(exc, ValidationFailedError):
        key = f"reason_field_{exc.field}"
    elif isinstance(exc, NotFoundError):
        key = "reason_not_found"
    else:
        key = "reason_other"
    return key if key in pages.strings("en") else "reason_other"


def outcome_of(kind: str, text: str) -> dict[str, str]:
    return {"kind": kind, "text": text}


def _html(
    status: int, body: str, nonce: str, stripe: bool = False, razorpay: bool = False
) -> Response[str]:
    csp = _CSP.format(
        nonce=nonce,
        stripe_js=_STRIPE_JS if stripe else (_RAZORPAY_JS if razorpay else ""),
        stripe_frames=_STRIPE_FRAMES if stripe else (_RAZORPAY_FRAMES if razorpay else ""),
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        # The URL carries the token: never send it on to another site.
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    return Response(status, HTML, body, headers)


def _accept_language(header: str | None) -> str:
    first = (header or "").split(",")[0].split(";")[0].strip()
    return pages.locale_of(first)
