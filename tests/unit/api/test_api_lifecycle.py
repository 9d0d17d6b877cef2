"""Subscription commands over HTTP: proration, and illegal transitions (409 with the reason)."""

from datetime import UTC, datetime

import pytest
from api_harness import Api


@pytest.fixture
def active(api: Api) -> Api:
    """alice on $10/month since 2026-04-01T00:00Z (a 30-day period), first invoice paid."""
    api.plan("basic", 1000, name="Basic")
    api.plan("pro", 2000, name="Pro")
    api.customer("alice")
    api.subscription("sub-1", plan="basic")
    api.activate("sub-1")
    return api


def test_upgrading_halfway_through_a_30_day_month_invoices_five_dollars(active: Api) -> None:
    active.clock.set(datetime(2026, 4, 16, tzinfo=UTC))

    reply = active.post("/v1/subscriptions/sub-1/change-plan", {"plan": "pro"})

    assert reply.status == 200
    assert reply.json["subscription"]["plan"] == "pro"
    invoice = reply.json["invoice"]
    assert invoice["kind"] == "proration"
    assert invoice["total"] == 500
    assert [(line["kind"], line["amount"]) for line in invoice["lines"]] == [
        ("proration", -500),
        ("proration", 1000),
    ]
    assert (invoice["period_start"], invoice["period_end"]) == (
        "2026-04-16T00:00:00Z",
        "2026-05-01T00:00:00Z",
    )
    alone = active.get(f"/v1/invoices/{invoice['id']}").json
    assert {key: alone[key] for key in invoice} == invoice


def test_downgrading_halfway_becomes_credit_and_no_invoice(active: Api) -> None:
    active.post("/v1/subscriptions/sub-1/change-plan", {"plan": "pro"})  # at once: +$10
    active.clock.set(datetime(2026, 4, 16, tzinfo=UTC))

    reply = active.post("/v1/subscriptions/sub-1/change-plan", {"plan": "basic"})

    assert reply.status == 200
    assert reply.json["invoice"] is None
    assert reply.json["subscription"]["credit"] == 500


def test_resuming_an_active_subscription_is_a_409_with_the_reason(active: Api) -> None:
    before = active.state()

    reply = active.post("/v1/subscriptions/sub-1/resume")

    assert reply.status == 409
    assert reply.json == {
        "error": "conflict",
        "message": "cannot resume a subscription that is active",
    }
    assert active.state() == before


def test_pausing_a_canceled_subscription_is_a_409_with_the_reason(active: Api) -> None:
    active.post("/v1/subscriptions/sub-1/cancel", {"reason": "moving"})
    before = active.state()

    reply = active.post("/v1/subscriptions/sub-1/pause", {"until": "2026-05-01T00:00:00Z"})

    assert reply.status == 409
    assert reply.json["message"] == "cannot pause a subscription that is canceled"
    assert active.state() == before


def test_canceling_twice_is_a_409(active: Api) -> None:
    active.post("/v1/subscriptions/sub-1/cancel")

    reply = active.post("/v1/subscriptions/sub-1/cancel")

    assert (reply.status, reply.json["error"]) == (409, "conflict")


def test_scheduling_a_second_cancellation_is_a_409_saying_one_is_scheduled(active: Api) -> None:
    active.post("/v1/subscriptions/sub-1/cancel", {"at_period_end": True})

    reply = active.post("/v1/subscriptions/sub-1/cancel", {"at_period_end": True})

    assert reply.status == 409
    assert "already scheduled" in reply.json["message"]


def test_pausing_an_incomplete_subscription_is_a_409(api: Api) -> None:
    api.plan()
    api.customer("alice")
    api.subscription("sub-1")

    reply = api.post("/v1/subscriptions/sub-1/pause", {})

    assert reply.status == 409
    assert reply.json["message"] == "cannot pause a subscription that is incomplete"
