"""A Razorpay customer end to end: the renewal charged through the Razorpay adapter, its
`payment.captured` webhook matched to the invoice by the notes Tenure set on the payment
(even when the charge's own answer was lost), and a refund and its webhook."""

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.domain.charges import ChargeOutcome, ChargeStatus
from tenure.domain.credit_notes import refund_failed
from tenure.domain.invoices import InvoiceStatus, RefundStatus
from tenure.domain.plans import Plan
from tenure.domain.refunds import refund_status
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.razorpay_gateway import HttpRequest, HttpResponse, RazorpayGateway
from tenure.payments.razorpay_sandbox import SANDBOX_KEY, RazorpaySandbox
from tenure.payments.sandbox import SandboxGateway
from tenure.services import cards, catalog, charging_settle, refunds, subscriptions
from tenure.services.context import Services
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.webhooks import razorpay_events
from tenure.webhooks.providers import link_namespace

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)


class LosingAnswers:
    """Razorpay does the work, but the answer to a recurring payment never arrives."""

    def __init__(self, sandbox: RazorpaySandbox) -> None:
        self.sandbox = sandbox
        self.lose = True

    def __call__(self, request: HttpRequest, timeout: float) -> HttpResponse:
        answer = self.sandbox(request, timeout)
        if self.lose and request.url.endswith("/payments/create/recurring"):
            raise TimeoutError("the answer was lost")
        return answer


def shop(transport: Any) -> Services:
    gateway = RazorpayGateway(*SANDBOX_KEY, transport=transport, max_retries=0)
    svc = Services(
        repo=InMemoryRepository(),
        clock=FixedClock(T0),
        gateway=SandboxGateway(),
        gateways={"razorpay": gateway},
    )
    catalog.create_plan(svc, Plan(id="plus", amount=49900, currency="INR", interval="month"))
    catalog.create_customer(svc, "asha", "asha@example.com", provider="razorpay")
    cards.update_payment_method(svc, "asha", "token_upi_success", "razorpay", True)
    return svc


def deliver(svc: Services, event: dict[str, Any]) -> Applied:
    body = json_bytes(event["body"])
    parsed = razorpay_events.parse(body, razorpay_events.sign(body, "s", event_id=event["id"]))
    return apply_provider_event(svc, parsed, link_namespace("razorpay", svc.gateway.name))  # type: ignore[union-attr]


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_payment_whose_answer_was_lost_is_settled_by_its_captured_webhook() -> None:
    sandbox = RazorpaySandbox(clock=lambda: T0)
    transport = LosingAnswers(sandbox)
    svc = shop(transport)
    subscriptions.subscribe(svc, "sub-asha", "asha", "plus")
    [invoice] = svc.repo.list_invoices("sub-asha")
    [claim] = svc.repo.list_charges(invoice.id)
    assert (claim.status, claim.payment_id) == (ChargeStatus.CHARGING, None)  # unknown
    [captured] = [e for e in sandbox.events if e["type"] == "payment.captured"]
    # While the claim's lease runs, its collector may still settle it: the webhook waits.
    assert deliver(svc, captured) is Applied.UNCHANGED
    assert isinstance(svc.clock, FixedClock)
    svc.clock.set(T0 + charging_settle.LEASE + timedelta(minutes=1))

    assert deliver(svc, captured) is Applied.APPLIED

    paid = svc.repo.get_invoice(invoice.id)
    [settled] = svc.repo.list_charges(invoice.id)
    assert paid is not None and paid.status is InvoiceStatus.PAID
    assert (settled.outcome, settled.payment_id) == (
        ChargeOutcome.SUCCEEDED,
        captured["body"]["payload"]["payment"]["entity"]["id"],
    )
    assert deliver(svc, captured) is Applied.DUPLICATE  # Razorpay retries: applied once


def test_a_refund_and_its_webhooks_are_matched_to_the_invoice() -> None:
    sandbox = RazorpaySandbox(clock=lambda: T0)
    svc = shop(sandbox)
    subscriptions.subscribe(svc, "sub-asha", "asha", "plus")
    [invoice] = svc.repo.list_invoices("sub-asha")
    for event in sandbox.events:
        assert deliver(svc, event) is not Applied.UNMATCHED
    refunds.refund_invoice(svc, invoice.id, amount=10000, reason="service_outage")
    refund_events = [e for e in sandbox.events if e["type"].startswith("refund.")]
    assert [e["type"] for e in refund_events] == ["refund.created", "refund.processed"]
    for event in refund_events:
        assert deliver(svc, event) is not Applied.UNMATCHED
    refunded = svc.repo.get_invoice(invoice.id)
    assert refunded is not None and refunded.amount_refunded == 10000


def test_a_refund_tenure_made_that_razorpay_reports_failed_shows_failed_once() -> None:
    sandbox = RazorpaySandbox(clock=lambda: T0)
    svc = shop(sandbox)
    subscriptions.subscribe(svc, "sub-asha", "asha", "plus")
    [invoice] = svc.repo.list_invoices("sub-asha")
    for event in sandbox.events:
        deliver(svc, event)
    refunds.refund_invoice(svc, invoice.id, amount=10000, reason="service_outage")
    for event in [e for e in sandbox.events if e["type"].startswith("refund.")]:
        deliver(svc, event)
    # Razorpay's refund.failed, an hour on: the refund failed, the payment refunded nothing
    processed = [e for e in sandbox.events if e["type"] == "refund.processed"][-1]
    failed = copy.deepcopy(processed)
    failed["id"], failed["type"] = "evt_refund_failed_1", "refund.failed"
    body = failed["body"]
    body["event"], body["created_at"] = "refund.failed", body["created_at"] + 3600
    body["payload"]["refund"]["entity"]["status"] = "failed"
    body["payload"]["payment"]["entity"].update(amount_refunded=0, refund_status=None)

    assert deliver(svc, failed) is Applied.APPLIED
    assert deliver(svc, failed) is Applied.DUPLICATE

    refunded = svc.repo.get_invoice(invoice.id)
    assert refunded is not None and refunded.amount_refunded == 0
    [made] = svc.repo.list_refunds(invoice.id)
    assert refund_status(refunded, made) is RefundStatus.FAILED
    [note] = svc.repo.list_credit_notes(invoice.id)
    assert refund_failed(note, refunded) is RefundStatus.FAILED
