"""Operator actions over the API: each needs `billing` and a note, writes exactly one audit
entry naming its actor in the same commit as its effect, and a refused one writes nothing."""

import importlib
import json
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from api_harness import ANNA, DASH, ROOT, START, Api, alice_paid_bob_open, sandbox_api

from tenure.domain.events import DomainEvent, EventType
from tenure.domain.timeutil import iso
from tenure.payments.sandbox import SandboxGateway
from tenure.ports import Commit
from tenure.services.context import Services
from tenure.services.due import work_due

ROBOT = "refund-robot-" + "d" * 32  # a system, billing
TOKENS = [
    {"name": "support-anna", "token": ANNA, "scopes": ["billing"]},
    {"name": "dashboards", "token": DASH, "scopes": ["read"]},
    {"name": "platform", "token": ROOT, "scopes": ["admin"], "kind": "system"},
    {"name": "refund-robot", "token": ROBOT, "scopes": ["billing"], "kind": "system"},
]
NOTE = {"note": "customer called: agreed on the phone"}


@pytest.fixture
def shop(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """alice has a paid first invoice (sub-1); bob, no card, an open one (sub-2)."""
    with sandbox_api(api_module, monkeypatch, json.dumps(TOKENS), token=ROOT) as api:
        api.plan("basic", 1000)
        api.plan("trial", 1000, trial_days=14)
        api.token = ANNA
        alice_paid_bob_open(api)
        yield api


def _invoice(api: Api, sub: str) -> str:
    (invoice,) = api.repo.list_invoices(sub)
    return invoice.id


def _one_entry(api: Api, entity: str) -> dict[str, Any]:
    reply = api.get("/v1/audit", query={"entity": entity})
    assert reply.status == 200, reply.text
    (entry,) = reply.json["data"]
    return entry


def test_voiding_an_open_invoice_writes_one_entry_naming_the_person(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")

    done = shop.post(f"/v1/invoices/{invoice}/void", NOTE)

    assert done.status == 200, done.text
    assert done.json["invoice"]["status"] == "void"
    entry = _one_entry(shop, invoice)
    assert entry == done.json["audit"]
    assert (entry["actor"], entry["action"], entry["customer"]) == ("support-anna", "void", "bob")
    assert entry["note"] == NOTE["note"]
    assert (entry["before"]["status"], entry["after"]["status"]) == ("open", "void")
    assert shop.repo.events[-1]["type"] == "InvoiceVoided"


def test_writing_off_an_open_invoice_stops_its_dunning_with_one_entry(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")

    done = shop.post(f"/v1/invoices/{invoice}/write-off", NOTE)

    assert done.status == 200, done.text
    assert done.json["invoice"]["status"] == "uncollectible"
    assert _one_entry(shop, invoice)["action"] == "write_off"
    assert shop.repo.get_invoice(invoice).next_due() is None  # type: ignore[union-attr]


def test_marking_paid_out_of_band_keeps_the_reference_and_activates(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")
    body = NOTE | {"reference": "bank transfer 2026-04-01 #778"}

    done = shop.post(f"/v1/invoices/{invoice}/mark-paid", body)

    assert done.status == 200, done.text
    assert done.json["invoice"]["status"] == "paid"
    assert _one_entry(shop, invoice)["reference"] == body["reference"]
    assert shop.repo.get_subscription("sub-2").status == "active"  # type: ignore[union-attr]


def test_retry_now_charges_once_through_the_money_path(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")
    # A card on file that nothing has charged yet (attaching one through the API would
    # collect the invoice at once).
    bob = shop.repo.get_customer("bob")
    assert bob is not None
    bob.default_payment_method = "pm_card_visa"
    shop.repo.commit(Commit(customers=[bob]))
    charged_before = len(shop.repo.charges)
    headers = {"Idempotency-Key": "retry-bob-1"}

    first = shop.post(f"/v1/invoices/{invoice}/retry", NOTE, headers=headers)
    again = shop.post(f"/v1/invoices/{invoice}/retry", NOTE, headers=headers)

    assert first.status == 200, first.text
    assert first.json["charge"]["outcome"] == "succeeded"
    assert again.text == first.text and again.headers.get("Idempotent-Replayed") == "true"
    assert len(shop.repo.charges) == charged_before + 1
    assert _one_entry(shop, invoice)["after"]["attempt"] == 1


def test_retry_of_an_invoice_without_a_card_is_refused_without_an_entry(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")

    refused = shop.post(f"/v1/invoices/{invoice}/retry", NOTE)

    assert refused.status == 409, refused.text
    assert shop.repo.audit == [] and shop.repo.list_charges(invoice) == []


def test_credit_adjustments_move_the_balance_within_bounds(shop: Api) -> None:
    added = shop.post("/v1/subscriptions/sub-1/credit", NOTE | {"amount": 500})
    shop.clock.advance(timedelta(minutes=1))
    taken = shop.post("/v1/subscriptions/sub-1/credit", NOTE | {"amount": -200})
    before = shop.state()
    below_zero = shop.post("/v1/subscriptions/sub-1/credit", NOTE | {"amount": -301})

    assert (added.status, taken.status) == (200, 200), (added.text, taken.text)
    assert taken.json["subscription"]["credit"] == 300
    assert below_zero.status == 422 and below_zero.json["detail"][0]["loc"] == ["body", "amount"]
    assert shop.state() == before
    actions = [e.after["credit"] for e in shop.repo.audit]
    assert actions == [500, 300]


def test_a_trial_is_extended_and_renews_at_its_new_end(shop: Api) -> None:
    shop.subscription("sub-3", plan="trial")
    until = START + timedelta(days=30)

    done = shop.post("/v1/subscriptions/sub-3/extend-trial", NOTE | {"until": iso(until)})

    assert done.status == 200, done.text
    sub = shop.repo.get_subscription("sub-3")
    assert sub is not None and sub.trial_end == until and sub.next_due() == (until, "renewal")
    assert _one_entry(shop, "sub-3")["after"]["trial_end"] == iso(until)


def test_the_renewal_date_moves_and_later_periods_follow_it(shop: Api) -> None:
    at = START + timedelta(days=10)

    done = shop.post("/v1/subscriptions/sub-1/renewal-date", NOTE | {"at": iso(at)})

    assert done.status == 200, done.text
    sub = shop.repo.get_subscription("sub-1")
    assert sub is not None and sub.next_due() == (at, "renewal") and sub.anchor == at
    assert _one_entry(shop, "sub-1")["action"] == "change_renewal_date"


def test_cancel_now_ends_the_subscription_with_one_entry(shop: Api) -> None:
    done = shop.post("/v1/subscriptions/sub-1/cancel-now", NOTE | {"reason": "fraud"})

    assert done.status == 200, done.text
    assert done.json["subscription"]["status"] == "canceled"
    entry = _one_entry(shop, "sub-1")
    assert (entry["before"]["status"], entry["after"]["status"]) == ("active", "canceled")


def test_a_persons_refund_needs_a_note_and_is_audited(shop: Api) -> None:
    invoice = _invoice(shop, "sub-1")
    before = shop.state()

    no_note = shop.post(f"/v1/invoices/{invoice}/refund", {"amount": 100})
    assert no_note.status == 422 and no_note.json["detail"][0]["loc"] == ["body", "note"]
    assert shop.state() == before

    done = shop.post(f"/v1/invoices/{invoice}/refund", {"amount": 100} | NOTE)
    assert done.status == 201, done.text
    entry = _one_entry(shop, invoice)
    assert (entry["actor"], entry["action"], entry["reference"]) == (
        "support-anna",
        "refund",
        done.json["refund"]["id"],
    )
    assert (entry["before"]["amount_refunded"], entry["after"]["amount_refunded"]) == (0, 100)


def test_a_system_token_refunds_without_a_note_and_is_still_audited(shop: Api) -> None:
    invoice = _invoice(shop, "sub-1")

    done = shop.post(f"/v1/invoices/{invoice}/refund", {"amount": 100}, token=ROBOT)

    assert done.status == 201, done.text
    entry = _one_entry(shop, invoice)
    assert (entry["actor"], entry["note"]) == ("refund-robot", None)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/invoices/{paid}/void", NOTE, 409),
        ("/v1/invoices/{paid}/write-off", NOTE, 409),
        ("/v1/invoices/{paid}/mark-paid", NOTE | {"reference": "x"}, 409),
        ("/v1/invoices/{paid}/refund", {"amount": 1001} | NOTE, 422),
        ("/v1/invoices/{open}/void", {}, 422),
        ("/v1/invoices/{open}/void", {"note": ""}, 422),
        ("/v1/invoices/{open}/void", {"note": "line\nbreak"}, 422),
        ("/v1/invoices/{open}/void", {"note": "x" * 1001}, 422),
        ("/v1/invoices/{open}/mark-paid", NOTE, 422),
        ("/v1/subscriptions/sub-1/extend-trial", NOTE | {"until": "2026-06-01T00:00:00Z"}, 409),
        ("/v1/subscriptions/sub-1/renewal-date", NOTE | {"at": "2026-03-01T00:00:00Z"}, 422),
        ("/v1/subscriptions/sub-1/credit", NOTE | {"amount": 0}, 422),
    ],
)
def test_bad_input_is_refused_with_nothing_changed_and_no_entry(
    shop: Api, path: str, body: dict[str, Any], status: int
) -> None:
    target = path.format(paid=_invoice(shop, "sub-1"), open=_invoice(shop, "sub-2"))
    before = shop.state()

    refused = shop.post(target, body)

    assert refused.status == status, refused.text
    assert shop.state() == before and shop.repo.audit == []


@pytest.mark.parametrize(
    "path",
    ["/v1/invoices/{paid}/refund", "/v1/invoices/{open}/void", "/v1/subscriptions/sub-1/credit"],
)
def test_a_read_token_can_take_no_operator_action(shop: Api, path: str) -> None:
    target = path.format(paid=_invoice(shop, "sub-1"), open=_invoice(shop, "sub-2"))
    before = shop.state()

    refused = shop.post(target, NOTE | {"amount": 100}, token=DASH)

    assert refused.status == 403 and "'billing' scope" in refused.json["message"]
    assert shop.state() == before and shop.repo.audit == []


def test_an_action_whose_commit_fails_leaves_neither_effect_nor_entry(shop: Api) -> None:
    invoice = _invoice(shop, "sub-2")
    before = shop.state()
    repo = shop.repo
    real_commit = repo.commit

    def failing(change: Commit) -> None:
        assert change.audit, "the entry travels in the same commit as the effect"
        raise RuntimeError("the table went away mid-transaction")

    repo.commit = failing  # type: ignore[method-assign]
    try:
        failed = shop.post(f"/v1/invoices/{invoice}/void", NOTE)
    finally:
        repo.commit = real_commit  # type: ignore[method-assign]

    assert failed.status == 500
    assert shop.state() == before and repo.audit == []


def test_the_audit_lists_by_actor_and_pages_with_a_cursor(shop: Api) -> None:
    for amount in (100, 200, 300):
        shop.clock.advance(timedelta(minutes=1))  # entries of one moment sort by id
        shop.post("/v1/subscriptions/sub-1/credit", NOTE | {"amount": amount})
    shop.post("/v1/subscriptions/sub-2/credit", NOTE | {"amount": 50}, token=ROBOT)

    first = shop.get("/v1/audit", query={"actor": "support-anna", "limit": "2"})
    rest = shop.get(
        "/v1/audit",
        query={"actor": "support-anna", "limit": "2", "cursor": first.json["next_cursor"]},
    )
    neither = shop.get("/v1/audit")

    assert first.status == 200 and first.json["has_more"] is True
    assert rest.json["has_more"] is False and rest.json["next_cursor"] is None
    credits = [e["after"]["credit"] for e in first.json["data"] + rest.json["data"]]
    assert credits == [100, 300, 600]
    assert neither.status == 422


def test_an_automated_actor_alone_is_listed_across_the_table_newest_first(shop: Api) -> None:
    # Given the renewals' changes of two customers on two days
    for day, sub, customer in ((3, "sub-1", "alice"), (4, "sub-2", "bob")):
        at = START + timedelta(days=day)
        event = DomainEvent(EventType.CREDIT_GRANTED, sub, customer, at, 0)
        shop.repo.commit(Commit(events=[event], source="system:renewals"))
    shop.clock.set(START + timedelta(days=5))
    named = shop.get("/v1/audit", query={"actor": "system:renewals", "entity": "sub-1"})

    first = shop.get("/v1/audit", query={"actor": "system:renewals", "limit": "1"})
    rest = shop.get(
        "/v1/audit",
        query={"actor": "system:renewals", "limit": "1", "cursor": first.json["next_cursor"]},
    )
    old = shop.get(
        "/v1/audit",
        query={"actor": "system:renewals", "until": iso(START + timedelta(days=3, hours=1))},
    )

    assert first.status == 200, first.text
    assert [e["entity"] for e in first.json["data"] + rest.json["data"]] == ["sub-2", "sub-1"]
    assert first.json["has_more"] is True and rest.json["next_cursor"] is None
    assert [e["entity"] for e in old.json["data"]] == ["sub-1"]
    assert [e["entity"] for e in named.json["data"]] == ["sub-1"]


@pytest.mark.parametrize(
    "query",
    [
        {"actor": "system:nobody"},
        {"actor": "system:nobody", "entity": "sub-1"},
        {"actor": "Support Anna"},
        {"actor": "system:renewals", "cursor": "2026-01-01T00:00:00Z#x"},
        {"actor": "system:renewals", "since": "2026-02-30"},
        {"actor": "system:renewals", "since": "2020-01-01"},
        {"actor": "system:renewals", "since": "last week"},
        {"entity": "sub-1", "since": "2026-01-01"},
        # Moments whose arithmetic overflows Python's datetime (each was a 500).
        {"actor": "system:renewals", "since": "0001-01-01T00:00:00+14:00"},
        {"actor": "system:renewals", "until": "9999-12-31T23:59:59-14:00"},
        {"actor": "system:renewals", "until": "0001-01-05"},
        {"actor": "system:renewals", "since": "0001-01-01", "until": "0001-01-02"},
        {"actor": "system:renewals", "cursor": "0001-01-01T00:00:00.000000Z#0"},
    ],
)
def test_an_unknown_actor_a_malformed_cursor_or_a_bad_window_is_a_422(
    shop: Api, query: dict[str, str]
) -> None:
    before = shop.state()

    refused = shop.get("/v1/audit", query=query)

    assert refused.status == 422, refused.text
    assert "stack" not in refused.text.lower() and shop.state() == before
    (fault,) = refused.json["detail"]
    assert fault["loc"][0] == "query", fault  # a GET's values come from its query


def test_the_timeline_shows_invoices_charges_refunds_emails_and_audit_in_order(shop: Api) -> None:
    invoice = _invoice(shop, "sub-1")
    shop.clock.advance(timedelta(hours=1))
    shop.post(f"/v1/invoices/{invoice}/refund", {"amount": 100} | NOTE)

    reply = shop.get("/v1/customers/alice/timeline")

    assert reply.status == 200, reply.text
    items = reply.json["data"]
    kinds = {i["type"] for i in items}
    assert {"customer.created", "subscription.created", "invoice.created", "invoice.paid"} <= kinds
    assert {"charge", "refund", "audit"} <= kinds
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    assert shop.get("/v1/customers/nobody/timeline").status == 404


def test_the_timeline_pages_without_repeating_an_item(shop: Api) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = shop.get("/v1/customers/alice/timeline", query=query).json
        seen.extend(f"{i['type']}:{i['id']}" for i in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 4


def test_the_timeline_shows_an_instalment_plans_invoices_and_charges(shop: Api) -> None:
    plan = {"id": "ipl-1", "amount": 2000, "currency": "USD", "count": 2, "every": "week"}
    created = shop.post("/v1/customers/alice/installment-plans", plan | {"description": "Desk"})
    assert created.status == 201, created.text
    # The charger works the first instalment, due at once
    svc = Services(shop.repo, shop.clock, SandboxGateway(clock=shop.clock.now))
    for item in shop.repo.due(shop.clock.now()):
        work_due(svc, item)

    items = shop.get("/v1/customers/alice/timeline", query={"limit": "100"}).json["data"]

    [first] = [i for i in items if i["detail"].get("installment_plan") == "ipl-1"]
    assert (first["type"], first["detail"]["total"]) == ("invoice.created", 1000)
    assert ("installment_plan.created", "ipl-1") in [(i["type"], i["id"]) for i in items]
    charged = [i["detail"] for i in items if i["type"] == "charge"]
    assert [c["outcome"] for c in charged if c["invoice"] == first["id"]] == ["succeeded"]
    assert first["id"] in {i["id"] for i in items if i["type"] == "invoice.paid"}


def test_a_token_list_with_an_unknown_kind_is_refused() -> None:
    tokens = importlib.import_module("api_tokens")
    entry = {"name": "x", "token": "t" * 40, "scopes": ["read"], "kind": "robot"}
    with pytest.raises(tokens.TokenConfigError, match="kind must be person or system"):
        tokens.principals(json.dumps([entry]))


def test_the_openapi_document_lists_the_audit_window_and_its_patterns(shop: Api) -> None:
    document = shop.get("/openapi.json", token=None).json
    parameters = {p["name"]: p for p in document["paths"]["/v1/audit"]["get"]["parameters"]}

    assert {"entity", "actor", "limit", "cursor", "since", "until"} <= set(parameters)
    for name in ("since", "until"):
        assert parameters[name]["in"] == "query" and not parameters[name].get("required")
        assert "pattern" in json.dumps(parameters[name]["schema"])
