"""Loyalty points over HTTP: the balance and history, and redeeming points; every refusal a
422 that changes nothing."""

from typing import Any

import pytest
from api_harness import Api

LOYALTY = {
    "loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1},
    "version": 0,
}


@pytest.fixture
def shop(api: Api) -> Api:
    api.plan("basic", 1000)
    api.customer("alice")
    assert api.call("PUT", "/v1/programs", LOYALTY).status == 200
    api.subscription("sub-1", "alice", "basic")
    api.activate("sub-1")
    return api


def earn(api: Api, points: int) -> None:
    """Points earned on a paid invoice (the payment path lives in another function)."""
    from tenure.domain.points import PointsEntry, PointsKind, PointsMove
    from tenure.ports import Commit

    entry = PointsEntry("alice", api.clock.now(), PointsKind.EARNED, points, "in_1", points * 100)
    api.repo.commit(Commit(points=[PointsMove("alice", balance=points, entry=entry)]))


def redeem(api: Api, body: Any, **kwargs: Any) -> Any:
    return api.post("/v1/customers/alice/points/redeem", body, **kwargs)


def test_a_customer_without_points_has_an_empty_account(shop: Api) -> None:
    reply = shop.get("/v1/customers/alice/points")
    assert reply.status == 200
    assert reply.json == {"customer": "alice", "balance": 0, "pending": 0, "entries": []}


def test_redeeming_moves_points_to_pending_and_shows_the_history(shop: Api) -> None:
    earn(shop, 30)
    reply = redeem(shop, {"points": 12})
    assert reply.status == 200, reply.text
    assert (reply.json["balance"], reply.json["pending"]) == (18, 12)
    assert reply.json["entries"] == [
        {"at": "2026-04-01T00:00:00Z", "kind": "earned", "points": 30, "invoice": "in_1"}
    ]
    assert shop.repo.get_subscription("sub-1").points_pending == 12  # type: ignore[union-attr]
    assert shop.get("/v1/customers/alice/points").json == reply.json


def test_redeeming_more_than_the_balance_is_a_422_that_changes_nothing(shop: Api) -> None:
    earn(shop, 5)
    before = (shop.repo.get_points("alice"), len(shop.repo.events))
    reply = redeem(shop, {"points": 6})
    assert reply.status == 422
    assert reply.json["detail"] == [
        {
            "loc": ["body", "points"],
            "msg": "customer 'alice' has 5 points, fewer than the 6 asked",
            "type": "value_error",
        }
    ]
    assert (shop.repo.get_points("alice"), len(shop.repo.events)) == before


@pytest.mark.parametrize("body", [{"points": 0}, {"points": "5"}, {"points": 1.5}, {}])
def test_a_malformed_redemption_is_a_422_naming_points(shop: Api, body: Any) -> None:
    earn(shop, 5)
    reply = redeem(shop, body)
    assert reply.status == 422
    assert reply.json["detail"][0]["loc"][:2] == ["body", "points"]
    assert shop.repo.get_points("alice").balance == 5


def test_points_of_an_unknown_customer_are_a_404(shop: Api) -> None:
    assert shop.get("/v1/customers/nobody/points").status == 404
    assert shop.post("/v1/customers/nobody/points/redeem", {"points": 1}).status == 404


def test_a_retried_redemption_with_its_key_redeems_once(shop: Api) -> None:
    earn(shop, 10)
    key = {"Idempotency-Key": "redeem-1"}
    first = redeem(shop, {"points": 4}, headers=key)
    again = redeem(shop, {"points": 4}, headers=key)
    assert (first.status, again.status) == (200, 200)
    assert again.json == first.json
    assert shop.repo.get_points("alice").balance == 6
