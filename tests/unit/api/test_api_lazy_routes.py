"""A request imports only the route modules its path can match (functions/api/api_resolver.py):
the table that says which those are must hold every route, and the API must answer and
describe itself the same whichever request a container served first."""

import json
import subprocess
import sys

import pytest
from api_harness import API_DIR, REPO_ROOT, Api, load_resolver


def test_every_route_lies_under_a_path_group_that_lists_its_module() -> None:
    resolver = load_resolver()
    app = resolver.include_every_route()
    missing = []
    for route in app._static_routes + app._dynamic_routes:
        module = route.func.__module__
        if module not in resolver.ROUTE_MODULES:
            continue  # the resolver's own routes: healthz and openapi.json
        group = resolver.path_group(route.path)
        # A group is made of literal segments: a parameter there would match any group.
        assert "<" not in group, route.path
        if module not in resolver.ROUTES_UNDER.get(group, ()):
            missing.append((group, module, route.method, route.path))

    assert missing == []


def test_the_path_groups_name_only_route_modules_and_every_one_of_them() -> None:
    resolver = load_resolver()
    named = {m for modules in resolver.ROUTES_UNDER.values() for m in modules}

    assert named == set(resolver.ROUTE_MODULES)


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/v1/customers/c1/points", "/v1/customers"),
        ("/v1/plans", "/v1/plans"),
        ("/pages/card", "/pages"),
        ("/console", "/console"),
        ("/healthz", "/healthz"),
        ("/", "/"),
        ("/v1", "/v1"),
    ],
)
def test_a_path_group_is_the_first_segment_or_the_first_two_under_v1(path: str, group: str) -> None:
    assert load_resolver().path_group(path) == group


def test_a_path_in_no_group_is_answered_as_an_unknown_route(api: Api) -> None:
    reply = api.get("/v2/customers")

    assert reply.status == 404
    assert reply.json["message"] == "no route for GET /v2/customers"


# A fresh container serves `first` requests, then the OpenAPI document; prints its hash.
CONTAINER = """
import hashlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import importlib.util
spec = importlib.util.spec_from_file_location("app", sys.argv[2] + "/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from datetime import UTC, datetime
from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services.context import Services
clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))
bootstrap.use(bootstrap.Wiring(Services(InMemoryRepository(), clock)))
def event(path):
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"authorization": "Bearer t"},
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": "r",
                           "stage": "$default"},
        "isBase64Encoded": False,
    }
statuses = [module.lambda_handler(event(p), None)["statusCode"] for p in json.loads(sys.argv[3])]
document = module.lambda_handler(event("/openapi.json"), None)["body"]
print(json.dumps([statuses, hashlib.sha256(document.encode()).hexdigest()]))
"""


def _fresh_container(first: list[str]) -> tuple[list[int], str]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CONTAINER,
            str(REPO_ROOT / "layers" / "common"),
            str(API_DIR),
            json.dumps(first),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={
            "AWS_DEFAULT_REGION": "us-east-1",
            "PATH": "/usr/bin:/bin",
            "TENURE_API_TOKEN": "t",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        },
    )
    statuses, digest = json.loads(done.stdout.strip().splitlines()[-1])
    return statuses, digest


def test_the_openapi_document_is_the_same_whichever_routes_a_container_loaded_first() -> None:
    untouched = _fresh_container([])
    after_requests = _fresh_container(["/console", "/v1/subscriptions/s1", "/v1/audit"])

    assert after_requests[0] == [401, 404, 422]  # each reached its route (or its guard)
    assert after_requests[1] == untouched[1]
