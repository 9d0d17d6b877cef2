"""The Razorpay sandbox: Razorpay's REST endpoints that Tenure uses, kept in memory, as a
transport for the real `RazorpayGateway` (so the simulator and `tenure serve` run the
adapter's own code, not a copy of it), with Razorpay's public test data.

Test data (razorpay.com/docs, "Test UPI ID details", "Test card details"): the UPI ids
`success@razorpay` and `failure@razorpay`, and the Indian domestic test cards
4100 2800 0000 1007 (Visa) and 5500 6700 0000 1002 (Mastercard); each stands for a confirmed
recurring token (`token_…`), as the mandate's authorisation in Razorpay Checkout would make
one. A debit on `failure@razorpay` fails (`payment_failed`, a soft decline: retried by
dunning until the customer gives another token). Debits settle at once (Razorpay's test mode
settles them about five minutes after creation; a simulation has no use for the wait).

A debit above ₹15,000 needs the customer present: the adapter leaves an order waiting, and
the customer pays it in Razorpay Checkout. The sandbox stands in for Checkout with
`POST /v1/sandbox/checkout` (not Razorpay's: no such endpoint exists there): it pays the
order with a test UPI id or card as the customer would, and answers as Checkout's handler
does, signed with the sandbox key's secret, or as its `payment.failed` callback does. Since
the default test tokens carry Razorpay's default ₹15,000 limit, one more test UPI id of the
sandbox's own, `lakh@sandbox` (not Razorpay test data), stands for a UPI mandate of up to
₹1,00,000, so that such a debit can be tried.

The same stand-in authorises a new mandate: paying a registration order (one made with
`token` terms) with a test UPI id or card of the order's method makes a token on the order's
terms (`token_sbx…`, its `max_amount`), which only the paying Razorpay customer can use.

What happens at Razorpay on its own is here too, for the simulator's provider-side actions:
a refund failing at the customer's bank (`fail_refund`), a dispute opened and decided
(`open_dispute`, `close_dispute`).

Every change is recorded in `events` as the webhook Razorpay would send
(`{"id", "type", "created", "body"}`, the body as Razorpay shapes it), for the simulator's
courier to deliver to /webhooks/razorpay.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tenure.payments.gateway import CheckoutAnswer, CheckoutOrder, PaymentResult
from tenure.payments.razorpay_gateway import (
    HttpRequest,
    HttpResponse,
    RazorpayGateway,
    _Declined,
    checkout_signature,
)

# Razorpay's default ceiling on a UPI AutoPay mandate and a card e-mandate debit without a
# fresh authentication (RBI's e-mandate framework): ₹15,000, in paise.
DEFAULT_MANDATE_MAX = 1_500_000
SANDBOX_KEY = ("rzp_test_sandbox", "sandbox_secret")


@dataclass(frozen=True, slots=True)
class SandboxMandate:
    token: str
    method: str  # "card" | "upi"
    succeeds: bool
    network: str | None = None
    last4: str = ""
    vpa: str = ""
    max_amount: int = DEFAULT_MANDATE_MAX


# A UPI AutoPay mandate may be set up for more than ₹15,000 (each debit above that then needs
# the customer's UPI PIN): ₹1,00,000, in paise.
LAKH_MANDATE_MAX = 10_000_000

TEST_MANDATES: dict[str, SandboxMandate] = {
    "success@razorpay": SandboxMandate("token_upi_success", "upi", True, vpa="success@razorpay"),
    "lakh@sandbox": SandboxMandate(
        "token_upi_lakh", "upi", True, vpa="lakh@sandbox", max_amount=LAKH_MANDATE_MAX
    ),
    "failure@razorpay": SandboxMandate("token_upi_failure", "upi", False, vpa="failure@razorpay"),
    "4100280000001007": SandboxMandate("token_card_visa", "card", True, "Visa", "1007"),
    "5500670000001002": SandboxMandate("token_card_mastercard", "card", True, "MasterCard", "1002"),
}
_BY_TOKEN = {m.token: m for m in TEST_MANDATES.values()}
CARD_EXPIRY = (12, 2034)


def token_for(test_data: str) -> str | None:
    """The sandbox token of a Razorpay test UPI id or card number (spaces ignored)."""
    found = TEST_MANDATES.get(test_data.replace(" ", ""))
    return found.token if found else None


def method_for(test_data: str) -> str | None:
    """How a Razorpay test UPI id or card pays ("upi" | "card"), None for other text."""
    found = TEST_MANDATES.get(test_data.replace(" ", ""))
    return found.method if found else None


Clock = Callable[[], int | float | datetime]


class RazorpaySandbox:
    """A Transport: answers the adapter's requests as Razorpay would, from memory."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self.customers: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._refund_keys: dict[str, tuple[str, str]] = {}  # key -> (body, refund id)
        self.disputes: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path), for tests
        self._counts: dict[str, int] = {}
        # Tokens made by a registration paid in the checkout, each its customer's only (the
        # test tokens above stand for every customer's).
        self.mandates: dict[str, SandboxMandate] = {}
        self.token_owners: dict[str, str] = {}

    def use_clock(self, clock: Clock | None) -> None:
        """Date what follows by `clock` (a shared state gets its process's clock)."""
        self._clock = clock

    def gateway(self) -> "SandboxRazorpayGateway":
        """The real adapter, over this sandbox."""
        return SandboxRazorpayGateway(*SANDBOX_KEY, transport=self, max_retries=0)

    # -- the transport ---------------------------------------------------------------------------
    def __call__(self, request: HttpRequest, timeout: float) -> HttpResponse:
        parts = urlsplit(request.url)
        path = parts.path.removeprefix("/v1")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = json.loads(request.body) if request.body else {}
        self.requests.append((request.method, path))
        for method, pattern, handler in self._routes():
            found = re.fullmatch(pattern, path)
            if method == request.method and found:
                args = [unquote(g) for g in found.groups()]
                status, answer = handler(*args, body=body, query=query, headers=request.headers)
                return HttpResponse(status, json.dumps(answer).encode())
        status, answer = _error(404, "BAD_REQUEST_ERROR", "The requested URL was not found.")
        return HttpResponse(status, json.dumps(answer).encode())

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, dict[str, Any]]]]]:
        return [
            ("POST", r"/customers", self._create_customer),
            ("GET", r"/customers/([^/]+)", self._get_customer),
            ("PUT", r"/customers/([^/]+)", self._edit_customer),
            ("GET", r"/customers/([^/]+)/tokens/([^/]+)", self._get_token),
            ("GET", r"/orders", self._list_orders),
            ("POST", r"/orders", self._create_order),
            ("GET", r"/orders/([^/]+)", self._get_order),
            ("GET", r"/orders/([^/]+)/payments", self._order_payments),
            ("POST", r"/payments/create/recurring", self._create_recurring),
            ("GET", r"/payments/([^/]+)", self._get_payment),
            ("POST", r"/payments/([^/]+)/refund", self._refund),
            ("POST", r"/sandbox/checkout", self._checkout),
        ]

    # -- endpoints -------------------------------------------------------------------------------
    def _create_customer(self, **req: Any) -> tuple[int, dict[str, Any]]:
        body = req["body"]
        for customer in self.customers.values():  # fail_existing "0": the same one back
            if customer["email"] == body.get("email") and body.get("fail_existing") == "0":
                return 200, customer
        customer = {
            "id": self._id("cust"),
            "entity": "customer",
            "name": body.get("name"),
            "email": body.get("email"),
            "contact": body.get("contact") or "9000090000",
            "notes": body.get("notes") or [],
            "created_at": self._now(),
        }
        self.customers[customer["id"]] = customer
        return 200, customer

    def _get_customer(self, customer_id: str, **req: Any) -> tuple[int, dict[str, Any]]:
        if customer_id not in self.customers:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return 200, self.customers[customer_id]

    def _mandate(self, token: str, customer_id: object) -> SandboxMandate | None:
        """The mandate of `token` as `customer_id` may use it: another customer's is none."""
        if token in _BY_TOKEN:
            return _BY_TOKEN[token]
        if "@" in token and token in TEST_MANDATES:  # a test UPI id stands for its token
            return TEST_MANDATES[token]
        mandates = getattr(self, "mandates", {})  # a state pickled before mandates were made
        owner = getattr(self, "token_owners", {}).get(token)
        return mandates.get(token) if owner == customer_id else None

    def _edit_customer(self, customer_id: str, **req: Any) -> tuple[int, dict[str, Any]]:
        if customer_id not in self.customers:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        body, customer = req["body"], self.customers[customer_id]
        name = body.get("name")
        if name is not None and not re.fullmatch(r"[\w .'/@()]{3,50}", str(name)):
            return _error(400, "BAD_REQUEST_ERROR", "The name format is invalid.", "name")
        contact = body.get("contact")
        if contact is not None and sum(c.isdigit() for c in str(contact)) < 8:
            return _error(
                400,
                "BAD_REQUEST_ERROR",
                "Contact number should be at least 8 digits, including country code",
                "contact",
            )
        customer.update({k: body[k] for k in ("name", "email", "contact") if k in body})
        return 200, customer

    def _get_token(self, customer_id: str, token: str, **req: Any) -> tuple[int, dict[str, Any]]:
        mandate = self._mandate(token, customer_id)
        if customer_id not in self.customers or mandate is None:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        entity: dict[str, Any] = {
            "id": token,
            "entity": "token",
            "method": mandate.method,
            "recurring": True,
            "recurring_details": {"status": "confirmed", "failure_reason": None},
            "max_amount": mandate.max_amount,
        }
        if mandate.method == "card":
            entity["card"] = {
                "network": mandate.network,
                "last4": mandate.last4,
                "expiry_month": CARD_EXPIRY[0],
                "expiry_year": CARD_EXPIRY[1],
            }
        else:
            username, _, handle = mandate.vpa.partition("@")
            entity["vpa"] = {"username": username, "handle": handle}
        return 200, entity

    def _list_orders(self, **req: Any) -> tuple[int, dict[str, Any]]:
        receipt = req["query"].get("receipt")
        items = [o for o in self.orders.values() if receipt is None or o["receipt"] == receipt]
        return 200, {"entity": "collection", "count": len(items), "items": items}

    def _create_order(self, **req: Any) -> tuple[int, dict[str, Any]]:
        body = req["body"]
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return _error(400, "BAD_REQUEST_ERROR", "The amount must be atleast INR 1.00", "amount")
        order = {
            "id": self._id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": body.get("currency"),
            "receipt": body.get("receipt"),
            "status": "created",
            "attempts": 0,
            "notes": body.get("notes") or [],
            "created_at": self._now(),
        }
        if isinstance(body.get("token"), dict):  # a mandate's registration order
            order |= {
                "method": body.get("method"),
                "customer_id": body.get("customer_id"),
                "token": dict(body["token"]),
            }
        self.orders[order["id"]] = order
        return 200, order

    def _get_order(self, order_id: str, **req: Any) -> tuple[int, dict[str, Any]]:
        if order_id not in self.orders:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return 200, self.orders[order_id]

    def _order_payments(self, order_id: str, **req: Any) -> tuple[int, dict[str, Any]]:
        items = [p for p in self.payments.values() if p["order_id"] == order_id]
        return 200, {"entity": "collection", "count": len(items), "items": items}

    def _create_recurring(self, **req: Any) -> tuple[int, dict[str, Any]]:
        body = req["body"]
        order = self.orders.get(str(body.get("order_id")))
        mandate = self._mandate(str(body.get("token")), body.get("customer_id"))
        if order is None or mandate is None or body.get("customer_id") not in self.customers:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        if order["status"] == "paid":
            return _error(400, "BAD_REQUEST_ERROR", "Order has already been paid")
        if body.get("amount") != order["amount"] or body.get("recurring") != "1":
            return _error(400, "BAD_REQUEST_ERROR", "The amount does not match the order")
        if order["amount"] > mandate.max_amount:
            return _error(
                400, "BAD_REQUEST_ERROR", "The amount exceeds the mandate's maximum", "amount"
            )
        on_token = {"token_id": mandate.token, "recurring": True}
        payment = self._attempt(order, mandate, body, body["customer_id"], on_token)
        self.payments[payment["id"]] = payment
        if mandate.succeeds:
            order.update(status="paid", amount_paid=order["amount"], amount_due=0)
            self._event("payment.captured", payment=payment)
        else:
            order["status"] = "attempted"
            self._event("payment.failed", payment=payment)
        return 200, {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": order["id"],
            "razorpay_signature": "sandbox",
        }

    def _checkout(self, **req: Any) -> tuple[int, dict[str, Any]]:
        """The customer pays an order in Checkout with a test UPI id or card: a payment on the
        order (no mandate limit: the customer is present), answered as Checkout answers."""
        body = req["body"]
        order = self.orders.get(str(body.get("order_id")))
        mandate = TEST_MANDATES.get(str(body.get("pay_with") or "").replace(" ", ""))
        if order is None:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        if order["status"] == "paid":
            return _error(400, "BAD_REQUEST_ERROR", "Order has already been paid")
        if mandate is None:
            return _error(400, "BAD_REQUEST_ERROR", "Not a test UPI id or card", "pay_with")
        terms = order.get("token")
        if terms and order.get("method") != mandate.method:
            return _error(400, "BAD_REQUEST_ERROR", "This order takes another method", "pay_with")
        payment = self._attempt(order, mandate, body, body.get("customer_id"), {"recurring": False})
        if terms and mandate.succeeds:
            # The registration makes a token on the order's terms, the paying customer's own.
            token = self._id("token")
            self.mandates[token] = replace(mandate, token=token, max_amount=terms["max_amount"])
            self.token_owners[token] = str(body.get("customer_id"))
            payment |= {"token_id": token, "recurring": True}
        self.payments[payment["id"]] = payment
        if not mandate.succeeds:
            order["status"] = "attempted"
            self._event("payment.failed", payment=payment)
            status, answer = _error(400, "BAD_REQUEST_ERROR", "Payment failed")
            answer["error"] |= {
                "reason": "payment_failed",
                "metadata": {"payment_id": payment["id"], "order_id": order["id"]},
            }
            return status, answer
        order.update(status="paid", amount_paid=order["amount"], amount_due=0)
        self._event("payment.captured", payment=payment)
        return 200, {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": order["id"],
            "razorpay_signature": checkout_signature(SANDBOX_KEY[1], order["id"], payment["id"]),
        }

    def _attempt(
        self,
        order: dict[str, Any],
        mandate: SandboxMandate,
        body: dict[str, Any],
        customer_id: Any,
        recurring: dict[str, Any],
    ) -> dict[str, Any]:
        """A payment attempted on `order` with the test UPI id or card `mandate` stands for:
        captured or failed as it always is; `recurring` says whether (and on which token) it
        is a mandate's."""
        order["attempts"] += 1
        return {
            "id": self._id("pay"),
            "entity": "payment",
            "amount": order["amount"],
            "currency": order["currency"],
            "status": "captured" if mandate.succeeds else "failed",
            "order_id": order["id"],
            "method": mandate.method,
            "amount_refunded": 0,
            "refund_status": None,
            "captured": mandate.succeeds,
            "customer_id": customer_id,
            **recurring,
            "notes": body.get("notes") or [],
            "error_code": None if mandate.succeeds else "BAD_REQUEST_ERROR",
            "error_description": None if mandate.succeeds else "Payment failed",
            "error_reason": None if mandate.succeeds else "payment_failed",
            "created_at": self._now(),
        }

    def _get_payment(self, payment_id: str, **req: Any) -> tuple[int, dict[str, Any]]:
        if payment_id not in self.payments:
            return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return 200, self.payments[payment_id]

    def _refund(self, payment_id: str, **req: Any) -> tuple[int, dict[str, Any]]:
        body, key = req["body"], req["headers"].get("X-Refund-Idempotency")
        sent = json.dumps(body, sort_keys=True)
        if key in self._refund_keys:
            first_body, refund_id = self._refund_keys[key]
            if first_body != sent:
                return _error(
                    400,
                    "BAD_REQUEST_ERROR",
                    "Different request with the same idempotency key has already been processed.",
                )
            return 200, self.refunds[refund_id]
        payment = self.payments.get(payment_id)
        if payment is None or payment["status"] not in ("captured", "refunded"):
            return _error(400, "BAD_REQUEST_ERROR", "The payment has not been captured")
        left = payment["amount"] - payment["amount_refunded"]
        amount = body.get("amount", left)
        if not isinstance(amount, int) or not 0 < amount <= left:
            return _error(
                400, "BAD_REQUEST_ERROR", "The refund amount exceeds what is left", "amount"
            )
        refund = {
            "id": self._id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment_id,
            "notes": payment["notes"],
            "status": "processed",
            "speed_processed": "normal",
            "created_at": self._now(),
        }
        self.refunds[refund["id"]] = refund
        if key:
            self._refund_keys[key] = (sent, refund["id"])
        payment["amount_refunded"] += amount
        payment["refund_status"] = (
            "full" if payment["amount_refunded"] == payment["amount"] else "partial"
        )
        if payment["refund_status"] == "full":
            payment["status"] = "refunded"
        self._event("refund.created", refund=refund, payment=payment)
        self._event("refund.processed", refund=refund, payment=payment)
        return 200, refund

    # -- what happens at Razorpay on its own ------------------------------------------------------
    def fail_refund(self, refund_id: str) -> None:
        """The bank could not return refund `refund_id`'s money (a closed account, a card
        cancelled): Razorpay marks it failed, the payment takes it back, and sends
        `refund.failed` with both. A refund failed already: nothing changes."""
        refund = self.refunds[refund_id]
        if refund["status"] == "failed":
            return
        refund["status"] = "failed"
        payment = self.payments[refund["payment_id"]]
        payment["amount_refunded"] -= refund["amount"]
        if payment["amount_refunded"] == 0:
            payment["refund_status"] = None
        else:
            payment["refund_status"] = "partial"
        if payment["status"] == "refunded":
            payment["status"] = "captured"
        self._event("refund.failed", refund=refund, payment=payment)

    def open_dispute(self, payment_id: str) -> str:
        """The customer's bank disputes captured payment `payment_id` (a chargeback): Razorpay
        deducts the amount and sends `payment.dispute.created` (status `open`) with the
        payment and the dispute. Returns the dispute's id. KeyError: no such payment."""
        payment = self.payments[payment_id]
        dispute = {
            "id": self._id("disp"),
            "entity": "dispute",
            "payment_id": payment_id,
            "amount": payment["amount"],
            "currency": payment["currency"],
            "amount_deducted": payment["amount"],
            "reason_code": "chargeback",
            "respond_by": self._now() + 7 * 86400,
            "status": "open",
            "phase": "chargeback",
            "created_at": self._now(),
        }
        self.disputes[dispute["id"]] = dispute
        self._event("payment.dispute.created", payment=payment, dispute=dispute)
        return str(dispute["id"])

    def close_dispute(self, dispute_id: str, outcome: str) -> None:
        """The bank decided dispute `dispute_id`: `won` (the amount comes back) or `lost`,
        sent as `payment.dispute.won` or `payment.dispute.lost`."""
        dispute = self.disputes[dispute_id]
        dispute["status"] = outcome
        if outcome == "won":
            dispute["amount_deducted"] = 0
        payment = self.payments[dispute["payment_id"]]
        self._event(f"payment.dispute.{outcome}", payment=payment, dispute=dispute)

    # -- helpers ---------------------------------------------------------------------------------
    def _event(self, kind: str, **entities: dict[str, Any]) -> None:
        event_id = self._id("evt")
        now = self._now()
        body = {
            "entity": "event",
            "account_id": "acc_sandbox",
            "event": kind,
            "contains": list(entities),
            "payload": {name: {"entity": dict(e)} for name, e in entities.items()},
            "created_at": now,
        }
        self.events.append({"id": event_id, "type": kind, "created": now, "body": body})

    def _id(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}_sbx{self._counts[prefix]:010d}"

    def _now(self) -> int:
        if self._clock is None:
            return 0
        value = self._clock()
        return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def _error(
    status: int, code: str, description: str, field: str | None = None
) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"code": code, "description": description, "metadata": {}}
    if field:
        error["field"] = field
    return status, {"error": error}


class SandboxRazorpayGateway(RazorpayGateway):
    """The real adapter over a sandbox, which can also play the customer in Checkout."""

    def checkout_in_sandbox(
        self, order: CheckoutOrder, pay_with: str
    ) -> CheckoutAnswer | PaymentResult:
        """Pay `order` with a test UPI id or card as Checkout would: its handler's answer
        (still to be verified), or the failed payment when the test data fails."""
        body = {
            "order_id": order.order_id,
            "pay_with": pay_with,
            "customer_id": order.provider_customer_id,
            "notes": dict(order.notes),
        }
        try:
            made = self._call("POST", "/sandbox/checkout", body, declines=True)
        except _Declined as declined:
            return declined.result
        return CheckoutAnswer(
            payment_id=str(made["razorpay_payment_id"]),
            order_id=str(made["razorpay_order_id"]),
            signature=str(made["razorpay_signature"]),
        )
