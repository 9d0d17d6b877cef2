"""The provider's side of a simulation: what happens at Stripe without Tenure asking, and the
courier that carries every event to Tenure's real webhooks handler.

`ProviderSandbox` is the sandbox gateway plus the provider-side actions of a scenario: a
refund made in the dashboard, a dispute opened and closed by the customer's bank, and the
card network's updater replacing a card behind the same payment-method id. Tenure hears of
them only through webhooks.

`WebhookCourier` delivers the sandbox's events like Stripe does: each delivery signed at
the moment it is sent, retried later on a non-2xx answer. Calm, each event goes out at once,
in order. With chaos (`tenure simulate --webhook-chaos`), the seed makes deliveries late (up
to `max_delay`), duplicated and reordered; every delivery still happens by `until`.
"""

import heapq
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from tenure.domain.money import Money
from tenure.payments import stripe_objects
from tenure.payments.gateway import GatewayError, PaymentResult
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.payments.sandbox import Instant, SandboxGateway, payment_method_for
from tenure.webhooks import razorpay_events, stripe_events

Send = Callable[[str, bytes, dict[str, str]], int]  # (provider, body, headers) -> HTTP status


class ProviderActionError(ValueError):
    """The provider would refuse this (no successful payment to refund or dispute, ...)."""


class ProviderSandbox(SandboxGateway):
    """The sandbox, plus the things that happen at the provider on their own."""

    def __init__(self, clock: Callable[[], Instant] | None = None) -> None:
        super().__init__(clock)
        # The network updater replaced these cards: same id, new card behind it. Keyed by
        # the customer too: the sandbox names every customer's card by its test token
        # (`pm_card_visa`), where Stripe gives each its own id, so a card replaced for one
        # customer must not change what another customer's same token charges.
        self._replaced: dict[tuple[str | None, str], str] = {}
        self._disputes: dict[str, stripe_objects.StripeObject] = {}

    def _behind(self, customer_id: str, payment_method: str) -> str:
        return self._replaced.get((customer_id, payment_method), payment_method)

    def create_payment(self, *, customer_id: str, payment_method: str, **kwargs: Any) -> str:
        return super().create_payment(
            customer_id=customer_id,
            payment_method=self._behind(customer_id, payment_method),
            **kwargs,
        )

    def create_and_confirm_payment(
        self, *, customer_id: str, payment_method: str, **kwargs: Any
    ) -> PaymentResult:
        return super().create_and_confirm_payment(
            customer_id=customer_id,
            payment_method=self._behind(customer_id, payment_method),
            **kwargs,
        )

    # -- provider-side actions ----------------------------------------------------------------
    def dashboard_refund(self, payment_id: str, amount: Money | None, key: str) -> str:
        """A refund someone made in the provider's dashboard (emits refund.created and
        charge.refunded, like any refund)."""
        try:
            return self.refund(payment_id=payment_id, amount=amount, idempotency_key=key)
        except GatewayError as exc:
            raise ProviderActionError(str(exc)) from exc

    def fail_refund(self, payment_id: str, amount: int | None, named: str = "") -> str:
        """The customer's bank could not take a refund of `payment_id` back (the card was
        closed): its latest refund not failed yet (of `amount`, when given) fails, the charge
        takes the money back, and `refund.failed` tells of it. Returns the refund's id.
        `named`: what a refusal calls the payment (the payment's id by default)."""
        charge = self.charge_for(payment_id)
        listed = charge["refunds"]["data"] if charge is not None else []
        made = [(int(r["amount"]), r["status"] == "failed") for r in listed]
        refund = listed[refund_to_fail(named or payment_id, made, amount)]
        assert charge is not None  # a refund was found on it
        refund.update(
            status="failed",
            failure_reason="expired_or_canceled_card",
            failure_balance_transaction=stripe_objects.object_id("txn", refund["id"], "failed"),
        )
        charge["amount_refunded"] = int(charge["amount_refunded"]) - int(refund["amount"])
        charge["refunded"] = False
        self._emit("refund.failed", refund, None)
        return str(refund["id"])

    def open_dispute(self, payment_id: str, key: str) -> str:
        charge = self.charge_for(payment_id)
        if charge is None or charge["status"] != "succeeded":
            raise ProviderActionError(f"{payment_id} has no successful charge to dispute")
        if charge.get("disputed"):
            raise ProviderActionError(f"the charge of {payment_id} is already disputed")
        dispute = dispute_object(
            id=stripe_objects.object_id("dp", key),
            charge=charge,
            status="needs_response",
            created=self._now(),
        )
        charge["disputed"] = True
        self._disputes[dispute["id"]] = dispute
        self._emit("charge.dispute.created", dispute, None)
        self._emit("charge.dispute.funds_withdrawn", dispute, None)
        return str(dispute["id"])

    def close_dispute(self, dispute_id: str, outcome: str) -> None:
        dispute = self._disputes[dispute_id]
        dispute["status"] = outcome
        dispute["is_charge_refundable"] = False
        self._emit("charge.dispute.closed", dispute, None)
        if outcome == "won":
            self._emit("charge.dispute.funds_reinstated", dispute, None)

    def auto_update_card(
        self, payment_method: str, provider_customer: str | None, card: str
    ) -> None:
        """The card network updater: `payment_method` keeps its id, `card` is behind it now."""
        replacement = payment_method_for(card)
        if replacement is None:
            raise ProviderActionError(f"unknown test card {card!r}")
        self._replaced[(provider_customer, payment_method)] = replacement
        method = self._method_object(replacement, provider_customer)
        method["id"] = payment_method
        if method["type"] == "card":
            method["card"]["exp_year"] = int(method["card"]["exp_year"]) + 1  # a renewed card
        self._emit("payment_method.automatically_updated", method, None)


def refund_to_fail(named: str, refunds: list[tuple[int, bool]], amount: int | None) -> int:
    """Which of a payment's refunds (amount, failed already), oldest first, a failure is
    about: the latest not failed yet, of `amount` when given. ProviderActionError naming
    the payment as `named` when there is none."""
    for n in reversed(range(len(refunds))):
        made, failed = refunds[n]
        if not failed and amount in (None, made):
            return n
    left = sorted({made for made, failed in refunds if not failed})
    if not left:
        raise ProviderActionError(f"{named} has no refund to fail")
    raise ProviderActionError(
        f"{named} has no refund of {amount} to fail; its refunds not failed: "
        + ", ".join(str(made) for made in left)
    )


def fail_razorpay_refund(
    sandbox: RazorpaySandbox, payment_id: str, amount: int | None, named: str = ""
) -> str:
    """`ProviderSandbox.fail_refund` at Razorpay: its `refund.failed` for the payment's latest
    refund not failed yet (of `amount`, when given)."""
    listed = [r for r in sandbox.refunds.values() if r["payment_id"] == payment_id]
    made = [(int(r["amount"]), r["status"] == "failed") for r in listed]
    refund_id = str(listed[refund_to_fail(named or payment_id, made, amount)]["id"])
    sandbox.fail_refund(refund_id)
    return refund_id


def razorpay_dashboard_refund(
    sandbox: RazorpaySandbox, payment_id: str, amount: Money | None, key: str
) -> str:
    """`ProviderSandbox.dashboard_refund` at Razorpay: the refund its dashboard would make,
    which Razorpay reports by `refund.created` and `refund.processed` like any refund."""
    try:
        return sandbox.gateway().refund(payment_id=payment_id, amount=amount, idempotency_key=key)
    except GatewayError as exc:
        raise ProviderActionError(str(exc)) from exc


def open_razorpay_dispute(sandbox: RazorpaySandbox, payment_id: str) -> str:
    """`ProviderSandbox.open_dispute` at Razorpay: refused as Razorpay's bank would be (no
    captured payment, a dispute open on it already); else its `payment.dispute.created`."""
    payment = sandbox.payments.get(payment_id)
    if payment is None or payment["status"] not in ("captured", "refunded"):
        raise ProviderActionError(f"{payment_id} has no successful payment to dispute")
    if any(d["payment_id"] == payment_id for d in sandbox.disputes.values()):
        raise ProviderActionError(f"the payment {payment_id} is already disputed")
    return sandbox.open_dispute(payment_id)


def dispute_object(
    *, id: str, charge: stripe_objects.StripeObject, status: str, created: int
) -> stripe_objects.StripeObject:
    """A Dispute with the keys of Stripe's own example (fixtures3.json `dispute`)."""
    method_type = charge["payment_method_details"]["type"]
    details = charge["payment_method_details"].get(method_type) or {}
    return {
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "evidence": {},
        "evidence_details": {
            "due_by": created + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "enhanced_eligibility": {},
        },
        "id": id,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "object": "dispute",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            method_type: {
                "brand": details.get("brand", method_type),
                "case_type": "chargeback",
                "network_reason_code": "10.4",
                "network": details.get("network", method_type),
            },
            "type": method_type,
        },
        "reason": "fraudulent",
        "status": status,
        "enhanced_eligibility_types": [],
    }


class EventSource(Protocol):
    """A sandbox that records the webhooks its provider would send, oldest first, each with
    its `id`, `type` and `created` (unix seconds)."""

    events: list[Any]


@dataclass(order=True)
class _Delivery:
    due: int
    seq: int
    event: stripe_objects.StripeObject = field(compare=False)
    tries: int = field(default=0, compare=False)


@dataclass
class CourierStats:
    delivered: Counter[str] = field(default_factory=Counter)  # by HTTP status
    duplicates_sent: int = 0
    late: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)


class WebhookCourier:
    """Carries the gateway's events to `send` (the real handler), signed at delivery."""

    RETRY_AFTER = timedelta(hours=1)  # Stripe backs off for hours; one step is enough here
    DELAY_STEP = 300  # seconds
    MAX_TRIES = 8

    def __init__(
        self,
        gateway: "EventSource",
        secret: str,
        send: Send,
        until: datetime,
        *,
        chaos: bool = False,
        seed: int = 0,
        max_delay: timedelta = timedelta(hours=6),
        duplicate_rate: float = 0.3,
    ) -> None:
        self.gateway = gateway
        self.secret = secret
        self.send = send
        self.until = int(until.timestamp())
        self.chaos = chaos
        self.max_delay = int(max_delay.total_seconds())
        self.duplicate_rate = duplicate_rate
        self.rng = random.Random(f"webhook-chaos:{seed}")
        self.stats = CourierStats()
        self._seen = 0
        self._seq = 0
        self._queue: list[_Delivery] = []

    def next_at(self) -> datetime | None:
        """When the next delivery is due (the simulator's clock stops there)."""
        return datetime.fromtimestamp(self._queue[0].due, UTC) if self._queue else None

    def pending(self) -> int:
        return len(self._queue)

    def collect(self, now: datetime) -> None:
        """Schedule the events the gateway recorded since the last look."""
        at = int(now.timestamp())
        for event in self.gateway.events[self._seen :]:
            copies = 1
            if self.chaos:
                while copies < 3 and self.rng.random() < self.duplicate_rate:
                    copies += 1
                self.stats.duplicates_sent += copies - 1
            for _ in range(copies):
                # Whole steps of DELAY_STEP: late by up to hours, without a clock stop for
                # every single delivery.
                steps = self.max_delay // self.DELAY_STEP
                delay = self.rng.randint(0, steps) * self.DELAY_STEP if self.chaos else 0
                self.stats.late += bool(delay)
                due = min(max(int(event["created"]) + delay, at), max(self.until, at))
                self._push(_Delivery(due, self._next_seq(), event))
        # Handed over to delivery, the events need not stay with the provider too: a year of
        # 10,000 customers made about a gigabyte of them.
        self.gateway.events.clear()
        self._seen = 0

    def deliver_due(self, now: datetime, limit: int = 100_000) -> int:
        """Send every delivery due by `now` (and the events they cause, when due too)."""
        at = int(now.timestamp())
        sent = 0
        while self._queue and self._queue[0].due <= at and sent < limit:
            delivery = heapq.heappop(self._queue)
            status = self._send(delivery.event, at)
            sent += 1
            self.stats.delivered[str(status)] += 1
            retry = min(at + int(self.RETRY_AFTER.total_seconds()), self.until)
            if status >= 500 and delivery.tries + 1 < self.MAX_TRIES and retry > at:
                # Like the provider: not acknowledged, so sent again later.
                delivery.tries += 1
                delivery.due, delivery.seq = retry, self._next_seq()
                self._push(delivery)
            elif status >= 300:
                self.stats.refused.append(
                    {
                        "status": status,
                        "event": delivery.event["id"],
                        "type": delivery.event["type"],
                    }
                )
            self.collect(now)
        return sent

    def _send(self, event: stripe_objects.StripeObject, at: int) -> int:
        body = stripe_objects.event_payload(event)  # serialising it changes nothing
        return self.send("stripe", body, stripe_events.sign(body, self.secret, at))

    def delivered_any(self) -> bool:
        return bool(self.stats.delivered or self._queue)

    def _push(self, delivery: _Delivery) -> None:
        heapq.heappush(self._queue, delivery)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq


class RazorpayCourier(WebhookCourier):
    """The same courier for the Razorpay sandbox's events, delivered as Razorpay does: the
    body signed alone, the event id in `X-Razorpay-Event-Id` (the same on every retry)."""

    def _send(self, event: stripe_objects.StripeObject, at: int) -> int:
        body = json.dumps(event["body"]).encode()
        headers = razorpay_events.sign(body, self.secret, event_id=str(event["id"]))
        return self.send("razorpay", body, headers)
