"""The token and the body size are checked once per request, and before the body is parsed."""

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from api_harness import Api, load_resolver


@dataclass
class Spies:
    """How many times each check ran, and what the JSON parser was given."""

    token_checks: int = 0
    size_checks: int = 0
    parsed: list[str] = field(default_factory=list)


@pytest.fixture
def spies(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Spies]:
    counts = Spies()
    api_guard = importlib.import_module("api_guard")  # importable once the api is loaded

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any) -> Any:
            setattr(counts, name, getattr(counts, name) + 1)
            return real(*args)

        return spy

    resolver = load_resolver().app
    real_parse = resolver._json_body_deserializer  # handed to each event it builds

    def parse(text: str) -> Any:
        counts.parsed.append(text)
        return real_parse(text)

    monkeypatch.setattr(
        api_guard, "_authenticated", counting("token_checks", api_guard._authenticated)
    )
    monkeypatch.setattr(api_guard, "raw_body", counting("size_checks", api_guard.raw_body))
    monkeypatch.setattr(resolver, "_json_body_deserializer", parse)
    yield counts


def a_plan() -> dict[str, Any]:
    return {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None

    def send(self, api: Api, **kwargs: Any) -> Any:
        return api.call(self.method, self.path, self.body, self.headers, self.query, **kwargs)


FORM = {"content-type": "application/x-www-form-urlencoded"}
REQUESTS = [
    pytest.param(Request("POST", "/v1/plans", a_plan()), 201, id="a JSON body that is created"),
    pytest.param(Request("POST", "/v1/plans", {"id": "x"}), 422, id="a JSON body, bad fields"),
    pytest.param(Request("POST", "/v1/plans", "{not json"), 400, id="a body that is not JSON"),
    pytest.param(Request("POST", "/v1/plans", "id=b", FORM), 415, id="a form on a JSON route"),
    pytest.param(Request("POST", "/v1/plans", [1]), 422, id="JSON that is not an object"),
    pytest.param(Request("POST", "/v1/subscriptions/sub-1/resume"), 404, id="a route without body"),
    pytest.param(Request("GET", "/v1/plans"), 200, id="a read"),
    pytest.param(Request("GET", "/v1/customers", query={"limit": "x"}), 422, id="a bad query"),
    pytest.param(Request("GET", "/v1/nothing-here"), 404, id="an unknown route"),
]


@pytest.mark.parametrize(("request_", "status"), REQUESTS)
def test_each_request_checks_its_token_and_its_size_exactly_once(
    api: Api, spies: Spies, request_: Request, status: int
) -> None:
    reply = request_.send(api)

    assert reply.status == status, reply.text
    assert (spies.token_checks, spies.size_checks) == (1, 1)


@pytest.mark.parametrize(("request_", "status"), REQUESTS)
def test_a_request_without_a_token_is_refused_once_and_its_body_never_parsed(
    api: Api, spies: Spies, request_: Request, status: int
) -> None:
    reply = request_.send(api, token=None)

    assert reply.status == 401
    assert spies.token_checks == 1
    assert spies.parsed == []


def test_an_oversized_body_is_refused_before_it_is_parsed(api: Api, spies: Spies) -> None:
    reply = api.post("/v1/plans", {**a_plan(), "name": "x" * 300_000})

    assert reply.status == 413
    assert spies.parsed == []


def test_a_json_body_that_passes_the_checks_is_parsed_once(api: Api, spies: Spies) -> None:
    reply = api.post("/v1/plans", a_plan())

    assert reply.status == 201
    assert len(spies.parsed) == 1


def test_no_route_turns_off_the_validation_that_runs_the_checks() -> None:
    app = load_resolver().include_every_route()
    routes = app._static_routes + app._dynamic_routes

    assert routes
    assert [r.path for r in routes if r.enable_validation is False] == []
