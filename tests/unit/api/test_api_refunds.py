"""Refunds over HTTP: POST /v1/invoices/{id}/refund, once per Idempotency-Key, and every
refusal a clear 4xx that changes nothing."""

from datetime import timedelta

import pytest
from api_harness import Api

from tenure import bootstrap
from tenure.domain.due import DueKind
from tenure.domain.timeutil import iso
from tenure.payments.sandbox import SandboxGateway
from tenure.ports import DueMessage
from tenure.services.due import work_due


def test_a_refund_answers_201_with_the_refund_and_the_invoice(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    reply = api.post(f"/v1/invoices/{invoice_id}/refund", {"amount": 250, "reason": "late"})
    assert reply.status == 201, reply.text
    refund, invoice = reply.json["refund"], reply.json["invoice"]
    assert refund["id"] == f"rf_{invoice_id}_1"
    assert (refund["amount"], refund["policy"], refund["reason"]) == (250, "partial", "late")
    assert (invoice["amount_refunded"], invoice["refund_status"]) == (250, "partial")


def test_a_refund_without_a_body_refunds_what_is_left(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    reply = api.post(f"/v1/invoices/{invoice_id}/refund")
    assert reply.status == 201, reply.text
    assert (reply.json["refund"]["amount"], reply.json["refund"]["policy"]) == (1000, "full")


def test_a_retried_refund_with_its_key_is_replayed_not_made_again(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    path, key = f"/v1/invoices/{invoice_id}/refund", {"Idempotency-Key": "refund-once"}
    first = api.post(path, {"amount": 300}, headers=key)
    again = api.post(path, {"amount": 300}, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.text == first.text and again.headers.get("Idempotent-Replayed") == "true"
    assert len(api.repo.list_refunds(invoice_id)) == 1


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"amount": 1001}, 422, ["body", "amount"]),
        ({"amount": 0}, 422, ["body", "amount"]),
        ({"amount": "5"}, 422, ["body", "amount"]),
        ({"amount": 5, "extra": 1}, 422, ["body", "extra"]),
    ],
)
def test_a_bad_refund_is_a_422_that_changes_nothing(
    paid: tuple[Api, str], body: dict, status: int, where: list[str]
) -> None:
    api, invoice_id = paid
    before = api.state()
    reply = api.post(f"/v1/invoices/{invoice_id}/refund", body)
    assert reply.status == status, reply.text
    assert reply.json["detail"][0]["loc"] == where
    assert api.state() == before


def test_refunding_a_fully_refunded_invoice_is_a_409_that_changes_nothing(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    assert api.post(f"/v1/invoices/{invoice_id}/refund").status == 201
    before = api.state()
    reply = api.post(f"/v1/invoices/{invoice_id}/refund", {"amount": 1})
    assert reply.status == 409
    assert "nothing is left" in reply.json["message"]
    assert api.state() == before


def test_refunding_an_unknown_invoice_is_a_404(paid: tuple[Api, str]) -> None:
    api, _ = paid
    assert api.post("/v1/invoices/in_nothing/refund").status == 404


def test_refunding_an_unpaid_invoice_is_a_409(api: Api) -> None:
    api.plan("basic", 1000)
    api.customer("alice")
    invoice_id = api.subscription("sub-1")["invoice"]["id"]  # no provider: it stays open
    before = api.state()
    reply = api.post(f"/v1/invoices/{invoice_id}/refund")
    assert reply.status == 409 and "only a paid invoice" in reply.json["message"]
    assert api.state() == before


def test_an_owed_refund_shows_on_the_invoice_pending_then_failed(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    svc = bootstrap.wiring().services
    assert isinstance(svc.gateway, SandboxGateway)
    svc.gateway.fail_next("rate_limit", times=1000, on="refund")  # never answers
    assert api.get(f"/v1/invoices/{invoice_id}").json["refund_owed"] is None

    cancel = api.post("/v1/subscriptions/sub-1/cancel", {"refund": "full"})
    assert cancel.status == 200, cancel.text

    owed = api.get(f"/v1/invoices/{invoice_id}").json["refund_owed"]
    assert (owed["refund"], owed["amount"], owed["status"]) == (
        f"rf_{invoice_id}_1",
        1000,
        "pending",
    )
    assert owed["next_try_at"] is not None and owed["failure_reason"] is None
    api.clock.advance(timedelta(hours=24))
    work_due(svc, DueMessage(DueKind.REFUND, invoice_id))
    owed = api.get(f"/v1/invoices/{invoice_id}").json["refund_owed"]
    assert (owed["status"], owed["failure_reason"], owed["next_try_at"]) == (
        "failed",
        "provider_unanswered",
        None,
    )
    assert owed["failed_at"] == iso(api.clock.now())
