"""A registration rupee that only Razorpay's webhook reports is recorded, marked and refunded
once on both repositories: the record, its audit entry and the event's marker commit
together, so a second delivery finds the marker and the due work refunds it once."""

import json
from datetime import UTC, datetime, timedelta

from tenure.domain.audit import SYSTEM_WEBHOOKS, AuditAction
from tenure.domain.due import DueKind
from tenure.fakes import FixedClock
from tenure.payments.gateway import CheckoutAnswer
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.payments.sandbox import SandboxGateway
from tenure.ports import Repository
from tenure.services import cards, catalog, due, new_mandate
from tenure.services.context import Services
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.webhooks import razorpay_events

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_webhook_alone_records_the_rupee_once_and_it_is_refunded_once(
    repo: Repository,
) -> None:
    clock = FixedClock(T0)
    rzp = RazorpaySandbox(clock=clock.now)
    svc = Services(
        repo=repo,
        clock=clock,
        gateway=SandboxGateway(clock.now),
        gateways={"razorpay": rzp.gateway()},
    )
    catalog.create_customer(svc, "ravi", "ravi@example.com", provider="razorpay")
    customer = repo.get_customer("ravi")
    assert customer is not None
    cards.ensure_provider_customer(svc, customer)
    offer = new_mandate.begin_new_mandate(svc, "ravi", 50, clock.now(), "upi")
    answer = rzp.gateway().checkout_in_sandbox(offer.checkout, "success@razorpay")
    assert isinstance(answer, CheckoutAnswer)  # and the browser closed: never posted
    [captured] = [e for e in rzp.events if e["type"] == "payment.captured"]
    body = json.dumps(captured["body"]).encode()
    event = razorpay_events.parse(body, razorpay_events.sign(body, "s", event_id=captured["id"]))

    assert apply_provider_event(svc, event) is Applied.APPLIED
    assert apply_provider_event(svc, event) is Applied.DUPLICATE

    found = repo.get_customer("ravi")
    assert found is not None
    [paid] = found.registrations
    assert (paid.payment_id, paid.amount, paid.pending) == (answer.payment_id, 100, True)
    [entry] = [
        e
        for e in repo.list_customer_audit("ravi", 20)
        if e.action is AuditAction.MANDATE_REGISTERED
    ]
    assert entry.actor == SYSTEM_WEBHOOKS
    items = [d for d in repo.due(clock.now()) if d.entity_id == "ravi"]
    assert [d.kind for d in items] == [DueKind.REGISTRATION_REFUND]
    for item in items:
        due.work_due(svc, item)
    clock.advance(timedelta(hours=1))
    assert [d for d in repo.due(clock.now()) if d.entity_id == "ravi"] == []
    refunds = [r for r in rzp.refunds.values() if r["payment_id"] == answer.payment_id]
    assert len(refunds) == 1
