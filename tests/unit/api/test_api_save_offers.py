"""Save offers over HTTP: a cancel presents them only when the caller opts in (older clients
cancel as before), one call accepts, a cancel with decline_offers completes; every refusal a
clear 4xx that changes nothing."""

import pytest
from api_harness import Api

OFFERS = [
    {"id": "pause2", "kind": "pause", "months": 2},
    {"id": "down", "kind": "change_plan", "plan": "lite"},
]


@pytest.fixture
def shop(api: Api) -> Api:
    api.plan("basic", 1000)
    api.plan("lite", 500)
    api.customer("alice")
    assert api.post("/v1/subscriptions", {"id": "sub-1", "customer": "alice", "plan": "basic"})
    api.activate("sub-1")
    reply = api.call("PUT", "/v1/programs", {"version": 0, "save_offers": OFFERS})
    assert reply.status == 200, reply.text
    return api


def test_a_cancel_without_the_opt_in_cancels_even_with_offers_configured(shop: Api) -> None:
    reply = shop.post("/v1/subscriptions/sub-1/cancel")
    assert reply.status == 200
    assert reply.json["subscription"]["status"] == "canceled"
    assert (reply.json["offers"], reply.json["refunds"]) == ([], [])


def test_an_opted_in_cancel_answers_the_offers_and_cancels_nothing(shop: Api) -> None:
    reply = shop.post("/v1/subscriptions/sub-1/cancel", {"offers": True, "reason": "not_using"})
    assert reply.status == 200, reply.text
    assert reply.json["subscription"]["status"] == "active"
    assert reply.json["offers"] == OFFERS


def test_accepting_an_offer_applies_it_and_a_second_accept_is_a_409(shop: Api) -> None:
    shop.post("/v1/subscriptions/sub-1/cancel", {"offers": True})
    reply = shop.post("/v1/subscriptions/sub-1/offers/down/accept")
    assert reply.status == 200, reply.text
    assert reply.json["subscription"]["plan"] == "lite"
    assert reply.json["subscription"]["status"] == "active"
    before = shop.state()
    again = shop.post("/v1/subscriptions/sub-1/offers/pause2/accept")
    assert again.status == 409
    assert shop.state() == before


def test_accepting_an_offer_not_presented_is_a_404_that_changes_nothing(shop: Api) -> None:
    shop.post("/v1/subscriptions/sub-1/cancel", {"offers": True})
    before = shop.state()
    reply = shop.post("/v1/subscriptions/sub-1/offers/free/accept")
    assert reply.status == 404
    assert shop.state() == before


def test_declining_completes_the_cancel_and_a_later_accept_is_a_409(shop: Api) -> None:
    shop.post("/v1/subscriptions/sub-1/cancel", {"offers": True})
    reply = shop.post("/v1/subscriptions/sub-1/cancel", {"decline_offers": True})
    assert reply.status == 200
    assert reply.json["subscription"]["status"] == "canceled"
    before = shop.state()
    assert shop.post("/v1/subscriptions/sub-1/offers/pause2/accept").status == 409
    assert shop.state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"refund": "half"}, "refund"),
        ({"offers": "yes"}, "offers"),
        ({"at_period_end": True, "refund": "full"}, "refund"),
    ],
)
def test_a_bad_cancel_is_a_422_that_changes_nothing(shop: Api, body: dict, field: str) -> None:
    before = shop.state()
    reply = shop.post("/v1/subscriptions/sub-1/cancel", body)
    assert reply.status == 422, reply.text
    assert reply.json["detail"][0]["loc"] == ["body", field]
    assert shop.state() == before
