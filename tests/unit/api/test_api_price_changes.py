"""POST /v1/plans/{id}/price-changes and GET /v1/plans/{id}: a plan's new price, with notice."""

import json
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from api_harness import START, Api
from test_api_bad_input import locs, refused
from test_api_scopes import ANNA, ROOT, TOKENS

from tenure import bootstrap
from tenure.domain.timeutil import iso
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services.context import Services


def ahead(days: float) -> str:
    moment = iso(START + timedelta(days=days))
    assert moment is not None
    return moment


def test_a_price_change_is_scheduled_and_shown_with_the_plan(api: Api) -> None:
    api.plan("basic", 1000)
    reply = api.post("/v1/plans/basic/price-changes", {"amount": 1500, "effective_at": ahead(40)})
    assert reply.status == 201, reply.text
    shown = api.get("/v1/plans/basic").json
    assert shown["current_amount"] == 1000 and shown["amount"] == 1000
    [change] = shown["scheduled"]
    assert change == {
        "id": "basic:pc1",
        "amount": 1500,
        "effective_at": ahead(40),
        "notice_days": 30,
        "grandfather": False,
        "announced_at": ahead(0),
    }
    assert shown["price_changes"] == [change]

    api.clock.set(START + timedelta(days=41))
    later = api.get("/v1/plans/basic").json
    assert later["current_amount"] == 1500 and later["scheduled"] == []


def test_an_unknown_plan_is_a_404(api: Api) -> None:
    assert api.get("/v1/plans/nope").status == 404
    reply = api.post("/v1/plans/nope/price-changes", {"amount": 1500, "effective_at": ahead(40)})
    assert reply.status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0, "effective_at": ahead(40)}, "amount"),
        ({"amount": -1, "effective_at": ahead(40)}, "amount"),
        ({"amount": "1500", "effective_at": ahead(40)}, "amount"),
        ({"amount": 1500, "effective_at": ahead(-1)}, "effective_at"),
        ({"amount": 1500, "effective_at": "2026-06-01T00:00:00"}, "effective_at"),
        ({"amount": 1500, "effective_at": ahead(40), "notice_days": 10}, "notice_days"),
        ({"amount": 1500, "effective_at": ahead(40), "currency": "EUR"}, "currency"),
        ({"amount": 1500, "effective_at": ahead(40), "currency": "000"}, "currency"),
        ({"amount": 1500, "effective_at": ahead(40), "grandfather": "yes"}, "grandfather"),
        ({"amount": 1500}, "effective_at"),
        ({"effective_at": ahead(40)}, "amount"),
        ({"tiers": [{"up_to": None, "unit_amount": 900}], "effective_at": ahead(40)}, "tiers"),
        (
            {
                "amount": 1500,
                "tiers": [{"up_to": None, "unit_amount": 9}],
                "effective_at": ahead(40),
            },
            "amount",
        ),
    ],
)
def test_a_bad_price_change_is_a_422_naming_the_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    api.plan("basic", 1000)
    reply = refused(api, "POST", "/v1/plans/basic/price-changes", body)
    assert reply.status == 422
    assert ["body", field] in locs(reply), reply.text


@pytest.fixture
def named(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("TENURE_API_TOKEN", json.dumps(TOKENS))
    monkeypatch.delenv("API_TOKEN_SECRET_ARN", raising=False)
    repo, clock = InMemoryRepository(), FixedClock(START)
    bootstrap.use(bootstrap.Wiring(Services(repo, clock)))
    api = Api(api_module, repo, clock, token=ROOT)
    api.plan("basic", 1000)
    yield api
    bootstrap.use(None)


def test_only_an_admin_token_changes_a_price(named: Api) -> None:
    body = {"amount": 1500, "effective_at": ahead(40)}
    before = named.state()
    assert named.post("/v1/plans/basic/price-changes", body, token=ANNA).status == 403
    assert named.state() == before
    assert named.post("/v1/plans/basic/price-changes", body, token=ROOT).status == 201


def test_a_retried_price_change_with_its_idempotency_key_is_made_once(api: Api) -> None:
    api.plan("basic", 1000)
    body = {"amount": 1500, "effective_at": ahead(40)}
    key = {"Idempotency-Key": "raise-basic-2026"}
    first = api.post("/v1/plans/basic/price-changes", body, headers=key)
    again = api.post("/v1/plans/basic/price-changes", body, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json
    assert len(api.get("/v1/plans/basic").json["price_changes"]) == 1


def test_a_tiered_plan_takes_a_new_table_and_refuses_an_amount(api: Api) -> None:
    tiered = {
        "id": "seats",
        "amount": 0,
        "currency": "USD",
        "interval": "month",
        "tiers": [{"up_to": 5, "unit_amount": 1000}, {"up_to": None, "unit_amount": 800}],
    }
    assert api.post("/v1/plans", tiered).status == 201
    before = api.state()
    refused_amount = api.post(
        "/v1/plans/seats/price-changes", {"amount": 1500, "effective_at": ahead(40)}
    )
    assert refused_amount.status == 422 and ["body", "tiers"] in locs(refused_amount)
    gap = [{"up_to": 5, "unit_amount": 1200}, {"up_to": 9, "unit_amount": 900}]
    refused_gap = api.post(
        "/v1/plans/seats/price-changes", {"tiers": gap, "effective_at": ahead(40)}
    )
    assert refused_gap.status == 422 and ["body", "tiers[1].up_to"] in locs(refused_gap)
    assert api.state() == before

    table = [
        {"up_to": 5, "unit_amount": 1200, "flat_amount": 0},
        {"up_to": None, "unit_amount": 900, "flat_amount": 0},
    ]
    reply = api.post("/v1/plans/seats/price-changes", {"tiers": table, "effective_at": ahead(40)})
    assert reply.status == 201, reply.text
    [change] = api.get("/v1/plans/seats").json["scheduled"]
    assert change["tiers"] == table and change["amount"] == 0
