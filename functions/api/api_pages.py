"""Customer pages opened by signed links from emails: update the card, confirm a payment,
manage the subscription, settle a collections case. Server-rendered HTML; the link, not
the API token, is the authority.

The token comes in `?t=` (GET) or the form field `t` (POST). A link that is missing,
malformed, tampered with or for another page is a 403 page, an expired one a 410 page; both
show nothing of the customer and change nothing. So does an invoice or subscription that is
not the link's customer's. All refusals and errors become pages in `_page`, the one place
where these routes map exceptions to answers.

A POST must also come from the page itself (docs/pages.md, "Forms"): an HTML form body
(415 otherwise), small, well formed and with each field once (400/413), not sent from
another site (`Origin`, `Sec-Fetch-Site`: 403), and carrying the form token the page was
rendered with (403; 403 "open too long" when stale). Each refusal changes nothing.
"""

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from api_schemas import PRIVATE_DOWNLOAD, pdf_response
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.audit import SYSTEM_PORTAL, link_name
from tenure.domain.charges import ChargeOutcome
from tenure.domain.customers import Customer
from tenure.domain.errors import (
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.invoices import LineKind
from tenure.domain.money import Money
from tenure.domain.offers import EXIT_REASONS
from tenure.domain.plans import Plan
from tenure.domain.pricing import MAX_QUANTITY, Item, Items
from tenure.domain.subscription import SubscriptionStatus
from tenure.notify import pages
from tenure.notify.customer_links import (
    LinkKeyMissingError,
    check_page_form,
    issue_form_token,
    make_portal_link,
    verify_link,
)
from tenure.notify.link_tokens import (
    InvalidFormTokenError,
    InvalidLinkError,
    LinkClaims,
    LinkPurpose,
    link_id,
)
from tenure.payments.gateway import (
    CheckoutAnswer,
    CheckoutOrder,
    GatewayError,
    PaymentAuthentication,
    PaymentResult,
    UnverifiedCheckoutError,
)
from tenure.payments.razorpay_gateway import REGISTRATION_AMOUNT
from tenure.payments.razorpay_sandbox import method_for as razorpay_method_for
from tenure.payments.razorpay_sandbox import token_for as razorpay_token_for
from tenure.payments.sandbox import card_details, payment_method_for
from tenure.services import catalog, collections_page, documents, new_mandate, self_service
from tenure.services.context import Services
from tenure.services.self_service import (
    ForeignSubjectError,
    InvoiceNotShownError,
    LinkAlreadyUsedError,
    LinkUse,
    NothingToConfirmError,
)
from tenure.settings import Settings

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
# The Razorpay confirm page loads Checkout's script, which opens its form in a frame served
# by Razorpay's API origin; nothing else of Razorpay's is allowed, and no other page gets it.
_RAZORPAY_JS = " https://checkout.razorpay.com"
_RAZORPAY_FRAMES = "; frame-src https://api.razorpay.com"
# Page forms post a handful of short fields (t, f, card, action): anything much bigger or with
# many more fields is not from a page, and is refused before it is parsed further.
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096
MAX_FORM_FIELDS = 8
# The customer's own words about leaving, with the "other" reason: shorter than the API's
# offers.REASON_TEXT_MAX, so that the whole form, percent-encoded Arabic or Cyrillic (6 bytes
# a letter), stays under MAX_FORM_BYTES.
PAGE_REASON_TEXT_MAX = 500
# A points count the form takes: ASCII digits only (int() would also read Arabic-Indic and
# other Unicode digits, which no browser's number field sends), at most nine of them.
MAX_POINTS_DIGITS = 9
# Razorpay's test UPI ids and cards the sandbox's checkout takes (docs/razorpay.md), and the
# sandbox's own UPI id of a mandate above ₹15,000.
RAZORPAY_TEST_DATA = (
    ("success@razorpay", "tc_succeeds"),
    ("4100 2800 0000 1007", "tc_succeeds"),
    ("failure@razorpay", "tc_declined"),
)
# What the sandbox's form fills in for each kind of mandate (a succeeding test value).
MANDATE_EXAMPLES = {"upi": "success@razorpay", "card": "4100 2800 0000 1007"}
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


# -- routes -------------------------------------------------------------------------------------
def _route(
    method: str, path: str, purpose: LinkPurpose, *, binary: bool = False
) -> Callable[[Callable[[_Visit], Response[Any]]], Callable[[_Visit], Response[Any]]]:
    """Serve `method` `path` with the handler this decorates, through `_page`: the link (of
    `purpose`) and, for a POST, the form are checked before the handler sees the visit."""

    def register(
        handler: Callable[[_Visit], Response[Any]],
    ) -> Callable[[_Visit], Response[Any]]:
        def html() -> Response[str]:
            return _page(purpose, handler)

        # Unannotated return on purpose: Powertools validates an annotated return as JSON,
        # and a PDF is bytes (sent base64-encoded, as API Gateway expects binary bodies).
        def pdf():
            return _page(purpose, handler)

        router.route(path, method, include_in_schema=False)(pdf if binary else html)
        return handler

    return register


# -- the card -----------------------------------------------------------------------------------
def _card_mode(visit: _Visit, customer: Customer | None) -> str:
    """How this customer's card is taken: by their own provider's way when they chose one
    (Razorpay's mandates are authorised in its Checkout: no form here), else the default's."""
    if customer is not None and customer.provider is not None:
        gateway = visit.svc.gateway_for(customer.provider)
        return gateway.name if gateway is not None else "none"
    return visit.mode


@_route("GET", "/pages/card", LinkPurpose.UPDATE_CARD)
def _show_card(visit: _Visit) -> Response[str]:
    self_service.card_subject_is_owned(visit.svc, visit.claims.customer_id, visit.claims.subject)
    view = self_service.load_card_page(visit.svc, visit.claims.customer_id)
    if _card_mode(visit, view.customer) == "razorpay":
        return _mandate_card(visit, 200, view)
    if _card_mode(visit, view.customer) == "stripe":
        key = _stripe_key(visit)
        secret = self_service.begin_card_setup(visit.svc, view.customer.id, visit.svc.clock.now())
        return _card(visit, 200, view, publishable_key=key, client_secret=secret)
    return _card(visit, 200, view)


def _stripe_key(visit: _Visit) -> str:
    """The publishable key Stripe.js is loaded with; a page misconfigured without it is 503."""
    key = visit.settings.stripe_publishable_key
    if not key:
        raise LinkKeyMissingError("TENURE_STRIPE_PUBLISHABLE_KEY is not set")
    return key


@_route("POST", "/pages/card", LinkPurpose.UPDATE_CARD)
def _take_card(visit: _Visit) -> Response[str]:
    customer_id = visit.claims.customer_id
    self_service.card_subject_is_owned(visit.svc, customer_id, visit.claims.subject)
    mode = _card_mode(visit, catalog.find_customer(visit.svc, customer_id))
    mandate_fields = ("razorpay_signature", "pay_with", "mandate_kind")
    if mode == "razorpay" and any(name in visit.form for name in mandate_fields):
        return _take_mandate(visit)
    if mode != "sandbox":
        # With Stripe the card goes from Stripe.js to Stripe, never through this form.
        return _message(visit, 405, "title_card", "bad", "unavailable", "unavailable_body")
    method = payment_method_for(visit.form.get("card", "").replace("-", ""))
    if method is None:
        view = self_service.load_card_page(visit.svc, customer_id)
        return _card(visit, 422, view, outcome=_outcome("bad", visit.text("not_a_test_card")))
    owed_before = {i.id for i in self_service.owed_invoices(visit.svc, customer_id)}
    try:
        view = self_service.replace_card(visit.svc, customer_id, method, visit.mode)
    except ValidationFailedError:
        view = self_service.load_card_page(visit.svc, customer_id)
        text = visit.text("card_refused", code="card_refused")
        return _card(visit, 422, view, outcome=_outcome("bad", text))
    if view.retry_pending:
        return _card(visit, 200, view, outcome=_outcome("ok", visit.text("card_saved_retry_later")))
    still_owed = [i for i in view.owed if i.id in owed_before]
    if still_owed:
        code = view.last_declines.get(still_owed[0].id, "declined")
        return _card(visit, 200, view, outcome=_outcome("bad", visit.text("declined", code=code)))
    text = visit.text("paid_thanks" if owed_before else "card_saved")
    return _card(visit, 200, view, outcome=_outcome("ok", text))


def _card(visit: _Visit, status: int, view: self_service.CardPage, **context: Any) -> Response[str]:
    mode = _card_mode(visit, view.customer)
    return _card_page(visit, status, view, mode, test_cards=TEST_CARDS, **context)


def _card_page(
    visit: _Visit, status: int, view: self_service.CardPage, mode: str, **context: Any
) -> Response[str]:
    """The card page, taking the card (or a mandate) the `mode` way, with what that way shows."""
    return visit.render(
        status,
        "card.html",
        "title_card",
        stripe=mode == "stripe",
        razorpay=mode == "razorpay",
        view=view,
        card_label=_card_label(visit, view),
        mode=mode,
        action="/pages/card",
        outcome=context.pop("outcome", None),
        **context,
    )


# -- a new mandate (Razorpay) ----------------------------------------------------------------------
def _mandate_sandbox(visit: _Visit, view: self_service.CardPage) -> bool:
    """Whether the customer's provider is a sandbox that plays Checkout (locally)."""
    gateway = visit.svc.gateway_for(view.customer.provider)
    return isinstance(gateway, new_mandate.RegistersInSandbox)


def _mandate_card(
    visit: _Visit,
    status: int,
    view: self_service.CardPage,
    kind: str | None = None,
    open_now: bool = False,
    **context: Any,
) -> Response[str]:
    """The card page of a customer who pays on a mandate: the mandate on file, and a new one
    of the kind the customer chooses (`kind`; by default the kind on file, else UPI) given
    in Razorpay Checkout (its registration opened with `recurring: 1`; `open_now` when the
    customer just asked for it), or, locally, in the sandbox's form standing in for it."""
    headroom = visit.settings.mandate_headroom_percent
    chosen = kind or new_mandate.default_kind(visit.svc, view.customer.id)
    kinds = {
        "legend": visit.text("mandate_kind_legend"),
        "options": [(k, visit.text(f"mandate_kind_{k}")) for k in new_mandate.MANDATE_KINDS],
        "chosen": chosen,
        "example": MANDATE_EXAMPLES[chosen],
        "examples": MANDATE_EXAMPLES,
    }
    extra: dict[str, Any]
    if _mandate_sandbox(visit, view):
        limit = new_mandate.mandate_max_amount(visit.svc, view.customer.id, headroom)
        mode, extra = "razorpay_sandbox", {"test_data": RAZORPAY_TEST_DATA}
    else:
        offer = new_mandate.begin_new_mandate(
            visit.svc, view.customer.id, headroom, visit.svc.clock.now(), chosen
        )
        limit = offer.terms.max_amount
        checkout = _mandate_options(visit, offer)
        mode, extra = "razorpay", {"checkout": checkout, "open_now": open_now}
    return _card_page(
        visit,
        status,
        view,
        mode,
        mandate_limit=limit,
        registration_amount=Money(REGISTRATION_AMOUNT, new_mandate.MANDATE_CURRENCY),
        kinds=kinds,
        **extra,
        **context,
    )


def _mandate_options(visit: _Visit, offer: new_mandate.MandateOffer) -> dict[str, Any]:
    """Razorpay Checkout's options for authorising the registration order: as for paying an
    order, with `recurring: 1` (a mandate, not a one-off payment) and the Razorpay customer
    the token will belong to."""
    checkout = offer.checkout
    options = _checkout_order(visit, checkout, visit.text("mandate_heading"))
    return options | {"customer_id": checkout.provider_customer_id, "recurring": "1"}


def _checkout_order(visit: _Visit, checkout: CheckoutOrder, description: str) -> dict[str, Any]:
    """Razorpay Checkout's options for an order it already holds: the key id, the order,
    its amount and currency, the business, the customer's prefill, and the notes the
    payment will carry (the page writes them with sorted keys)."""
    prefill = {"email": checkout.email, "contact": checkout.contact}
    return {
        "key": checkout.key_id,
        "order_id": checkout.order_id,
        "amount": checkout.amount.amount_minor,
        "currency": checkout.amount.currency,
        "name": visit.settings.business_name,
        "description": description,
        "prefill": {k: v for k, v in prefill.items() if v},
        "notes": dict(checkout.notes),
    }


def _take_mandate(visit: _Visit) -> Response[str]:
    """Checkout's answer for the registration (or, locally, the sandbox asked to play it),
    verified before anything is attached; an answer that does not check out attaches
    nothing, and one already taken changes nothing."""
    customer_id, form = visit.claims.customer_id, visit.form
    view = self_service.load_card_page(visit.svc, customer_id)
    headroom = visit.settings.mandate_headroom_percent
    kind = form.get("mandate_kind")
    if kind is not None and kind not in new_mandate.MANDATE_KINDS:
        # A kind no page offers: refused before anything is asked of Razorpay.
        text = visit.text("mandate_kind_invalid")
        return _mandate_card(visit, 422, view, outcome=_outcome("bad", text))
    try:
        if "razorpay_signature" in form:
            answer = _checkout_answer(form)
            done = new_mandate.take_new_mandate(visit.svc, customer_id, answer)
        elif _mandate_sandbox(visit, view):
            method = razorpay_method_for(form.get("pay_with", ""))
            if method is None:
                text = visit.text("not_razorpay_test_data")
                return _mandate_card(visit, 422, view, kind, outcome=_outcome("bad", text))
            if kind is not None and method != kind:
                name = visit.text(f"mandate_kind_name_{kind}")
                text = visit.text("mandate_kind_mismatch", kind=name)
                return _mandate_card(visit, 422, view, kind, outcome=_outcome("bad", text))
            given = new_mandate.give_mandate_in_sandbox(
                visit.svc, customer_id, form["pay_with"], method, headroom
            )
            if isinstance(given, PaymentResult):
                code = given.decline_code or str(given.outcome)
                text = visit.text("mandate_failed", code=code)
                return _mandate_card(visit, 200, view, outcome=_outcome("bad", text))
            done = given
        elif kind is not None:
            # The customer chose a kind other than the one the page's order was made for:
            # its registration order, and Checkout opened for it.
            return _mandate_card(visit, 200, view, kind, open_now=True)
        else:
            # Deployed, the mandate is authorised in Checkout: only its answer is taken here.
            return _message(visit, 405, "title_card", "bad", "unavailable", "unavailable_body")
    except UnverifiedCheckoutError as exc:
        logger.warning("mandate answer refused", extra={"code": exc.code})
        text = visit.text("checkout_unverified")
        return _mandate_card(visit, 400, view, outcome=_outcome("bad", text))
    except new_mandate.MandateAnswerUsedError:
        logger.info("mandate answer replayed")
        text = visit.text("mandate_answer_used")
        return _mandate_card(visit, 409, view, outcome=_outcome("bad", text))
    except ValidationFailedError:
        # The answer checked out, but Razorpay would not hand over a confirmed token for it.
        text = visit.text("mandate_refused")
        return _mandate_card(visit, 422, view, outcome=_outcome("bad", text))
    key = "mandate_saved_retry" if done.owed else "mandate_saved"
    return _mandate_card(visit, 200, done, outcome=_outcome("ok", visit.text(key)))


def _checkout_answer(form: dict[str, str]) -> CheckoutAnswer:
    """What Checkout's handler posted (checked against its signature before it counts)."""
    return CheckoutAnswer(
        payment_id=form.get("razorpay_payment_id", ""),
        order_id=form.get("razorpay_order_id", ""),
        signature=form["razorpay_signature"],
    )


def _card_label(visit: _Visit, view: self_service.CardPage) -> str:
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
def _confirm_mode(visit: _Visit, view: self_service.ConfirmPage) -> str:
    """How the waiting payment is confirmed: in Razorpay Checkout (or, locally, the sandbox's
    stand-in for it) when the attempt was made there, else by the default provider's way."""
    if self_service.pays_in_checkout(visit.svc, view):
        gateway = visit.svc.gateway_for(view.charge)
        sandbox = isinstance(gateway, self_service.ChecksOutInSandbox)
        return "razorpay_sandbox" if sandbox else "razorpay"
    return visit.mode


@_route("GET", "/pages/confirm", LinkPurpose.CONFIRM_PAYMENT)
def _show_confirm(visit: _Visit) -> Response[str]:
    view = self_service.load_confirm_page(visit.svc, visit.claims.customer_id, visit.claims.subject)
    if view.charge is None:
        raise NothingToConfirmError(view.invoice.id)
    mode = _confirm_mode(visit, view)
    if mode == "razorpay":
        auth = self_service.payment_authentication(visit.svc, view)
        assert auth.checkout is not None  # a Razorpay order always gives its checkout
        return _confirm_page(visit, 200, view, checkout=_checkout_options(visit, view, auth))
    if mode == "razorpay_sandbox":
        return _confirm_page(visit, 200, view, test_data=RAZORPAY_TEST_DATA)
    if visit.mode == "stripe":
        key = _stripe_key(visit)
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


def _checkout_options(
    visit: _Visit, view: self_service.ConfirmPage, auth: PaymentAuthentication
) -> dict[str, Any]:
    """Razorpay Checkout's options for paying the waiting order (its "existing order" form:
    the key id, the order, its amount and currency, the customer's prefill, and the notes the
    payment will carry so that its webhook names the attempt)."""
    checkout = auth.checkout
    assert checkout is not None
    options = _checkout_order(visit, checkout, visit.text("title_confirm"))
    if checkout.provider_customer_id:
        options["customer_id"] = checkout.provider_customer_id
    return options


@_route("POST", "/pages/confirm", LinkPurpose.CONFIRM_PAYMENT)
def _confirm(visit: _Visit) -> Response[str]:
    customer_id, invoice_id = visit.claims.customer_id, visit.claims.subject
    current = self_service.load_confirm_page(visit.svc, customer_id, invoice_id)
    if current.charge is not None and _confirm_mode(visit, current).startswith("razorpay"):
        return _confirm_checkout(visit, current)
    view, result = self_service.confirm_on_session(visit.svc, customer_id, invoice_id)
    return _confirmed(visit, view, result)


def _confirm_checkout(visit: _Visit, current: self_service.ConfirmPage) -> Response[str]:
    """The customer paid in Razorpay Checkout (its handler posted the answer here), or, in
    the sandbox, asks the sandbox to pay as Checkout would. Either way the answer is verified
    before anything is settled; one that does not check out settles nothing."""
    customer_id, invoice_id = visit.claims.customer_id, visit.claims.subject
    form = visit.form
    try:
        if "razorpay_signature" in form:
            answer = _checkout_answer(form)
            view, result = self_service.confirm_in_checkout(
                visit.svc, customer_id, invoice_id, answer
            )
        elif _confirm_mode(visit, current) == "razorpay_sandbox":
            pay_with = form.get("pay_with", "")
            if razorpay_token_for(pay_with) is None:
                text = visit.text("not_razorpay_test_data")
                return _confirm_page(
                    visit, 422, current, test_data=RAZORPAY_TEST_DATA, outcome=_outcome("bad", text)
                )
            view, result = self_service.pay_in_sandbox_checkout(
                visit.svc, customer_id, invoice_id, pay_with
            )
        else:
            # Deployed, the payment is made in Checkout: only its answer is taken here.
            return _message(visit, 405, "title_confirm", "bad", "unavailable", "unavailable_body")
    except UnverifiedCheckoutError as exc:
        logger.warning("checkout answer refused", extra={"code": exc.code})
        text = visit.text("checkout_unverified")
        return _confirm_page(visit, 400, current, outcome=_outcome("bad", text))
    return _confirmed(visit, view, result)


def _confirmed(
    visit: _Visit, view: self_service.ConfirmPage, result: PaymentResult
) -> Response[str]:
    if view.charge is None:
        return _confirm_page(visit, 200, view, outcome=_outcome("ok", visit.text("paid_thanks")))
    if result.outcome is ChargeOutcome.SUCCEEDED:
        # The provider took the payment but it is not recorded yet: its webhook records it.
        text = visit.text("stripe_confirmed")
        return _confirm_page(visit, 200, view, outcome=_outcome("ok", text))
    code = result.decline_code or str(result.outcome)
    return _confirm_page(
        visit, 200, view, outcome=_outcome("bad", visit.text("confirm_failed", code=code))
    )


def _confirm_page(
    visit: _Visit, status: int, view: self_service.ConfirmPage, **context: Any
) -> Response[str]:
    mode = _confirm_mode(visit, view) if view.charge is not None else visit.mode
    if mode == "razorpay_sandbox" and "test_data" not in context:
        context["test_data"] = RAZORPAY_TEST_DATA
    if mode == "razorpay" and "checkout" not in context:
        auth = self_service.payment_authentication(visit.svc, view)
        context["checkout"] = _checkout_options(visit, view, auth)
    return visit.render(
        status,
        "confirm.html",
        "title_confirm",
        stripe=mode == "stripe",
        razorpay=mode == "razorpay",
        view=view,
        mode=mode,
        action="/pages/confirm",
        outcome=context.pop("outcome", None),
        **context,
    )


# -- the subscription ---------------------------------------------------------------------------
_DONE = {
    "pause": "paused_done",
    "cancel": "cancel_done",
    "keep": "keep_done",
    "accept_offer": "offer_done",
    "decline_offers": "cancel_done",
}
# The actions that cancel, and so carry the exit reason the customer picked.
_CANCELLING = ("cancel", "decline_offers")


class _FormFieldRefused(Exception):
    """A page form's field the customer can correct: answered 422 with the page and `text`."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.values = key, values


@_route("GET", "/pages/subscription", LinkPurpose.MANAGE_SUBSCRIPTION)
def _show_subscription(visit: _Visit) -> Response[str]:
    return _subscription(visit, 200, _subscription_now(visit))


def _subscription_now(visit: _Visit) -> self_service.SubscriptionPage:
    """The link's subscription page as it stands now (after a refusal: as it was)."""
    claims = visit.claims
    return self_service.load_subscription_page(
        visit.svc, claims.customer_id, claims.subject, visit.link
    )


def _subscription_refused(visit: _Visit, status: int, text: str) -> Response[str]:
    """The subscription page as it stands, saying why the form changed nothing."""
    return _subscription(visit, status, _subscription_now(visit), _outcome("bad", text))


@_route("POST", "/pages/subscription", LinkPurpose.MANAGE_SUBSCRIPTION)
def _change_subscription(visit: _Visit) -> Response[str]:
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    action = visit.form.get("action", "")
    if action == "redeem_points":
        return _redeem_points(visit)
    if action in ("preview_plan", "change_plan"):
        return _switch_plan(visit, action)
    if action in ("preview_items", "change_items"):
        return _switch_items(visit, action)
    reason, reason_text, months = None, None, None
    try:
        if action in _CANCELLING:
            reason, reason_text = _exit_reason(visit.form)
        if action == "pause":
            months = _pause_months(visit.form)
        view = self_service.change_subscription(
            visit.svc,
            customer_id,
            subscription_id,
            action,
            visit.link,
            visit.form.get("offer"),
            reason=reason,
            reason_text=reason_text,
            months=months,
        )
    except _FormFieldRefused as refused:
        return _subscription_refused(visit, 422, visit.text(refused.key, **refused.values))
    except LinkAlreadyUsedError as exc:
        return _subscription_refused(visit, 409, visit.text(f"link_used_{exc.action}"))
    except (IllegalTransitionError, ValidationFailedError, NotFoundError) as exc:
        reason = str(exc).removeprefix("action: ")
        return _subscription_refused(visit, 409, visit.text("action_failed", reason=reason))
    if view.offers:
        intro = _outcome("ok", visit.text("offers_intro"))
        # Declining the offers goes on with this cancellation: it carries the same reason.
        return _subscription(visit, 200, view, intro, reason=reason, reason_text=reason_text)
    if action == "pause" and months is not None and view.subscription.paused_until is not None:
        until = pages.day(view.subscription.paused_until, visit.locale, view.customer.timezone)
        return _subscription(
            visit, 200, view, _outcome("ok", visit.text("paused_done_until", date=until))
        )
    done = _DONE.get(action)
    return _subscription(visit, 200, view, _outcome("ok", visit.text(done)) if done else None)


def _pause_months(form: dict[str, str]) -> int | None:
    """The months a pause form asks for: exactly one of the page's choices, written as the
    page writes it ("1", "2", "3"); none at all pauses for one period, as the page's first
    pause button did."""
    if "months" not in form:
        return None
    raw = form["months"]
    choices = {str(m): m for m in self_service.PAUSE_MONTHS}
    if raw not in choices:  # no stripping, no Unicode digits, no "01": only what the page sends
        raise _FormFieldRefused("pause_months_invalid")
    return choices[raw]


def _exit_reason(form: dict[str, str]) -> tuple[str, str | None]:
    """The exit reason a cancel form carries, one of EXIT_REASONS (required), and the
    customer's words, kept only with "other" (a browser sends the text box whichever
    reason ends up picked)."""
    reason = form.get("reason", "")
    if reason not in EXIT_REASONS:
        raise _FormFieldRefused("exit_reason_missing")
    text = " ".join(form.get("reason_text", "").split())  # one line, as typed
    if len(text) > PAGE_REASON_TEXT_MAX:
        raise _FormFieldRefused("exit_reason_too_long", max=str(PAGE_REASON_TEXT_MAX))
    return reason, (text or None) if reason == "other" else None


def _switch_plan(visit: _Visit, action: str) -> Response[str]:
    """Preview a plan change (nothing changes), or make the change the preview showed."""
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    plan_id = visit.form.get("plan", "")
    try:
        if action == "preview_plan":
            view = self_service.preview_plan_change(
                visit.svc, customer_id, subscription_id, plan_id, visit.link
            )
            return _subscription(visit, 200, view)
        view = self_service.change_plan(
            visit.svc, customer_id, subscription_id, plan_id, visit.link
        )
    except ValidationFailedError as exc:
        view = _subscription_now(visit)
        if exc.field == "plan" and view.plan_choices:
            return _subscription(visit, 422, view, _outcome("bad", visit.text("plan_not_offered")))
        text = visit.text("action_failed", reason=str(exc).removeprefix("plan: "))
        return _subscription(visit, 409, view, _outcome("bad", text))
    except IllegalTransitionError as exc:
        return _subscription_refused(visit, 409, visit.text("action_failed", reason=str(exc)))
    done = visit.text("plan_changed", plan=view.plan.name or view.plan.id)
    return _subscription(visit, 200, view, _outcome("ok", done))


def _switch_items(visit: _Visit, action: str) -> Response[str]:
    """Preview a change of seats or add-ons (nothing changes), or make the change the
    preview showed. Confirming the items the subscription already has is answered as done
    (a double submit), changing nothing."""
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    view = _subscription_now(visit)
    try:
        items = _asked_items(visit.form, view)
        if action == "preview_items" and items == view.subscription.items:
            raise _FormFieldRefused("items_same")
        if action == "preview_items":
            view = self_service.preview_items_change(
                visit.svc, customer_id, subscription_id, items, visit.link
            )
            return _subscription(visit, 200, view)
        view = self_service.change_items(visit.svc, customer_id, subscription_id, items, visit.link)
    except _FormFieldRefused as refused:
        text = visit.text(refused.key, **refused.values)
        return _subscription(visit, 422, view, _outcome("bad", text))
    except (ValidationFailedError, IllegalTransitionError) as exc:
        text = visit.text("action_failed", reason=str(exc).removeprefix("items: "))
        return _subscription_refused(visit, 409, text)
    return _subscription(visit, 200, view, _outcome("ok", visit.text("items_changed")))


def _asked_items(form: dict[str, str], view: self_service.SubscriptionPage) -> Items:
    """The seats and add-ons an items form asks for: the add-ons read are only those the
    page offers (`addon_<id>` ticked, `addon_qty_<id>` how many); each quantity a whole
    number from 1 to MAX_QUANTITY, written in ASCII digits."""
    quantity = _item_quantity(form.get("quantity", ""))
    addons = tuple(
        Item(plan.id, _item_quantity(form.get(f"addon_qty_{plan.id}", "1")))
        for plan in view.addon_choices
        if form.get(f"addon_{plan.id}") == "1"
    )
    return Items(quantity, addons)


def _ascii_number(text: str, max_digits: int) -> bool:
    """Whether `text` is 1 to `max_digits` ASCII digits (int() would also read Arabic-Indic
    and other Unicode digits, which no browser's number field sends)."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def _item_quantity(raw: str) -> int:
    text = raw.strip()
    if not _ascii_number(text, len(str(MAX_QUANTITY))):
        raise _FormFieldRefused("items_quantity_invalid", max=str(MAX_QUANTITY))
    if not 1 <= int(text) <= MAX_QUANTITY:
        raise _FormFieldRefused("items_quantity_invalid", max=str(MAX_QUANTITY))
    return int(text)


def _item_list(visit: _Visit, plan: Plan, items: Items | None) -> str:
    """The items a preview is for, as the page words them: "Team × 8, SSO × 1"."""
    named = [(p.name, p.quantity) for p in plan.items] or [
        (plan.name or plan.id, items.quantity if items is not None else 1)
    ]
    return ", ".join(
        visit.text("item_times", item=name, quantity=str(quantity)) for name, quantity in named
    )


def _redeem_points(visit: _Visit) -> Response[str]:
    customer_id, subscription_id = visit.claims.customer_id, visit.claims.subject
    view = _subscription_now(visit)
    if view.points is None:  # the loyalty program is off: the page shows no such form
        return _subscription(visit, 409, view, _outcome("bad", visit.text("points_off")))
    try:
        count = _points_count(visit.form.get("points", ""), view.points.balance)
        view = self_service.redeem_points(
            visit.svc, customer_id, subscription_id, count, visit.link, visit.form.get("f", "")
        )
    except _FormFieldRefused as refused:
        text = visit.text(refused.key, **refused.values)
        return _subscription(visit, 422, view, _outcome("bad", text))
    except ValidationFailedError:
        # Nothing to invoice the credit on, or a concurrent redemption took the points.
        return _subscription_refused(visit, 409, visit.text("points_refused"))
    value = pages.money(count * view.point_value_minor, view.subscription.currency, visit.locale)
    done = visit.text("points_done", points=str(count), value=value)
    return _subscription(visit, 200, view, _outcome("ok", done))


def _points_count(raw: str, balance: int) -> int:
    """The whole number of points a redeem form asks for, within `balance`."""
    text = raw.strip()
    if not _ascii_number(text, MAX_POINTS_DIGITS):
        if text.isascii() and text.isdigit():  # all digits, only too many: over any balance
            raise _FormFieldRefused("points_over_balance", balance=str(balance))
        raise _FormFieldRefused("points_not_a_number")
    count = int(text)
    if count == 0:
        raise _FormFieldRefused("points_zero")
    if count > balance:
        raise _FormFieldRefused("points_over_balance", balance=str(balance))
    return count


def _subscription(
    visit: _Visit,
    status: int,
    view: self_service.SubscriptionPage,
    outcome: dict[str, str] | None = None,
    reason: str | None = None,
    reason_text: str | None = None,
) -> Response[str]:
    return visit.render(
        status,
        "subscription.html",
        "title_subscription",
        view=view,
        actions=[] if view.offers else [a for a in _actions(view) if a[0] not in view.used],
        offers=[(offer_id, visit.text(key, **words)) for offer_id, key, words in view.offers],
        action_url="/pages/subscription",
        outcome=outcome,
        exit_reasons=EXIT_REASONS,
        reason=reason,
        reason_text=reason_text,
        reason_text_max=PAGE_REASON_TEXT_MAX,
        plan_price=lambda plan: _plan_price(visit, plan),
        item_list=lambda plan, items: _item_list(visit, plan, items),
        max_quantity=MAX_QUANTITY,
        points_value=(
            pages.money(
                view.points.balance * view.point_value_minor,
                view.subscription.currency,
                visit.locale,
            )
            if view.points is not None and view.points.balance > 0
            else None
        ),
    )


def _plan_price(visit: _Visit, plan: Plan) -> str:
    """A plan's price as the page words it: "$20.00 every month", "$50.00 every 3 months"."""
    amount = pages.money(plan.amount, plan.currency, visit.locale)
    unit = str(plan.interval)
    if plan.interval_count == 1:
        return visit.text(f"every_{unit}", amount=amount)
    return visit.text(f"every_n_{unit}", amount=amount, count=str(plan.interval_count))


def _actions(view: self_service.SubscriptionPage) -> list[tuple[str, str, str]]:
    """(action, label, style) of the buttons the subscription's state allows."""
    sub = view.subscription
    if sub.status is SubscriptionStatus.CANCELED:
        return [("come_back", "come_back", "")]
    if sub.status is SubscriptionStatus.PAUSED:
        return [("keep", "resume", "")]
    if sub.cancel_at_period_end:
        return [("keep", "keep", "")]
    found = []
    if sub.status is SubscriptionStatus.ACTIVE:
        found.append(("pause", "pause", "secondary"))
    if sub.status in (
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    ):
        found.append(("cancel", "cancel", "secondary"))
    return found


# -- a collections case ----------------------------------------------------------------------
@_route("GET", "/pages/collections", LinkPurpose.COLLECTIONS)
def _show_collections(visit: _Visit) -> Response[str]:
    claims = visit.claims
    view = collections_page.load_collections_page(visit.svc, claims.customer_id, claims.subject)
    return _collections(visit, 200, view)


@_route("POST", "/pages/collections", LinkPurpose.COLLECTIONS)
def _settle_case(visit: _Visit) -> Response[str]:
    """Pay the balance in full now, or choose a repayment plan: the API's services, so the
    same refusals (nothing written) whichever way the customer comes."""
    customer_id, case_id = visit.claims.customer_id, visit.claims.subject
    view = collections_page.load_collections_page(visit.svc, customer_id, case_id)
    action = visit.form.get("action", "")
    try:
        if action == "pay":
            view = collections_page.pay_in_full(visit.svc, customer_id, case_id)
        elif action == "plan":
            count, every = _repayment_choice(visit.form, view)
            view = collections_page.choose_plan(visit.svc, customer_id, case_id, count, every)
        else:
            raise _FormFieldRefused("repayment_invalid")
    except _FormFieldRefused as refused:
        return _collections(visit, 422, view, _outcome("bad", visit.text(refused.key)))
    except (IllegalTransitionError, ValidationFailedError) as exc:
        view = collections_page.load_collections_page(visit.svc, customer_id, case_id)
        text = visit.text("action_failed", reason=str(exc))
        return _collections(visit, 409, view, _outcome("bad", text))
    case = view.case
    if case.status == "settled":
        return _collections(visit, 200, view, _outcome("ok", visit.text("paid_thanks")))
    if action == "pay":
        if invoice_id := collections_page.payment_to_confirm(visit.svc, view):
            # The bank asks the customer to confirm: send them on to the page that does it,
            # with the same way back, rather than telling them it failed.
            confirm_url = _onward_link(visit, LinkPurpose.CONFIRM_PAYMENT, invoice_id)
            outcome = _outcome("bad", visit.text("case_pay_needs_confirmation"))
            return _collections(visit, 200, view, outcome, confirm_url=confirm_url)
        # Declined: the instalment is dunned like any, and the emails say what comes next;
        # the page offers the card page the message mentions, rather than a dead end.
        card_url = _onward_link(visit, LinkPurpose.UPDATE_CARD, customer_id)
        outcome = _outcome("bad", visit.text("case_pay_declined"))
        return _collections(visit, 200, view, outcome, card_url=card_url)
    return _collections(visit, 200, view, _outcome("ok", visit.text("case_plan_chosen")))


def _onward_link(visit: _Visit, purpose: LinkPurpose, subject: str) -> str:
    """A signed link for the same customer to another page, with the same way back."""
    url, _ = make_portal_link(
        visit.settings,
        visit.claims.customer_id,
        purpose,
        subject,
        visit.svc.clock.now(),
        visit.claims.return_url,
    )
    return url


def _repayment_choice(
    form: dict[str, str], view: collections_page.CollectionsPage
) -> tuple[int, str]:
    """The count and interval a plan form asks for, exactly as the page writes them: a count
    the policy allows in ASCII digits ("3", never " 3", "03" or Arabic-Indic digits), and one
    of the policy's intervals."""
    counts = {str(n): n for n in view.counts}
    raw_count, every = form.get("count", ""), form.get("every", "")
    if raw_count not in counts or every not in {str(e) for e in view.policy.every}:
        raise _FormFieldRefused("repayment_invalid")
    return counts[raw_count], every


def _collections(
    visit: _Visit,
    status: int,
    view: collections_page.CollectionsPage,
    outcome: dict[str, str] | None = None,
    confirm_url: str | None = None,
    card_url: str | None = None,
) -> Response[str]:
    from tenure.notify.lines import case_line_facts
    from tenure.notify.render import worded_facts  # Babel's import: paid by the pages only

    facts = case_line_facts(view.case, view.invoices)
    lines = worded_facts(facts, visit.locale, view.customer.timezone or "UTC")
    return visit.render(
        status,
        "collections.html",
        "title_collections",
        view=view,
        lines=lines,
        action_url="/pages/collections",
        outcome=outcome,
        confirm_url=confirm_url,
        card_url=card_url,
    )


# -- an invoice, printable --------------------------------------------------------------------
@_route("GET", "/pages/invoice", LinkPurpose.MANAGE_SUBSCRIPTION)
def _show_invoice(visit: _Visit) -> Response[str]:
    claims = visit.claims
    invoice_id = router.current_event.get_query_string_value("invoice") or ""
    view = self_service.load_invoice_page(visit.svc, claims.customer_id, claims.subject, invoice_id)
    from tenure.notify.render import worded_lines  # Babel's import: paid by the pages only

    invoice, tz = view.invoice, view.customer.timezone
    lines = worded_lines(
        invoice.lines, invoice.period_start, invoice.period_end, visit.locale, tz or "UTC"
    )
    tax = sum(line.amount for line in invoice.lines if line.kind is LineKind.TAX)
    return visit.render(
        200,
        "invoice.html",
        "title_invoice",
        view=view,
        lines=lines,
        tax=tax,
        back_url="/pages/subscription",
    )


@_route("GET", "/pages/invoice/pdf", LinkPurpose.MANAGE_SUBSCRIPTION, binary=True)
def _download_invoice(visit: _Visit) -> Response[Any]:
    """The invoice page's PDF, under the same rules as the page: the link's customer's own
    invoices only."""
    invoice_id = router.current_event.get_query_string_value("invoice") or ""
    claims = visit.claims
    view = self_service.load_invoice_page(visit.svc, claims.customer_id, claims.subject, invoice_id)
    pdf = documents.invoice_pdf(visit.svc, view.invoice, documents.seller_of(visit.settings))
    return pdf_response(pdf, PRIVATE_DOWNLOAD)


# -- the one place where these routes turn refusals and errors into pages -------------------------
class BadForm(Exception):
    """A POST that is not a page's form: answered with `status`, nothing read further."""

    def __init__(self, status: int, reason: str, headline: str, body: str) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headline, self.body = status, reason, headline, body


def _page(purpose: LinkPurpose, show: Callable[[_Visit], Response[Any]]) -> Response[Any]:
    event = router.current_event
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
    visit = _Visit(svc, settings, claims, token, pages.locale_of(customer.locale), form)
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


def check_same_site(headers: dict[str, str], settings: Settings) -> None:
    """Refuse a POST a browser says came from another site.

    `Sec-Fetch-Site: cross-site` is refused outright. An `Origin` must be this deployment's:
    the public URL's origin, or the host the request was sent to (a custom domain in front of
    the API). A browser sends `Origin: null` for its own form when the page's referrer policy
    is `no-referrer` (ours is), so `null` passes only together with `Sec-Fetch-Site:
    same-origin`. Requests with neither header are not from a browser, and cannot ride a
    customer's browser: the form token still has to match."""
    site = (headers.get("sec-fetch-site") or "").strip().lower()
    if site == "cross-site":
        raise BadForm(403, "cross_site", "refused_form", "refused_form_body")
    origin = headers.get("origin")
    if origin is None:
        return
    origin = origin.strip().lower()
    if origin == "null":
        if site == "same-origin":
            return
        raise BadForm(403, "opaque_origin", "refused_form", "refused_form_body")
    ours = urlsplit(settings.public_url)
    if origin == f"{ours.scheme}://{ours.netloc}".lower():
        return
    host = (headers.get("host") or "").strip().lower()
    if host and urlsplit(origin).netloc == host:
        return
    raise BadForm(403, "foreign_origin", "refused_form", "refused_form_body")


def read_form(content_type: str | None, body: str | None, base64_encoded: bool) -> dict[str, str]:
    """The fields of an HTML form body, each once; BadForm for anything else."""
    media, _, params = (content_type or "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
    if media.strip().lower() != FORM_TYPE or charset not in ("utf-8", "utf8"):
        raise BadForm(415, "not_a_form", "refused_request", "refused_request_body")
    raw = body or ""
    if len(raw) > 2 * MAX_FORM_BYTES:  # over the limit even base64-encoded: not decoded
        raise BadForm(413, "too_large", "refused_request", "refused_request_body")
    try:
        data = base64.b64decode(raw, validate=True) if base64_encoded else raw.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BadForm(400, "bad_base64", "refused_request", "refused_request_body") from None
    if len(data) > MAX_FORM_BYTES:
        raise BadForm(413, "too_large", "refused_request", "refused_request_body")
    try:
        pairs = parse_qsl(
            data.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",  # %FF is not text: refused, not replaced by U+FFFD
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError too: raw or %-encoded bytes that are not UTF-8
        raise BadForm(400, "malformed", "refused_request", "refused_request_body") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:  # which one would the customer have meant? neither is guessed
            raise BadForm(400, "repeated_field", "refused_request", "refused_request_body")
        fields[name] = value
    return fields


def _accept_language(header: str | None) -> str:
    first = (header or "").split(",")[0].split(";")[0].strip()
    return pages.locale_of(first)
