"""Customer pages opened by signed links from emails: update the card, confirm a payment,
manage the subscription. Server-rendered HTML; the link, not the API token, is the authority.

The token comes in `?t=` (GET) or the form field `t` (POST). A link that is missing,
malformed, tampered with or for another page is a 403 page, an expired one a 410 page; both
show nothing of the customer and change nothing. So does an invoice or subscription that is
not the link's customer's. All refusals and errors become pages in `_page`, the one place
where these routes map exceptions to answers.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.errors import DomainError, IllegalTransitionError, ValidationFailedError
from tenure.notify import pages
from tenure.notify.linking import LinkKeyMissingError, verify_link
from tenure.notify.links import InvalidLinkError, LinkClaims, LinkPurpose
from tenure.payments.gateway import GatewayError
from tenure.payments.sandbox import card_details, payment_method_for
from tenure.services import self_service
from tenure.services.context import Services
from tenure.services.self_service import ForeignSubjectError, NothingToConfirmError
from tenure.settings import Settings, get_settings

router = APIGatewayHttpRouter()
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
TEST_CARDS = (
    ("4242424242424242", "tc_succeeds"),
    ("4000000000009995", "tc_insufficient"),
    ("4000000000000002", "tc_declined"),
    ("4000002760003184", "tc_authentication"),
)


@dataclass(slots=True)
class _Visit:
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

    def render(
        self, status: int, template: str, title: str, stripe: bool = False, **context: Any
    ) -> Response[str]:
        body = pages.render(
            template,
            self.locale,
            title=pages.strings(self.locale)[title],
            business=self.settings.business_name,
            nonce=self.nonce,
            token=self.token,
            **context,
        )
        return _html(status, body, self.nonce, stripe)

    def text(self, key: str, **values: str) -> str:
        return pages.strings(self.locale)[key].format(**values)


# -- routes -------------------------------------------------------------------------------------
@router.get("/pages/card", include_in_schema=False)
def card_page() -> Response[str]:
    return _page(LinkPurpose.UPDATE_CARD, _show_card)


@router.post("/pages/card", include_in_schema=False)
def card_submit() -> Response[str]:
    return _page(LinkPurpose.UPDATE_CARD, _take_card)


@router.get("/pages/confirm", include_in_schema=False)
def confirm_page() -> Response[str]:
    return _page(LinkPurpose.CONFIRM_PAYMENT, _show_confirm)


@router.post("/pages/confirm", include_in_schema=False)
def confirm_submit() -> Response[str]:
    return _page(LinkPurpose.CONFIRM_PAYMENT, _confirm)


@router.get("/pages/subscription", include_in_schema=False)
def subscription_page() -> Response[str]:
    return _page(LinkPurpose.MANAGE_SUBSCRIPTION, _show_subscription)


@router.post("/pages/subscription", include_in_schema=False)
def subscription_submit() -> Response[str]:
    return _page(LinkPurpose.MANAGE_SUBSCRIPTION, _change_subscription)


# -- the card -----------------------------------------------------------------------------------
def _show_card(visit: _Visit) -> Response[str]:
    self_service.card_subject_is_owned(visit.svc, visit.claims.customer_id, visit.claims.subject)
    view = self_service.card_view(visit.svc, visit.claims.customer_id)
    if visit.mode == "stripe":
        key = visit.settings.stripe_publishable_key
        if not key:
            raise LinkKeyMissingError("TENURE_STRIPE_PUBLISHABLE_KEY is not set")
        secret = self_service.begin_card_setup(visit.svc, view.customer.id, visit.svc.clock.now())
        return _card(visit, 200, view, publishable_key=key, client_secret=secret)
    return _card(visit, 200, view)


def _take_card(visit: _Visit) -> Response[str]:
    customer_id = visit.claims.customer_id
    self_service.card_subject_is_owned(visit.svc, customer_id, visit.claims.subject)
    if visit.mode != "sandbox":
        # With Stripe the card goes from Stripe.js to Stripe, never through this form.
        return _message(visit, 405, "title_card", "bad", "unavailable", "unavailable_body")
    method = payment_method_for(visit.form.get("card", "").replace("-", ""))
    if method is None:
        view = self_service.card_view(visit.svc, customer_id)
        return _card(visit, 422, view, outcome=_outcome("bad", visit.text("not_a_test_card")))
    owed_before = {i.id for i in self_service.owed_invoices(visit.svc, customer_id)}
    try:
        view = self_service.replace_card(visit.svc, customer_id, method, visit.mode)
    except ValidationFailedError:
        view = self_service.card_view(visit.svc, customer_id)
        text = visit.text("card_refused", code="card_refused")
        return _card(visit, 422, view, outcome=_outcome("bad", text))
    still_owed = [i for i in view.owed if i.id in owed_before]
    if still_owed:
        code = view.last_declines.get(still_owed[0].id, "declined")
        return _card(visit, 200, view, outcome=_outcome("bad", visit.text("declined", code=code)))
    text = visit.text("paid_thanks" if owed_before else "card_saved")
    return _card(visit, 200, view, outcome=_outcome("ok", text))


def _card(visit: _Visit, status: int, view: self_service.CardView, **context: Any) -> Response[str]:
    return visit.render(
        status,
        "card.html",
        "title_card",
        stripe=visit.mode == "stripe",
        view=view,
        card_label=_card_label(visit, view),
        mode=visit.mode,
        action="/pages/card",
        test_cards=TEST_CARDS,
        outcome=context.pop("outcome", None),
        **context,
    )


def _card_label(visit: _Visit, view: self_service.CardView) -> str:
    card = view.card
    if card is None:
        return ""
    brand, last4 = card.brand, card.last4
    if not (brand and last4) and (known := card_details(card.id)) is not None:
        brand, last4 = known["brand"], known["last4"]
    if not last4:
        return visit.text("card_ending", brand=(brand or "card").title(), last4="····")
    return visit.text("card_ending", brand=(brand or "card").title(), last4=last4)


# -- confirming a payment -----------------------------------------------------------------------
def _show_confirm(visit: _Visit) -> Response[str]:
    view = self_service.confirm_view(visit.svc, visit.claims.customer_id, visit.claims.subject)
    if view.charge is None:
        raise NothingToConfirmError(view.invoice.id)
    if visit.mode == "stripe":
        key = visit.settings.stripe_publishable_key
        if not key:
            raise LinkKeyMissingError("TENURE_STRIPE_PUBLISHABLE_KEY is not set")
        auth = self_service.payment_authentication(visit.svc, view)
        options = {"payment_method": auth.payment_method} if auth.payment_method else {}
        return _confirm_page(
            visit,
            200,
            view,
            publishable_key=key,
            client_secret=auth.client_secret,
            confirm_options=options,
        )
    return _confirm_page(visit, 200, view)


def _confirm(visit: _Visit) -> Response[str]:
    customer_id, invoice_id = visit.claims.customer_id, visit.claims.subject
    view, result = self_service.confirm_on_session(visit.svc, customer_id, invoice_id)
    if view.charge is None:
        return _confirm_page(visit, 200, view, outcome=_outcome("ok", visit.text("paid_thanks")))
    code = result.decline_code or str(result.outcome)
    return _confirm_page(
        visit, 200, view, outcome=_outcome("bad", visit.text("confirm_failed", code=code))
    )


def _confirm_page(
    visit: _Visit, status: int, view: self_service.ConfirmView, **context: Any
) -> Response[str]:
    return visit.render(
        status,
        "confirm.html",
        "title_confirm",
        stripe=visit.mode == "stripe",
        view=view,
        mode=visit.mode,
        action="/pages/confirm",
        outcome=context.pop("outcome", None),
        **context,
    )


# -- the subscription ---------------------------------------------------------------------------
_DONE = {"pause": "paused_done", "cancel": "cancel_done", "keep": "keep_done"}


def _show_subscription(visit: _Visit) -> Response[str]:
    view = self_service.subscription_view(visit.svc, visit.claims.customer_id, visit.claims.subject)
    return _subscription(visit, 200, view)


def _change_subscription(visit: _Visit) -> Response[str]:
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    action = visit.form.get("action", "")
    try:
        view = self_service.change_subscription(visit.svc, customer_id, subscription_id, action)
    except (IllegalTransitionError, ValidationFailedError) as exc:
        view = self_service.subscription_view(visit.svc, customer_id, subscription_id)
        reason = str(exc).removeprefix("action: ")
        text = visit.text("action_failed", reason=reason)
        return _subscription(visit, 409, view, _outcome("bad", text))
    done = _DONE.get(action)
    return _subscription(visit, 200, view, _outcome("ok", visit.text(done)) if done else None)


def _subscription(
    visit: _Visit,
    status: int,
    view: self_service.SubscriptionView,
    outcome: dict[str, str] | None = None,
) -> Response[str]:
    return visit.render(
        status,
        "subscription.html",
        "title_subscription",
        view=view,
        actions=_actions(view),
        action_url="/pages/subscription",
        outcome=outcome,
    )


def _actions(view: self_service.SubscriptionView) -> list[tuple[str, str, str]]:
    """(action, label, style) of the buttons the subscription's state allows."""
    sub, s = view.subscription, self_service.S
    if sub.status is s.CANCELED:
        return [("come_back", "come_back", "")]
    if sub.status is s.PAUSED:
        return [("keep", "resume", "")]
    if sub.cancel_at_period_end:
        return [("keep", "keep", "")]
    found = []
    if sub.status is s.ACTIVE:
        found.append(("pause", "pause", "secondary"))
    if sub.status in (s.TRIALING, s.ACTIVE, s.PAST_DUE):
        found.append(("cancel", "cancel", "secondary"))
    return found


# -- the one place where these routes turn refusals and errors into pages -------------------------
def _page(purpose: LinkPurpose, show: Callable[[_Visit], Response[str]]) -> Response[str]:
    event = router.current_event
    form = _form(event.decoded_body) if event.http_method.upper() == "POST" else {}
    token = (form.get("t") if event.http_method.upper() == "POST" else None) or (
        event.get_query_string_value("t") or ""
    )
    svc, settings = bootstrap.services(), get_settings()
    visitor_locale = _accept_language(event.headers.get("accept-language"))
    try:
        if not token:
            raise InvalidLinkError("malformed")
        claims = verify_link(settings, token, purpose, svc.clock.now())
    except InvalidLinkError as exc:
        return _refused(visitor_locale, settings, purpose, exc.reason)
    except LinkKeyMissingError:
        logger.error("link key missing", extra={"purpose": str(purpose)})
        return _unavailable(visitor_locale, settings, 503)
    customer = svc.repo.get_customer(claims.customer_id)
    if customer is None:
        return _refused(visitor_locale, settings, purpose, "unknown_customer")
    visit = _Visit(svc, settings, claims, token, pages.locale_of(customer.locale), form)
    try:
        response = show(visit)
    except ForeignSubjectError:
        return _refused(visit.locale, settings, purpose, "foreign_subject")
    except NothingToConfirmError:
        return _message(
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
    strings = pages.strings(locale)
    nonce = secrets.token_urlsafe(16)
    body = pages.render(
        "message.html",
        locale,
        title=strings["title_refused"],
        business=settings.business_name,
        nonce=nonce,
        kind="bad",
        headline=strings["refused_expired" if expired else "refused_invalid"],
        body=strings["refused_expired_body" if expired else "refused_invalid_body"],
    )
    return _html(410 if expired else 403, body, nonce)


def _unavailable(locale: str, settings: Settings, status: int) -> Response[str]:
    strings = pages.strings(locale)
    nonce = secrets.token_urlsafe(16)
    body = pages.render(
        "message.html",
        locale,
        title=strings["unavailable"],
        business=settings.business_name,
        nonce=nonce,
        kind="bad",
        headline=strings["unavailable"],
        body=strings["unavailable_body"],
    )
    return _html(status, body, nonce)


def _message(
    visit: _Visit, status: int, title: str, kind: str, headline: str, body: str
) -> Response[str]:
    return visit.render(
        status,
        "message.html",
        title,
        kind=kind,
        headline=visit.text(headline),
        body=visit.text(body),
    )


def _outcome(kind: str, text: str) -> dict[str, str]:
    return {"kind": kind, "text": text}


def _html(status: int, body: str, nonce: str, stripe: bool = False) -> Response[str]:
    csp = _CSP.format(
        nonce=nonce,
        stripe_js=_STRIPE_JS if stripe else "",
        stripe_frames=_STRIPE_FRAMES if stripe else "",
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


def _form(body: str | None) -> dict[str, str]:
    fields = parse_qs(body or "", keep_blank_values=True, max_num_fields=20)
    return {name: values[0] for name, values in fields.items() if values}


def _accept_language(header: str | None) -> str:
    first = (header or "").split(",")[0].split(";")[0].strip()
    return pages.locale_of(first)
