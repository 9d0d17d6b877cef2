"""JSON routes read only a JSON object sent as application/json; a body in any other shape is
refused (415 or 422) and changes nothing, never read as if it were empty (issue 13, item 2)."""

from typing import Any

import pytest
from api_harness import Api, http_event

MULTIPART = '--x\r\nContent-Disposition: form-data; name="at_period_end"\r\n\r\ntrue\r\n--x--\r\n'
# (route, a body it would accept): every route that takes a JSON body.
JSON_ROUTES = [
    ("/v1/customers", {"id": "bob", "email": "bob@example.com"}),
    ("/v1/plans", {"id": "gold", "amount": 3000, "currency": "USD", "interval": "month"}),
    ("/v1/customers/alice/payment-methods", {"payment_method": "pm_card_visa"}),
    ("/v1/subscriptions", {"id": "sub-b", "customer": "alice", "plan": "basic"}),
    ("/v1/subscriptions/sub-a/cancel", {"at_period_end": True}),
    ("/v1/subscriptions/sub-a/pause", {"until": "2027-01-01T00:00:00Z"}),
    ("/v1/subscriptions/sub-a/change-plan", {"plan": "basic"}),
]
OTHER_MEDIA = [
    ("application/x-www-form-urlencoded", "at_period_end=true&until=2027-01-01T00:00:00Z"),
    ("multipart/form-data; boundary=x", MULTIPART),
    ("multipart/form-data", MULTIPART),
    ("text/plain", '{"at_period_end": true}'),
    ("application/jsonx", '{"at_period_end": true}'),
    (None, '{"at_period_end": true}'),
]
NOT_OBJECTS = ["null", "[]", "[{}]", "1", '"cancel"', "true"]


@pytest.fixture
def shop(api: Api) -> Api:
    api.plan("basic", 1000)
    api.customer("alice")
    api.subscription("sub-a")
    api.activate("sub-a")
    return api


def post_raw(api: Api, path: str, body: str, content_type: str | None, **headers: str) -> Any:
    event = http_event("POST", path, body, {"authorization": f"Bearer {api.token}", **headers})
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type
    return api.invoke(event)


@pytest.mark.parametrize("path", [path for path, _ in JSON_ROUTES])
@pytest.mark.parametrize(("content_type", "body"), OTHER_MEDIA)
def test_a_json_route_refuses_a_body_of_another_media_type_with_415_and_changes_nothing(
    shop: Api, path: str, content_type: str | None, body: str
) -> None:
    before = shop.state()

    reply = post_raw(shop, path, body, content_type)

    assert reply.status == 415, reply.text
    assert reply.json["error"] == "unsupported_media_type"
    assert shop.state() == before


@pytest.mark.parametrize("path", [path for path, _ in JSON_ROUTES])
@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_a_json_route_refuses_json_that_is_not_an_object_with_422_and_changes_nothing(
    shop: Api, path: str, body: str
) -> None:
    before = shop.state()

    reply = post_raw(shop, path, body, "application/json")

    assert reply.status == 422, reply.text
    assert reply.json["detail"] == [
        {"loc": ["body"], "msg": "must be a JSON object", "type": "value_error"}
    ]
    assert shop.state() == before


def test_cancel_with_a_json_null_body_does_not_cancel_now(shop: Api) -> None:
    reply = post_raw(shop, "/v1/subscriptions/sub-a/cancel", "null", "application/json")

    assert reply.status == 422
    assert shop.repo.subscriptions["sub-a"].status.value == "active"


def test_pause_with_a_form_body_is_refused_rather_than_paused_without_its_until(shop: Api) -> None:
    reply = post_raw(
        shop,
        "/v1/subscriptions/sub-a/pause",
        "until=2027-01-01T00:00:00Z",
        "application/x-www-form-urlencoded",
    )

    assert reply.status == 415
    assert shop.repo.subscriptions["sub-a"].status.value == "active"


def test_the_json_media_type_may_carry_parameters_and_any_case(shop: Api) -> None:
    reply = post_raw(
        shop,
        "/v1/subscriptions/sub-a/cancel",
        '{"at_period_end": true}',
        "Application/JSON; charset=utf-8",
    )

    assert reply.status == 200, reply.text
    assert reply.json["subscription"]["cancel_at_period_end"] is True


@pytest.mark.parametrize(
    "path", ["/v1/subscriptions/sub-a/cancel", "/v1/subscriptions/sub-a/pause"]
)
def test_a_route_whose_body_is_optional_accepts_none(shop: Api, path: str) -> None:
    assert post_raw(shop, path, "", None).status == 200


@pytest.mark.parametrize(("body", "content_type"), [("", None), ("{}", "application/json")])
def test_a_route_that_takes_no_body_accepts_none_or_an_empty_object(
    shop: Api, body: str, content_type: str | None
) -> None:
    shop.post("/v1/subscriptions/sub-a/pause", {})

    reply = post_raw(shop, "/v1/subscriptions/sub-a/resume", body, content_type)

    assert reply.status == 200, reply.text


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"at": "now"}', "application/json", 422),
        ("null", "application/json", 422),
        ("at=now", "application/x-www-form-urlencoded", 415),
        ("{", "application/json", 400),
    ],
)
def test_a_route_that_takes_no_body_refuses_one_it_would_ignore(
    shop: Api, body: str, content_type: str, status: int
) -> None:
    shop.post("/v1/subscriptions/sub-a/pause", {})
    before = shop.state()

    reply = post_raw(shop, "/v1/subscriptions/sub-a/resume", body, content_type)

    assert reply.status == status, reply.text
    assert shop.state() == before


def test_a_body_of_another_media_type_without_a_token_is_a_401_not_a_415(shop: Api) -> None:
    event = http_event("POST", "/v1/subscriptions/sub-a/cancel", "a=b")
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"

    assert shop.invoke(event).status == 401


def test_the_idempotency_key_of_a_refused_body_is_never_claimed(shop: Api) -> None:
    post_raw(shop, "/v1/subscriptions", "customer=alice", "text/plain", **{"idempotency-key": "k"})

    assert shop.repo.idempotency == {}


@pytest.mark.parametrize(
    "address", ["ann@example..com", "ann@1.2.3.4", "анна@example.com", 'a"nn@example.com']
)
def test_a_customer_the_mailer_could_not_write_to_is_refused_with_422(
    api: Api, address: str
) -> None:
    before = api.state()

    reply = api.post("/v1/customers", {"id": "ann", "email": address})

    assert reply.status == 422, reply.text
    assert reply.json["detail"][0]["loc"] == ["body", "email"]
    assert address not in reply.text  # never echoed back
    assert api.state() == before
