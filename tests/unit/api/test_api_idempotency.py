"""Idempotency-Key on POSTs: a retry gets the first answer and never a second effect."""

from types import SimpleNamespace
from typing import Any

import pytest
from api_harness import TOKEN, Api, http_event

KEY = {"Idempotency-Key": "order-42"}
SUBSCRIBE = {"customer": "alice", "plan": "basic"}


@pytest.fixture
def ready(api: Api) -> Api:
    api.plan("basic", 1000)
    api.customer("alice")
    return api


def test_the_same_key_and_body_replays_the_first_response_and_subscribes_once(
    ready: Api,
) -> None:
    first = ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)
    again = ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    assert first.status == again.status == 201
    assert again.text == first.text  # the generated sub_ id too
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert list(ready.repo.subscriptions) == [first.json["subscription"]["id"]]
    assert len(ready.repo.invoices) == 1


def test_the_same_key_with_a_different_body_is_a_422_and_changes_nothing(ready: Api) -> None:
    ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)
    before = ready.state()

    reply = ready.post("/v1/subscriptions", {**SUBSCRIBE, "id": "sub-other"}, headers=KEY)

    assert reply.status == 422
    assert reply.json["error"] == "idempotency_key_reused"
    assert ready.state() == before


def test_the_same_key_on_another_route_is_a_422(ready: Api) -> None:
    ready.post("/v1/customers", {"id": "bob", "email": "bob@example.com"}, headers=KEY)

    plan = {"id": "bob", "amount": 1000, "currency": "USD", "interval": "month"}
    before = ready.state()

    reply = ready.post("/v1/plans", plan, headers=KEY)

    assert (reply.status, reply.json["error"]) == (422, "idempotency_key_reused")
    assert ready.state() == before


def test_the_same_key_while_the_first_request_is_in_flight_is_a_409(
    ready: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first attempt dies between claiming the key and finishing (a Lambda timeout, say):
    # its claim stays in progress, as it would while the request were still running.
    def crash(change: Any) -> None:
        raise TimeoutError("the function ran out of time")

    monkeypatch.setattr(ready.repo, "commit", crash)
    monkeypatch.setattr(ready.repo, "release_idempotency", lambda key: None)
    assert ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY).status == 500
    monkeypatch.undo()
    before = ready.state()

    reply = ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    assert reply.status == 409
    assert reply.json["error"] == "idempotency_in_progress"
    assert ready.state() == before


def test_a_failed_request_releases_its_key_so_a_corrected_retry_runs(ready: Api) -> None:
    body = {"customer": "alice", "plan": "gold"}
    failed = ready.post("/v1/subscriptions", body, headers=KEY)
    ready.plan("gold", 5000)

    retried = ready.post("/v1/subscriptions", body, headers=KEY)

    assert failed.status == 404
    assert retried.status == 201
    assert ready.repo.idempotency["api:order-42"].status == "done"


def test_a_request_refused_by_validation_never_claims_its_key(ready: Api) -> None:
    ready.post("/v1/subscriptions", {"customer": "alice"}, headers=KEY)

    assert ready.repo.idempotency == {}


def test_a_request_without_a_key_is_not_deduplicated(ready: Api) -> None:
    ready.post("/v1/subscriptions", SUBSCRIBE)
    ready.post("/v1/subscriptions", SUBSCRIBE)

    assert len(ready.repo.subscriptions) == 2


def test_a_replayed_command_answers_as_the_first_time_even_after_the_state_moved_on(
    ready: Api,
) -> None:
    ready.subscription("sub-1")
    first = ready.post("/v1/subscriptions/sub-1/cancel", {"reason": "moving"}, headers=KEY)

    again = ready.post("/v1/subscriptions/sub-1/cancel", {"reason": "moving"}, headers=KEY)

    assert (first.status, again.status) == (200, 200)  # not a 409 "already canceled"
    assert again.text == first.text


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "tab\there"])
def test_a_malformed_key_is_a_422_on_the_header(ready: Api, key: str) -> None:
    before = ready.state()

    reply = ready.post("/v1/subscriptions", SUBSCRIBE, headers={"Idempotency-Key": key})

    assert reply.status == 422
    assert reply.json["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert ready.state() == before


def test_the_key_is_ignored_on_reads(ready: Api) -> None:
    ready.get("/v1/plans", headers=KEY)

    assert ready.repo.idempotency == {}


def test_a_json_answer_is_stored_as_status_and_body_only_and_replayed_as_json(
    ready: Api,
) -> None:
    first = ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    again = ready.post("/v1/subscriptions", SUBSCRIBE, headers=KEY)

    # No headers kept beside the JSON content type a replay has anyway: the record is as
    # small as before headers were kept.
    assert ready.repo.idempotency["api:order-42"].response == {"status": 201, "body": first.text}
    assert again.headers == {"Content-Type": "application/json", "Idempotent-Replayed": "true"}


def test_an_answers_own_headers_are_replayed_but_never_its_cookies(ready: Api) -> None:
    # No route of the API sets a header of its own today: the middleware is called here with
    # one that does, as the resolver would call it once the token was checked.
    import api_guard
    from api_idempotency import idempotent_posts
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.shared.cookies import Cookie
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    headers = {"authorization": f"Bearer {TOKEN}", **KEY}
    event = APIGatewayProxyEventV2(http_event("POST", "/v1/things", {"name": "a"}, headers))
    api_guard.check_access(event)  # the administrator's: `api:order-42`
    app: Any = SimpleNamespace(current_event=event)
    ran: list[str] = []

    def route(_: Any) -> Response[str]:
        ran.append("route")
        own = {
            "Location": "/v1/things/t1",
            "Vary": ["Accept", "Accept-Language"],
            "Set-Cookie": "session=s3cret",
            "Content-Length": "12",
        }
        return Response(201, "application/json", '{"id":"t1"}', own, [Cookie("jar", "c00kie")])

    first = idempotent_posts(app, route)
    again = idempotent_posts(app, route)

    assert ran == ["route"] and first.cookies
    assert (again.status_code, again.body) == (201, '{"id":"t1"}')
    assert again.headers == {
        "Content-Type": "application/json",
        "Location": "/v1/things/t1",
        "Vary": ["Accept", "Accept-Language"],
        "Idempotent-Replayed": "true",
    }
    assert again.cookies == []  # one caller's cookie is never handed to a retry
    stored = ready.repo.idempotency["api:order-42"].response
    assert stored is not None and "s3cret" not in repr(stored) and "c00kie" not in repr(stored)
