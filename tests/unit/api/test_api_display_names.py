"""Plan and coupon names are printed on invoice lines, PDFs and pages: control characters
and the bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) are a 422 on `name`,
nothing written; other scripts (Arabic, Devanagari, ...) are names like any other."""

import pytest
from api_harness import Api
from test_api_bad_input import refused

from tenure import bootstrap
from tenure.domain.calendar import IntervalUnit
from tenure.domain.plans import Plan
from tenure.services import catalog

BAD_NAMES = [
    "Pro\nmonthly",  # a line break
    "Pro\x00",  # NUL
    "Pro\x1b[31m",  # an escape sequence
    "Pro\x85",  # C1 next line
    "Pro \u202eylhtnom",  # right-to-left override
    "\u202aPro",  # left-to-right embedding
    "Pro \u2066x\u2069",  # an isolate
]
GOOD_NAMES = ["الخطة الشهرية", "मासिक योजना", "Pro — monthly (€)"]
COUPON = {"id": "half", "percent_off": 50, "duration": "once"}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_plan_name_with_control_or_bidi_characters_is_a_422_on_name(api: Api, name: str) -> None:
    body = {"id": "pro", "amount": 1000, "currency": "USD", "interval": "month", "name": name}
    reply = refused(api, "POST", "/v1/plans", body)

    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "name"]]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_coupon_name_with_control_or_bidi_characters_is_a_422_on_name(
    api: Api, name: str
) -> None:
    reply = refused(api, "POST", "/v1/coupons", {**COUPON, "name": name})

    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "name"]]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_in_any_script_are_taken(api: Api, name: str) -> None:
    assert api.plan("pro", name=name)["name"] == name
    reply = api.post("/v1/coupons", {**COUPON, "name": name})
    assert reply.status == 201, reply.text
    assert reply.json["name"] == name


def test_a_plan_stored_before_the_rule_is_still_listed_and_read(api: Api) -> None:
    # Names were not checked before: a plan kept with one must not make the catalog a 500.
    old = Plan(id="old", name="Old\nplan", amount=1000, currency="USD", interval=IntervalUnit.MONTH)
    catalog.create_plan(bootstrap.wiring().services, old)

    listed = api.get("/v1/plans")
    assert listed.status == 200, listed.text
    assert [p["name"] for p in listed.json["data"]] == ["Old\nplan"]
    assert api.get("/v1/plans/old").status == 200


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_customer_name_with_control_or_bidi_characters_is_a_422_on_name(
    api: Api, name: str
) -> None:
    # Printed on invoices, in emails and on pages as a plan's name is; an import checks the
    # same rule (docs/import.md).
    body = {"id": "alice", "email": "alice@example.com", "name": name}
    reply = refused(api, "POST", "/v1/customers", body)
    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "name"]]

    api.customer("bob", name="Bob")
    reply = refused(api, "PATCH", "/v1/customers/bob", {"name": name})
    assert reply.status == 422, reply.text
    assert [d["loc"] for d in reply.json["detail"]] == [["body", "name"]]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_customer_names_in_any_script_are_taken(api: Api, name: str) -> None:
    assert api.customer("alice", name=name)["name"] == name
    assert api.call("PATCH", "/v1/customers/alice", {"name": name[::-1]}).json["name"] == name[::-1]


def test_a_customer_stored_before_the_rule_is_still_read_and_updated(api: Api) -> None:
    svc = bootstrap.wiring().services
    catalog.create_customer(svc, "old", "old@example.com", name="Old\ncustomer")
    assert api.get("/v1/customers/old").json["name"] == "Old\ncustomer"
    reply = api.call("PATCH", "/v1/customers/old", {"locale": "ru"})
    assert reply.status == 200, reply.text
