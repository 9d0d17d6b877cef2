"""The API's cold start with its first request: what a caller of a new container waits for.

The import alone (suite.cold_starts) leaves out what the API does on its first request: it
imports its resolver (pydantic and Powertools' validation) and the route modules of that
request's path. Here a fresh interpreter imports the handler, then answers one
`POST /v1/customers` on in-memory fakes (their import is not timed: a deployed function
has the DynamoDB repository instead), interleaved with the same boto3 baseline."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

_IMPORT_AND_ONE_REQUEST = """
import json, sys, time
sys.path[:0] = [{layer!r}, {folder!r}]
t = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("app", {folder!r} + "/app.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
imported = time.perf_counter() - t
from datetime import UTC, datetime
from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services.context import Services
clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))
bootstrap.use(bootstrap.Wiring(Services(InMemoryRepository(), clock)))
event = {{
    "version": "2.0", "routeKey": "$default", "rawPath": "/v1/customers", "rawQueryString": "",
    "headers": {{"content-type": "application/json", "authorization": "Bearer bench"}},
    "requestContext": {{"http": {{"method": "POST", "path": "/v1/customers"}},
                       "requestId": "r1", "stage": "$default"}},
    "body": json.dumps({{"id": "c1", "email": "c1@example.com"}}), "isBase64Encoded": False,
}}
t = time.perf_counter()
answer = m.lambda_handler(event, None)
assert answer["statusCode"] == 201, answer
print(imported + time.perf_counter() - t)
"""


def api_first_request(rounds: int = 5) -> tuple[float, float]:
    """(seconds, ratio to import boto3 + client): medians over interleaved rounds."""
    from tenure_local.bench.suite import _IMPORT_BOTO, _median, _sample

    code = _IMPORT_AND_ONE_REQUEST.format(
        layer=str(REPO / "layers" / "common"), folder=str(REPO / "functions" / "api")
    )
    env = {"TENURE_API_TOKEN": "bench", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    boto, api = [], []
    for _ in range(rounds):
        boto.append(_sample(_IMPORT_BOTO))
        try:
            api.append(_sample(code, env))
        except subprocess.CalledProcessError:
            return float("nan"), float("nan")
    seconds = _median(api)
    return seconds, seconds / _median(boto)
