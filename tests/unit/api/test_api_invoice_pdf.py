"""An invoice's PDF over HTTP: `GET /v1/invoices/{id}/pdf` for the business (bearer token),
and the portal's download beside the printable receipt, for the customer (their signed
link, their own invoices only)."""

# The page fixtures are shared by import; their names as arguments "redefine" the imports,
# which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

from datetime import timedelta
from typing import Any

import pypdfium2 as pdfium
import pytest
from test_api_pages import Pages, manage, pages, subscribed  # noqa: F401 - fixtures
from test_api_pages_portal import open_invoice, plans  # noqa: F401 - fixtures

from tenure.documents.invoice_pdf import Party
from tenure.domain.errors import IllegalTransitionError
from tenure.domain.invoices import InvoiceStatus
from tenure.notify.link_tokens import LinkPurpose
from tenure.services import documents


def _text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "".join(
        "".join(str(document[i].get_textpage().get_text_range()).split())
        for i in range(len(document))
    )


def _download(pages: Pages, token: str, invoice_id: str) -> Any:
    query = {"t": token, "invoice": invoice_id}
    return pages.api.call("GET", "/pages/invoice/pdf", query=query, token=None)


def test_the_api_returns_the_invoice_as_a_pdf(plans: Pages) -> None:
    (first,) = plans.api.repo.list_invoices("sub-alice")

    reply = plans.api.get(f"/v1/invoices/{first.id}/pdf")

    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"] == "application/pdf"
    assert first.number is not None
    assert reply.headers["Content-Disposition"] == f'attachment; filename="{first.number}.pdf"'
    text = _text(reply.content)
    assert first.number in text and "Basic" in text and "Total$10.00" in text
    assert first.id not in text


def test_the_pdf_needs_the_api_token_and_a_known_invoice(plans: Pages) -> None:
    (first,) = plans.api.repo.list_invoices("sub-alice")
    before = plans.api.state()

    assert plans.api.get(f"/v1/invoices/{first.id}/pdf", token=None).status == 401
    assert plans.api.get(f"/v1/invoices/{first.id}/pdf", token="wrong").status == 401
    missing = plans.api.get("/v1/invoices/in_nobody/pdf")
    assert missing.status == 404 and missing.json["error"] == "not_found"
    assert plans.api.state() == before


def test_a_draft_is_not_a_document_yet(plans: Pages) -> None:
    (first,) = plans.api.repo.list_invoices("sub-alice")
    first.status = InvoiceStatus.DRAFT

    with pytest.raises(IllegalTransitionError, match="draft"):
        documents.invoice_pdf(plans.svc, first, Party("Shop"))


def test_the_receipt_page_links_its_pdf_and_the_link_downloads_it(plans: Pages) -> None:
    token = manage(plans)
    (first,) = plans.api.repo.list_invoices("sub-alice")

    page = open_invoice(plans, token, first.id)
    assert f'href="/pages/invoice/pdf?t={token}&amp;invoice={first.id}"' in page.text

    reply = _download(plans, token, first.id)
    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["Cache-Control"] == "no-store"
    assert "Total$10.00" in _text(reply.content)


def test_an_arabic_customer_downloads_an_arabic_pdf(plans: Pages) -> None:
    plans.api.customer("bob", locale="ar")
    plans.card("bob", "pm_card_visa")
    plans.api.subscription("sub-bob", customer="bob")
    token = plans.link(LinkPurpose.MANAGE_SUBSCRIPTION, "sub-bob", customer="bob")
    (invoice,) = plans.api.repo.list_invoices("sub-bob")

    reply = _download(plans, token, invoice.id)

    assert reply.status == 200 and "الضريبة" not in _text(reply.content)  # no tax line
    assert "مدفوعة" in _text(reply.content)  # "Paid", in Arabic


def test_the_download_refuses_what_the_page_refuses(plans: Pages) -> None:
    (alices,) = plans.api.repo.list_invoices("sub-alice")
    plans.api.customer("bob")
    plans.card("bob", "pm_card_visa")
    plans.api.subscription("sub-bob", customer="bob")
    (bobs,) = plans.api.repo.list_invoices("sub-bob")
    good = manage(plans)
    expired = plans.link(
        LinkPurpose.MANAGE_SUBSCRIPTION, "sub-alice", expires_in=timedelta(seconds=-1)
    )
    before = plans.api.state()

    another = _download(plans, good, bobs.id)
    assert another.status == 404 and "application/pdf" not in another.headers["Content-Type"]
    assert _download(plans, good, "").status == 404
    assert _download(plans, plans.link(LinkPurpose.UPDATE_CARD, "alice"), alices.id).status == 403
    assert _download(plans, good[:-3] + "AAA", alices.id).status == 403
    assert _download(plans, expired, alices.id).status == 410
    assert plans.api.state() == before


def test_the_reply_is_base64_for_api_gateway(plans: Pages) -> None:
    (first,) = plans.api.repo.list_invoices("sub-alice")
    reply = plans.api.get(f"/v1/invoices/{first.id}/pdf")
    assert reply.base64_encoded and reply.content.startswith(b"%PDF-")


def test_a_refunds_credit_note_downloads_as_a_pdf_and_unknown_ones_are_404(plans: Pages) -> None:
    (first,) = plans.api.repo.list_invoices("sub-alice")
    refunded = plans.api.post(f"/v1/invoices/{first.id}/refund", {"amount": 300})
    assert refunded.status == 201, refunded.text
    (note,) = plans.api.repo.list_credit_notes(first.id)

    reply = plans.api.get(f"/v1/credit-notes/{note.id}/pdf")

    assert reply.status == 200, reply.text
    assert reply.headers["Content-Disposition"] == f'attachment; filename="{note.number}.pdf"'
    text = _text(reply.content)
    assert str(note.number) in text and str(first.number) in text and "-$3.00" in text
    for unknown in ("cn_nothing_1", f"cn_{first.id}_9", "in_x", f"{note.id}x"):
        assert plans.api.get(f"/v1/credit-notes/{unknown}/pdf").status == 404, unknown
    assert plans.api.get(f"/v1/credit-notes/{note.id}/pdf", token=None).status == 401
