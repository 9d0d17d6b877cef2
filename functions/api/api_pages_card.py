"""The card page (signed link from an email): replace the card on file, or, for a customer who
pays on a Razorpay mandate, give a new mandate. Also what the confirm page shares with it:
Razorpay Checkout's options and answer, and the Stripe.js key."""

from typing import Any

from api_pages_visit import Visit, message, outcome_of, page_route
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure.domain.customers import Customer
from tenure.domain.errors import ValidationFailedError
from tenure.domain.money import Money
from tenure.notify.customer_links import LinkKeyMissingError
from tenure.notify.link_tokens import LinkPurpose
from tenure.payments.gateway import (
    CheckoutAnswer,
    CheckoutOrder,
    PaymentResult,
    UnverifiedCheckoutError,
)
from tenure.payments.razorpay_gateway import REGISTRATION_AMOUNT
from tenure.payments.razorpay_sandbox import method_for as razorpay_method_for
from tenure.payments.sandbox import card_details, payment_method_for
from tenure.services import catalog, new_mandate, self_service

router = APIGatewayHttpRouter()
route = page_route(router)
logger = Logger(service="tenure-api", child=True)


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


# -- the card -----------------------------------------------------------------------------------
def _card_mode(visit: Visit, customer: Customer | None) -> str:
    """How this customer's card is taken: by their own provider's way when they chose one
    (Razorpay's mandates are authorised in its Checkout: no form here), else the default's."""
    if customer is not None and customer.provider is not None:
        gateway = visit.svc.gateway_for(customer.provider)
        return gateway.name if gateway is not None else "none"
    return visit.mode


@route("GET", "/pages/card", LinkPurpose.UPDATE_CARD)
def _show_card(visit: Visit) -> Response[str]:
    self_service.card_subject_is_owned(visit.svc, visit.claims.customer_id, visit.claims.subject)
    view = self_service.load_card_page(visit.svc, visit.claims.customer_id)
    if _card_mode(visit, view.customer) == "razorpay":
        return _mandate_card(visit, 200, view)
    if _card_mode(visit, view.customer) == "stripe":
        key = stripe_key(visit)
        secret = self_service.begin_card_setup(visit.svc, view.customer.id, visit.svc.clock.now())
        return _card(visit, 200, view, publishable_key=key, client_secret=secret)
    return _card(visit, 200, view)


def stripe_key(visit: Visit) -> str:
    """The publishable key Stripe.js is loaded with; a page misconfigured without it is 503."""
    key = visit.settings.stripe_publishable_key
    if not key:
        raise LinkKeyMissingError("TENURE_STRIPE_PUBLISHABLE_KEY is not set")
    return key


@route("POST", "/pages/card", LinkPurpose.UPDATE_CARD)
def _take_card(visit: Visit) -> Response[str]:
    customer_id = visit.claims.customer_id
    self_service.card_subject_is_owned(visit.svc, customer_id, visit.claims.subject)
    mode = _card_mode(visit, catalog.find_customer(visit.svc, customer_id))
    mandate_fields = ("razorpay_signature", "pay_with", "mandate_kind")
    if mode == "razorpay" and any(name in visit.form for name in mandate_fields):
        return _take_mandate(visit)
    if mode != "sandbox":
        # With Stripe the card goes from Stripe.js to Stripe, never through this form.
        return message(visit, 405, "title_card", "bad", "unavailable", "unavailable_body")
    method = payment_method_for(visit.form.get("card", "").replace("-", ""))
    if method is None:
        view = self_service.load_card_page(visit.svc, customer_id)
        return _card(visit, 422, view, outcome=outcome_of("bad", visit.text("not_a_test_card")))
    owed_before = {i.id for i in self_service.owed_invoices(visit.svc, customer_id)}
    try:
        view = self_service.replace_card(visit.svc, customer_id, method, visit.mode)
    except ValidationFailedError:
        view = self_service.load_card_page(visit.svc, customer_id)
        text = visit.text("card_refused", code="card_refused")
        return _card(visit, 422, view, outcome=outcome_of("bad", text))
    if view.retry_pending:
        return _card(
            visit, 200, view, outcome=outcome_of("ok", visit.text("card_saved_retry_later"))
        )
    still_owed = [i for i in view.owed if i.id in owed_before]
    if still_owed:
        code = view.last_declines.get(still_owed[0].id, "declined")
        return _card(visit, 200, view, outcome=outcome_of("bad", visit.text("declined", code=code)))
    text = visit.text("paid_thanks" if owed_before else "card_saved")
    return _card(visit, 200, view, outcome=outcome_of("ok", text))


def _card(visit: Visit, status: int, view: self_service.CardPage, **context: Any) -> Response[str]:
    mode = _card_mode(visit, view.customer)
    return _card_page(visit, status, view, mode, test_cards=TEST_CARDS, **context)


def _card_page(
    visit: Visit, status: int, view: self_service.CardPage, mode: str, **context: Any
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
def _mandate_sandbox(visit: Visit, view: self_service.CardPage) -> bool:
    """Whether the customer's provider is a sandbox that plays Checkout (locally)."""
    gateway = visit.svc.gateway_for(view.customer.provider)
    return isinstance(gateway, new_mandate.RegistersInSandbox)


def _mandate_card(
    visit: Visit,
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


def _mandate_options(visit: Visit, offer: new_mandate.MandateOffer) -> dict[str, Any]:
    """Razorpay Checkout's options for authorising the registration order: as for paying an
    order, with `recurring: 1` (a mandate, not a one-off payment) and the Razorpay customer
    the token will belong to."""
    checkout = offer.checkout
    options = checkout_order(visit, checkout, visit.text("mandate_heading"))
    return options | {"customer_id": checkout.provider_customer_id, "recurring": "1"}


def checkout_order(visit: Visit, checkout: CheckoutOrder, description: str) -> dict[str, Any]:
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


def _take_mandate(visit: Visit) -> Response[str]:
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
        return _mandate_card(visit, 422, view, outcome=outcome_of("bad", text))
    try:
        if "razorpay_signature" in form:
            answer = checkout_answer(form)
            done = new_mandate.take_new_mandate(visit.svc, customer_id, answer)
        elif _mandate_sandbox(visit, view):
            method = razorpay_method_for(form.get("pay_with", ""))
            if method is None:
                text = visit.text("not_razorpay_test_data")
                return _mandate_card(visit, 422, view, kind, outcome=outcome_of("bad", text))
            if kind is not None and method != kind:
                name = visit.text(f"mandate_kind_name_{kind}")
                text = visit.text("mandate_kind_mismatch", kind=name)
                return _mandate_card(visit, 422, view, kind, outcome=outcome_of("bad", text))
            given = new_mandate.give_mandate_in_sandbox(
                visit.svc, customer_id, form["pay_with"], method, headroom
            )
            if isinstance(given, PaymentResult):
                code = given.decline_code or str(given.outcome)
                text = visit.text("mandate_failed", code=code)
                return _mandate_card(visit, 200, view, outcome=outcome_of("bad", text))
            done = given
        elif kind is not None:
            # The customer chose a kind other than the one the page's order was made for:
            # its registration order, and Checkout opened for it.
            return _mandate_card(visit, 200, view, kind, open_now=True)
        else:
            # Deployed, the mandate is authorised in Checkout: only its answer is taken here.
            return message(visit, 405, "title_card", "bad", "unavailable", "unavailable_body")
    except UnverifiedCheckoutError as exc:
        logger.warning("mandate answer refused", extra={"code": exc.code})
        text = visit.text("checkout_unverified")
        return _mandate_card(visit, 400, view, outcome=outcome_of("bad", text))
    except new_mandate.MandateAnswerUsedError:
        logger.info("mandate answer replayed")
        text = visit.text("mandate_answer_used")
        return _mandate_card(visit, 409, view, outcome=outcome_of("bad", text))
    except ValidationFailedError:
        # The answer checked out, but Razorpay would not hand over a confirmed token for it.
        text = visit.text("mandate_refused")
        return _mandate_card(visit, 422, view, outcome=outcome_of("bad", text))
    key = "mandate_saved_retry" if done.owed else "mandate_saved"
    return _mandate_card(visit, 200, done, outcome=outcome_of("ok", visit.text(key)))


def checkout_answer(form: dict[str, str]) -> CheckoutAnswer:
    """What Checkout's handler posted (checked against its signature before it counts)."""
    return CheckoutAnswer(
        payment_id=form.get("razorpay_payment_id", ""),
        order_id=form.get("razorpay_order_id", ""),
        signature=form["razorpay_signature"],
    )


def _card_label(visit: Visit, view: self_service.CardPage) -> str:
    card = view.card
    if card is None:
        return ""
    brand, last4 = card.brand, card.last4
    if not (brand and last4) and (known := card_details(card.id)) is not None:
        brand, last4 = known["brand"], known["last4"]
    if not last4:
        return visit.text("card_ending", brand=(brand or "card").title(), last4="····")
    return visit.text("card_ending", brand=(brand or "card").title(), last4=last4)
