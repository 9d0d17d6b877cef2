"""Invoice numbers and credit notes over HTTP: GET /v1/invoices/{id} shows the number and
the notes, GET /v1/credit-notes?invoice= lists them, and bad input is a clear 4xx."""

import pytest
from api_harness import Api

from tenure import bootstrap
from tenure.settings import Settings


def test_an_invoice_shows_its_number_and_no_notes_before_any_refund(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    reply = api.get(f"/v1/invoices/{invoice_id}")
    assert reply.status == 200, reply.text
    assert (reply.json["number"], reply.json["credited"]) == ("INV-2026-000001", 0)
    assert reply.json["credit_notes"] == []
    assert reply.json["buyer"] == {"name": None, "address": None, "tax_id": None}


def test_a_refund_shows_as_a_numbered_credit_note_of_its_invoice(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    assert api.post(f"/v1/invoices/{invoice_id}/refund", {"amount": 250}).status == 201
    assert api.post(f"/v1/invoices/{invoice_id}/refund").status == 201
    invoice = api.get(f"/v1/invoices/{invoice_id}").json
    listed = api.get("/v1/credit-notes", query={"invoice": invoice_id})
    assert listed.status == 200, listed.text
    assert listed.json["data"] == invoice["credit_notes"]
    assert [(n["number"], n["amount"], n["reason"]) for n in invoice["credit_notes"]] == [
        ("CN-2026-000001", 250, "refund"),
        ("CN-2026-000002", 750, "refund"),
    ]
    assert {(n["invoice"], n["invoice_number"]) for n in invoice["credit_notes"]} == {
        (invoice_id, "INV-2026-000001")
    }
    assert invoice["credited"] == invoice["total"] == 1000


def test_credit_notes_of_an_unknown_invoice_are_a_404(paid: tuple[Api, str]) -> None:
    api, _ = paid
    reply = api.get("/v1/credit-notes", query={"invoice": "in_nothing"})
    assert reply.status == 404, reply.text


@pytest.mark.parametrize("query", [{}, {"invoice": ""}, {"invoice": "bad id"}])
def test_credit_notes_without_a_valid_invoice_are_a_422(
    paid: tuple[Api, str], query: dict[str, str]
) -> None:
    api, _ = paid
    reply = api.get("/v1/credit-notes", query=query)
    assert reply.status == 422, reply.text


def test_a_customer_takes_the_buyer_details_invoices_print(paid: tuple[Api, str]) -> None:
    api, _ = paid
    made = api.customer(
        "acme",
        billing_name="ACME GmbH",
        billing_address="Hauptstraße 1\n10115 Berlin",
        tax_id="DE123456789",
    )
    read = api.get("/v1/customers/acme").json
    for view in (made, read):
        assert (view["billing_name"], view["billing_address"], view["tax_id"]) == (
            "ACME GmbH",
            "Hauptstraße 1\n10115 Berlin",
            "DE123456789",
        )
    assert api.customer("plain")["tax_id"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tax_id", "DE 123;DROP"),
        ("tax_id", "X" * 33),
        ("billing_name", "A" * 201),
        ("billing_name", "ACME\nGmbH"),
        ("billing_address", "Street 1\u202e"),
        ("billing_address", "x" * 501),
    ],
)
def test_bad_buyer_details_are_a_422_that_creates_nothing(
    paid: tuple[Api, str], field: str, value: str
) -> None:
    api, _ = paid
    before = api.state()
    reply = api.post("/v1/customers", {"id": "bad", "email": "bad@example.com", field: value})
    assert reply.status == 422, reply.text
    assert field in reply.text
    assert api.state() == before


def test_an_invoice_is_made_out_between_the_seller_and_the_buyer(
    paid: tuple[Api, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = paid
    wired = bootstrap.wiring()
    seller = {
        "TENURE_SELLER_NAME": "Tenure Demo GmbH",
        "TENURE_SELLER_ADDRESS": "Hauptstraße 1\n10115 Berlin",
        "TENURE_SELLER_TAX_ID": "DE999999999",
    }
    bootstrap.use(bootstrap.Wiring(wired.services, Settings(**seller)))
    api.customer("acme", billing_name="ACME SARL", billing_address="1 rue X", tax_id="FR12345")
    method = {"payment_method": "pm_card_visa"}
    assert api.post("/v1/customers/acme/payment-methods", method).status == 201
    made = api.post("/v1/subscriptions", {"id": "sub-acme", "customer": "acme", "plan": "basic"})
    assert made.status == 201, made.text

    shown = api.get(f"/v1/invoices/{made.json['invoice']['id']}").json

    assert shown["seller"] == {
        "name": "Tenure Demo GmbH",
        "address": "Hauptstraße 1\n10115 Berlin",
        "tax_id": "DE999999999",
    }
    assert shown["buyer"] == {"name": "ACME SARL", "address": "1 rue X", "tax_id": "FR12345"}
    assert shown["number"] == "INV-2026-000002"
