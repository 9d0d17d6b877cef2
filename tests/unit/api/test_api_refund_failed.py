"""A refund Tenure made through the API that the provider later reports failed: the refund
shows as failed, the invoice's refunded amount comes back down, its credit note stays (its
refund marked failed, as Stripe keeps a credit note whose refund failed), and a later refund
of the same amount is a refund of its own, told to the customer once."""

import copy
from datetime import timedelta
from typing import Any

import pypdfium2 as pdfium
from api_harness import Api

from tenure import bootstrap
from tenure.payments import stripe_objects
from tenure.payments.sandbox import SandboxGateway
from tenure.services.provider_events import Applied, apply_provider_event
from tenure.webhooks import stripe_events

StripeEvent = dict[str, Any]


def gateway() -> SandboxGateway:
    svc = bootstrap.wiring().services
    assert isinstance(svc.gateway, SandboxGateway)
    return svc.gateway


def last(kind: str) -> StripeEvent:
    return [e for e in gateway().events if e["type"] == kind][-1]


def deliver(event: StripeEvent) -> Applied:
    parsed = stripe_events.parse(stripe_objects.event_payload(event))
    return apply_provider_event(bootstrap.wiring().services, parsed, link_provider="sandbox")


def failed(created: StripeEvent, kind: str = "refund.failed") -> StripeEvent:
    """The provider's report, an hour on, that the refund `created` failed."""
    event = copy.deepcopy(created)
    event.update(id=f"evt_{kind}_{created['data']['object']['id']}", type=kind)
    event["created"] = created["created"] + 3600
    event["data"]["object"]["status"] = "failed"
    return event


def refunded(api: Api, invoice_id: str, amount: int) -> tuple[dict[str, Any], StripeEvent]:
    reply = api.post(f"/v1/invoices/{invoice_id}/refund", {"amount": amount})
    assert reply.status == 201, reply.text
    created = last("refund.created")
    for report in (created, last("charge.refunded")):
        assert deliver(report) is not Applied.UNMATCHED
    return reply.json["refund"], created


def receipts(api: Api) -> list[str]:
    return sorted(k for k, n in api.repo.notices.items() if n.kind == "refund_receipt")


def test_a_refund_answers_its_status_pending_until_the_provider_says(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    reply = api.post(f"/v1/invoices/{invoice_id}/refund", {"amount": 300})
    assert reply.status == 201, reply.text
    assert reply.json["refund"]["status"] == "pending"


def test_an_api_refund_reported_failed_shows_failed_and_gives_the_amount_back(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    refund, created = refunded(api, invoice_id, 300)
    assert deliver(failed(created)) is Applied.APPLIED
    assert deliver(failed(created)) is Applied.DUPLICATE  # redelivered

    invoice = api.get(f"/v1/invoices/{invoice_id}").json
    assert (invoice["amount_refunded"], invoice["refund_status"]) == (0, "none")
    [note] = invoice["credit_notes"]
    assert (note["amount"], note["refund"], note["refund_status"]) == (300, refund["id"], "failed")
    [listed] = api.get("/v1/credit-notes", query={"invoice": invoice_id}).json["data"]
    assert listed["refund_status"] == "failed"
    assert len(receipts(api)) == 1  # the refund was told; its failure sends nothing


def test_the_pdf_of_a_failed_refunds_credit_note_says_the_money_did_not_go_back(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    _, created = refunded(api, invoice_id, 300)
    [note] = api.repo.list_credit_notes(invoice_id)
    before = pdf_text(api.get(f"/v1/credit-notes/{note.id}/pdf").content)

    deliver(failed(created))

    after = pdf_text(api.get(f"/v1/credit-notes/{note.id}/pdf").content)
    assert "Refundfailed:theamountwasnotreturnedtoyourcardoraccount." in after
    assert "Refund:Failed" in after and "-$3.00" in after
    assert "failed" not in before


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as PDFium reads it back, without spaces or line ends."""
    document = pdfium.PdfDocument(pdf)
    pages = (document[i].get_textpage().get_text_range() for i in range(len(document)))
    return "".join("".join(str(page) for page in pages).split())


def test_a_refund_of_the_failed_ones_amount_is_its_own_and_told_once(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    first, created = refunded(api, invoice_id, 300)
    gateway_refund = created["data"]["object"]["id"]
    fail_at_provider(gateway_refund, 300)
    assert deliver(failed(created)) is Applied.APPLIED
    api.clock.advance(timedelta(hours=2))

    second, _ = refunded(api, invoice_id, 300)

    assert second["id"] != first["id"]
    invoice = api.get(f"/v1/invoices/{invoice_id}").json
    assert invoice["amount_refunded"] == 300
    assert len(receipts(api)) == 2  # one email for each refund, none for the failure


def fail_at_provider(refund_id: str, amount: int) -> None:
    """The sandbox's own record of the refund fails too, so the payment can be refunded
    again (as at Stripe, where a failed refund no longer counts against the charge)."""
    for charge_event in (e for e in gateway().events if e["type"] == "charge.refunded"):
        charge = charge_event["data"]["object"]
        if any(r["id"] == refund_id for r in charge["refunds"]["data"]):
            break
    held = gateway().charge_for(str(charge["payment_intent"]))
    assert held is not None
    held["amount_refunded"] = int(held["amount_refunded"]) - amount
    held["refunded"] = False
