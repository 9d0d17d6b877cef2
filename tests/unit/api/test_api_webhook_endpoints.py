"""Webhook endpoints over HTTP: registered with a secret shown once, read, listed, deleted,
enabled again, their delivery log and a replay; every refusal a 422 that stores nothing.
Hosts are IP literals, so resolving them needs no network."""

from datetime import timedelta

import pytest
from api_harness import Api

from tenure import bootstrap
from tenure.services import webhooks_out
from tenure.webhooks_out_http import NoWebhookQueue

ISO = "%Y-%m-%dT%H:%M:%SZ"
PUBLIC_URL = "https://93.184.215.14/hooks"
EVENT = {
    "id": "evt_1",
    "type": "InvoicePaid",
    "occurred_at": "2026-04-01T00:00:00Z",
    "entity_id": "in_1",
    "customer_id": "alice",
    "data": {},
}


def register(api: Api, url: str = PUBLIC_URL, events: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    reply = api.post("/v1/webhook-endpoints", {"url": url, "events": events or ["*"]})
    assert reply.status == 201, reply.text
    return reply.json  # type: ignore[no-any-return]


def test_a_registered_endpoint_shows_its_secret_once_and_reads_back_without_it(api: Api) -> None:
    created = register(api, events=["InvoicePaid"])
    assert created["secret"].startswith("whsec_") and created["status"] == "enabled"
    assert created["events"] == ["InvoicePaid"]
    read = api.get(f"/v1/webhook-endpoints/{created['id']}").json
    assert "secret" not in read
    assert read == {k: v for k, v in created.items() if k != "secret"}
    assert api.get("/v1/webhook-endpoints").json == {"data": [read]}


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",
        "http://127.0.0.1:9000/hooks",
        "https://10.0.0.7/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://127.0.0.1/hooks",
    ],
)
def test_a_url_not_https_or_private_is_a_422_and_nothing_is_stored(api: Api, url: str) -> None:
    before = api.state()
    reply = api.post("/v1/webhook-endpoints", {"url": url, "events": ["*"]})
    assert reply.status == 422, reply.text
    assert reply.json["detail"][0]["loc"] == ["body", "url"]
    assert api.get("/v1/webhook-endpoints").json == {"data": []}
    assert api.state() == before


def test_loopback_http_is_allowed_in_local_mode(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")
    wired = bootstrap.wiring()
    bootstrap.use(bootstrap.Wiring(wired.services))
    assert register(api, "http://127.0.0.1:9000/hooks")["url"] == "http://127.0.0.1:9000/hooks"


def test_an_unknown_event_type_is_a_422_naming_events(api: Api) -> None:
    reply = api.post("/v1/webhook-endpoints", {"url": PUBLIC_URL, "events": ["InvoiceEaten"]})
    assert reply.status == 422
    assert reply.json["detail"][0]["loc"] == ["body", "events"]
    assert api.get("/v1/webhook-endpoints").json == {"data": []}


def test_the_same_idempotency_key_registers_one_endpoint(api: Api) -> None:
    body = {"url": PUBLIC_URL, "events": ["*"]}
    first = api.post("/v1/webhook-endpoints", body, headers={"Idempotency-Key": "k1"})
    again = api.post("/v1/webhook-endpoints", body, headers={"Idempotency-Key": "k1"})
    assert first.status == again.status == 201
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert len(api.get("/v1/webhook-endpoints").json["data"]) == 1


def test_a_deleted_endpoint_is_gone(api: Api) -> None:
    endpoint_id = register(api)["id"]
    reply = api.call("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")
    assert reply.status == 200 and reply.json == {"id": endpoint_id, "deleted": True}
    assert api.get(f"/v1/webhook-endpoints/{endpoint_id}").status == 404
    assert api.call("DELETE", f"/v1/webhook-endpoints/{endpoint_id}").status == 404


def test_the_delivery_log_lists_an_endpoints_deliveries_and_one_replays(api: Api) -> None:
    endpoint_id = register(api)["id"]
    [delivery] = webhooks_out.fan_out(bootstrap.wiring().services, EVENT, 1)
    log = api.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json["data"]
    assert [(d["id"], d["event_type"], d["status"]) for d in log] == [
        (delivery.id, "InvoicePaid", "pending")
    ]
    reply = api.post(f"/v1/webhook-deliveries/{delivery.id}/replay")
    assert reply.status == 200 and reply.json["status"] == "pending"
    queue = bootstrap.wiring().webhook_queue()
    assert isinstance(queue, NoWebhookQueue)
    assert queue.handed_back == [(delivery.id, api.clock.now())]
    assert api.post("/v1/webhook-deliveries/msg_nope/replay").status == 404
    assert api.get("/v1/webhook-endpoints/we_nope/deliveries").status == 404


def test_enable_answers_the_endpoint_and_404_for_an_unknown_one(api: Api) -> None:
    endpoint_id = register(api)["id"]
    reply = api.post(f"/v1/webhook-endpoints/{endpoint_id}/enable")
    assert reply.status == 200 and reply.json["status"] == "enabled"
    assert api.post("/v1/webhook-endpoints/we_nope/enable").status == 404


def test_each_change_to_endpoints_and_each_replay_writes_one_entry_naming_the_token(
    api: Api,
) -> None:
    # Given an endpoint registered and an event fanned out to it
    endpoint_id = register(api)["id"]
    [delivery] = webhooks_out.fan_out(bootstrap.wiring().services, EVENT, 1)
    # When it is replayed, enabled and deleted, then refused each of those once more
    assert api.post(f"/v1/webhook-deliveries/{delivery.id}/replay").status == 200
    assert api.post(f"/v1/webhook-endpoints/{endpoint_id}/enable").status == 200
    assert api.call("DELETE", f"/v1/webhook-endpoints/{endpoint_id}").status == 200
    assert api.call("DELETE", f"/v1/webhook-endpoints/{endpoint_id}").status == 404
    assert api.post(f"/v1/webhook-endpoints/{endpoint_id}/enable").status == 404
    assert api.post(f"/v1/webhook-deliveries/{delivery.id}/replay").status == 404
    # Then one entry for each change made, by the bare admin token, and none for refusals
    # (all at the same fixed moment, so in no particular order)
    entries = sorted((e.actor, str(e.action), e.entity) for e in api.repo.audit)
    assert entries == [
        ("api", "delivery_replayed", delivery.id),
        ("api", "endpoint_deleted", endpoint_id),
        ("api", "endpoint_enabled", endpoint_id),
        ("api", "endpoint_registered", endpoint_id),
    ]
    [registered] = [e for e in api.repo.audit if e.action == "endpoint_registered"]
    assert registered.after == {"url": PUBLIC_URL, "events": "*"}
    assert registered.customer_id == ""  # in no customer's timeline
    # And they are listed by the endpoint
    listed = api.get("/v1/audit", query={"entity": endpoint_id}).json["data"]
    assert sorted(e["action"] for e in listed) == [
        "endpoint_deleted",
        "endpoint_enabled",
        "endpoint_registered",
    ]


def test_a_refused_registration_writes_no_entry(api: Api) -> None:
    reply = api.post("/v1/webhook-endpoints", {"url": "http://10.0.0.1/x", "events": ["*"]})
    assert reply.status == 422
    assert api.repo.audit == []


def test_a_rotated_secret_is_answered_once_with_when_the_old_one_stops(api: Api) -> None:
    created = register(api)
    reply = api.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret",
        {"previous_secret_expires_in": 3600},
    )
    assert reply.status == 200, reply.text
    rotated = reply.json
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    in_an_hour = (api.clock.now() + timedelta(hours=1)).strftime(ISO)
    assert rotated["previous_secret_expires_at"] == in_an_hour
    assert "secret" not in api.get(f"/v1/webhook-endpoints/{created['id']}").json
    # No body: the old secret signs for another day; 0: not at all
    default = api.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret").json
    assert default["previous_secret_expires_at"] == (api.clock.now() + timedelta(days=1)).strftime(
        ISO
    )
    at_once = api.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {"previous_secret_expires_in": 0}
    ).json
    assert at_once["previous_secret_expires_at"] is None
    rotations = [e for e in api.repo.audit if e.action == "endpoint_secret_rotated"]
    assert len(rotations) == 3 and {e.actor for e in rotations} == {"api"}
    assert all(e.entity == created["id"] for e in rotations)


@pytest.mark.parametrize(
    "body",
    [
        {"previous_secret_expires_in": 86_401},
        {"previous_secret_expires_in": -1},
        {"previous_secret_expires_in": "3600"},
        {"previous_secret_expires_in": 1.5},
        {"grace": 10},
    ],
)
def test_a_bad_rotation_is_a_422_and_changes_nothing(api: Api, body: dict) -> None:  # type: ignore[type-arg]
    endpoint_id = register(api)["id"]
    before = api.state()
    reply = api.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", body)
    assert reply.status == 422, reply.text
    assert api.state() == before
    assert api.post("/v1/webhook-endpoints/we_nope/rotate-secret").status == 404
