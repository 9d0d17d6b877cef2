"""What a cold start imports: each function's handler module, loaded as Lambda loads it (its
folder and the layer on the path, nothing else imported first), leaves the heavy libraries
that only some invocations need to be imported when one does. A module moved back to the
top of a handler's import chain fails here, not months later in a benchmark."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/app.py"))

# Never at import time, in any function: the Stripe SDK (until a Stripe call), email and
# page templating (until an email or a page), PDF layout and shaping (until a PDF), and
# pydantic, whose import and model building were the largest share of a cold start after
# boto3 itself: the API validates requests with it from its first request on (its resolver
# is imported then); the other functions read the same data as dataclasses.
DEFERRED_EVERYWHERE = (
    "stripe",
    "jinja2",
    "babel",
    "fpdf",
    "uharfbuzz",
    "pydantic",
    "pydantic_core",
)
# Layer modules that no cold start needs, but for the functions named: each is imported on the
# path that uses it. The sandbox gateway (and its card numbers, and the Stripe object shapes
# it imports) only on a sandbox deployment, when bootstrap builds the gateway; the mailers
# and their email composition when the reminders send one (the wiring's mailer is made on
# first use); the MRR ledger when a commit moves a customer's MRR (store/customer_mrr.py) or
# the metrics function reports it.
DEFERRED_BUT_FOR: dict[str, tuple[str, ...]] = {
    "tenure.payments.sandbox": (),
    "tenure.payments.sandbox_cards": (),
    "tenure.notify.mailers": (),
    "tenure.domain.mrr": ("metrics",),
}
# The API's resolver and route modules (functions/api/api_resolver.py): a request imports
# those its path can match.
API_ROUTING = ("api_resolver", "api_schemas", "api_routes_", "api_pages", "api_console")

PROBE = """
import importlib.util, json, sys
folder = sys.argv[1]
sys.path[:0] = [sys.argv[2], folder]
spec = importlib.util.spec_from_file_location("app", folder + "/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by_import(function: str) -> set[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(REPO / "functions" / function),
            str(REPO / "layers/common"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def imported(loaded: set[str], root: str) -> bool:
    return any(m == root or m.startswith(root + ".") for m in loaded)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_leaves_the_heavy_libraries_for_the_invocations_that_need_them(
    function: str,
) -> None:
    loaded = loaded_by_import(function)
    assert "tenure.bootstrap" in loaded  # the probe did load the handler's real chain
    early = [root for root in DEFERRED_EVERYWHERE if imported(loaded, root)]
    assert early == [], f"functions/{function} imports {early} at cold start"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_leaves_the_modules_of_other_paths_to_those_paths(function: str) -> None:
    loaded = loaded_by_import(function)

    early = [m for m, but in DEFERRED_BUT_FOR.items() if function not in but and m in loaded]
    assert early == [], f"functions/{function} imports {early} at cold start"


# A sandbox deployment's first invocation, after the cold start of PROBE: bootstrap builds
# the sandbox gateway, importing it then, and the gateway charges.
SANDBOX_WIRING = """
assert "tenure.payments.sandbox" not in sys.modules
from datetime import UTC, datetime
from tenure import bootstrap
from tenure.domain.money import Money
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.settings import Settings
clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))
gateway = bootstrap.build(Settings(), store=InMemoryRepository(), clock=clock).services.gateway
customer = gateway.create_customer(
    customer_id="c1", email="ann@example.com", name="Ann", idempotency_key="probe-c1"
)
gateway.attach_payment_method(
    provider_customer_id=customer, payment_method="pm_card_visa", idempotency_key="probe-pm"
)
result = gateway.create_and_confirm_payment(
    amount=Money(1000, "USD"), customer_id=customer, payment_method="pm_card_visa",
    invoice_id="in1", attempt=1, idempotency_key="probe-pay",
)
made = "tenure.payments.sandbox" in sys.modules
print(json.dumps([type(gateway).__name__, str(result.outcome), made]))
"""


def test_a_sandbox_deployment_imports_its_gateway_when_its_wiring_is_built() -> None:
    probe = PROBE.replace("print(json.dumps(sorted(sys.modules)))", SANDBOX_WIRING)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            str(REPO / "functions/webhooks"),
            str(REPO / "layers/common"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={
            "AWS_DEFAULT_REGION": "us-east-1",
            "PATH": "/usr/bin:/bin",
            "PAYMENT_PROVIDER": "sandbox",
        },
    )

    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        "RateLimitedGateway",
        "succeeded",
        True,
    ]


def test_every_function_is_probed() -> None:
    assert {"api", "renewals", "webhooks", "reminders", "metrics", "events"} <= set(FUNCTIONS)


# A first request to the API, on in-memory fakes, after the cold start of PROBE.
FIRST_REQUEST = """
import json, sys
from datetime import UTC, datetime
from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services.context import Services
clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))
bootstrap.use(bootstrap.Wiring(Services(InMemoryRepository(), clock)))
method, path, body = json.loads(sys.argv[3])
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
    "headers": {"content-type": "application/json", "authorization": "Bearer probe-token"},
    "requestContext": {"http": {"method": method, "path": path}, "requestId": "r1",
                       "stage": "$default"},
    "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
}
answer = module.lambda_handler(event, None)
schemas = vars(sys.modules.get("api_schemas", sys))
built = [
    n for n, v in schemas.items()
    if getattr(v, "__module__", "") == "api_schemas" and getattr(v, "__pydantic_complete__", False)
]
print(json.dumps([answer["statusCode"], sorted(sys.modules), sorted(built)]))
"""


def after_one_request(method: str, path: str, body: object = None) -> tuple[set[str], list[str]]:
    """The modules a fresh API container holds after one request, and the request models of
    api_schemas that it built."""
    probe = PROBE.replace("print(json.dumps(sorted(sys.modules)))", FIRST_REQUEST)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            str(REPO / "functions" / "api"),
            str(REPO / "layers/common"),
            json.dumps([method, path, body]),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={
            "AWS_DEFAULT_REGION": "us-east-1",
            "PATH": "/usr/bin:/bin",
            "TENURE_API_TOKEN": "probe-token",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        },
    )
    status, loaded, built = json.loads(done.stdout.strip().splitlines()[-1])
    assert status < 500, done.stdout
    return {m for m in loaded if m.startswith(("api_", "pydantic", "jinja2"))}, built


def test_the_api_cold_start_imports_neither_its_resolver_nor_a_route_module() -> None:
    loaded = loaded_by_import("api")

    assert [m for m in loaded if m.startswith(API_ROUTING)] == []


def test_a_first_request_imports_only_the_route_modules_its_path_can_match() -> None:
    loaded, _ = after_one_request(
        "POST", "/v1/plans", {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    )

    assert "pydantic" in loaded  # the request was validated
    assert sorted(
        m for m in loaded if m.startswith(("api_routes_", "api_pages", "api_console"))
    ) == ["api_routes_catalog"]
    assert not any(m.startswith("jinja2") for m in loaded)


def test_a_health_check_imports_no_route_module() -> None:
    loaded, _ = after_one_request("GET", "/healthz")

    assert [m for m in loaded if m.startswith(("api_routes_", "api_pages", "api_console"))] == []


def test_a_first_request_builds_no_request_model_it_has_no_use_for() -> None:
    loaded, built = after_one_request("POST", "/v1/customers", {"email": "ann@example.com"})

    assert "api_schemas" in loaded
    # Both are made at import as the default bodies of billing's routes, in the same path
    # group; Powertools validates the body it was sent (CustomerCreate) with its own adapter.
    assert built == ["CancelRequest", "PauseRequest"]
