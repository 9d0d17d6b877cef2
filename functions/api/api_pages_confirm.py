"""The confirm page (signed link from an email): the customer, present, confirms a payment
that waits for them, with Stripe.js, in Razorpay Checkout, or in the sandbox's stand-in."""

from typing import Any

from api_pages_card import RAZORPAY_TEST_DATA, checkout_answer, checkout_order, stripe_key
from api_pages_visit import Visit, message, outcome_of, page_route
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure.domain.charges import ChargeOutcome
from tenure.notify.link_tokens import LinkPurpose
from tenure.payments.gateway import PaymentAuthentication, PaymentResult, UnverifiedCheckoutError
from tenure.payments.razorpay_sandbox import token_for as razorpay_token_for
from tenure.services import self_service
from tenure.services.self_service import NothingToConfirmError

router = APIGatewayHttpRouter()
route = page_route(router)
logger = Logger(service="tenure-api", child=True)


# -- confirming a payment -----------------------------------------------------------------------
def _confirm_mode(visit: Visit, view: self_service.ConfirmPage) -> str:
    """How the waiting payment is confirmed: in Razorpay Checkout (or, locally, the sandbox's
    stand-in for it) when the attempt was made there, else by the default provider's way."""
    if self_service.pays_in_checkout(visit.svc, view):
        gateway = visit.svc.gateway_for(view.charge)
        sandbox = isinstance(gateway, self_service.ChecksOutInSandbox)
        return "razorpay_sandbox" if sandbox else "razorpay"
    return visit.mode


@route("GET", "/pages/confirm", LinkPurpose.CONFIRM_PAYMENT)
def _show_confirm(visit: Visit) -> Response[str]:
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
        key = stripe_key(visit)
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
    visit: Visit, view: self_service.ConfirmPage, auth: PaymentAuthentication
) -> dict[str, Any]:
    """Razorpay Checkout's options for paying the waiting order (its "existing order" form:
    the key id, the order, its amount and currency, the customer's prefill, and the notes the
    payment will carry so that its webhook names the attempt)."""
    checkout = auth.checkout
    assert checkout is not None
    options = checkout_order(visit, checkout, visit.text("title_confirm"))
    if checkout.provider_customer_id:
        options["customer_id"] = checkout.provider_customer_id
    return options


@route("POST", "/pages/confirm", LinkPurpose.CONFIRM_PAYMENT)
def _confirm(visit: Visit) -> Response[str]:
    customer_id, invoice_id = visit.claims.customer_id, visit.claims.subject
    current = self_service.load_confirm_page(visit.svc, customer_id, invoice_id)
    if current.charge is not None and _confirm_mode(visit, current).startswith("razorpay"):
        return _confirm_checkout(visit, current)
    view, result = self_service.confirm_on_session(visit.svc, customer_id, invoice_id)
    return _confirmed(visit, view, result)


def _confirm_checkout(visit: Visit, current: self_service.ConfirmPage) -> Response[str]:
    """The customer paid in Razorpay Checkout (its handler posted the answer here), or, in
    the sandbox, asks the sandbox to pay as Checkout would. Either way the answer is verified
    before anything is settled; one that does not check out settles nothing."""
    customer_id, invoice_id = visit.claims.customer_id, visit.claims.subject
    form = visit.form
    try:
        if "razorpay_signature" in form:
            answer = checkout_answer(form)
            view, result = self_service.confirm_in_checkout(
                visit.svc, customer_id, invoice_id, answer
            )
        elif _confirm_mode(visit, current) == "razorpay_sandbox":
            pay_with = form.get("pay_with", "")
            if razorpay_token_for(pay_with) is None:
                text = visit.text("not_razorpay_test_data")
                return _confirm_page(
                    visit,
                    422,
                    current,
                    test_data=RAZORPAY_TEST_DATA,
                    outcome=outcome_of("bad", text),
                )
            view, result = self_service.pay_in_sandbox_checkout(
                visit.svc, customer_id, invoice_id, pay_with
            )
        else:
            # Deployed, the payment is made in Checkout: only its answer is taken here.
            return message(visit, 405, "title_confirm", "bad", "unavailable", "unavailable_body")
    except UnverifiedCheckoutError as exc:
        logger.warning("checkout answer refused", extra={"code": exc.code})
        text = visit.text("checkout_unverified")
        return _confirm_page(visit, 400, current, outcome=outcome_of("bad", text))
    return _confirmed(visit, view, result)


def _confirmed(
    visit: Visit, view: self_service.ConfirmPage, result: PaymentResult
) -> Response[str]:
    if view.charge is None:
        return _confirm_page(visit, 200, view, outcome=outcome_of("ok", visit.text("paid_thanks")))
    if result.outcome is ChargeOutcome.SUCCEEDED:
        # The provider took the payment but it is not recorded yet: its webhook records it.
        text = visit.text("stripe_confirmed")
        return _confirm_page(visit, 200, view, outcome=outcome_of("ok", text))
    code = result.decline_code or str(result.outcome)
    return _confirm_page(
        visit, 200, view, outcome=outcome_of("bad", visit.text("confirm_failed", code=code))
    )


def _confirm_page(
    visit: Visit, status: int, view: self_service.ConfirmPage, **context: Any
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
