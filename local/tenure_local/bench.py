"""`make bench`: cold-start import cost, DynamoDB requests per API call, simulation speed."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tenure_local.functions import FUNCTIONS

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "common"

_IMPORT_HANDLER = """
import sys, time
sys.path[:0] = [{layer!r}, {folder!r}]
t = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
print(time.perf_counter() - t)
"""
_IMPORT_BOTO = """
import time
t = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t)
"""


def _timed(code: str, runs: int = 5) -> float:
    """Median seconds over fresh interpreters (a cold start is a fresh interpreter)."""
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        )
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    samples.sort()
    return samples[len(samples) // 2]


def cold_starts() -> list[tuple[str, float, float]]:
    boto = _timed(_IMPORT_BOTO)
    rows = []
    for folder in sorted(p for p in FUNCTIONS.iterdir() if (p / "app.py").exists()):
        code = _IMPORT_HANDLER.format(
            layer=str(LAYER), folder=str(folder), path=str(folder / "app.py")
        )
        seconds = _timed(code)
        rows.append((folder.name, seconds, seconds / boto))
    return rows


def requests_per_call() -> dict[str, int]:
    """DynamoDB requests made by create-subscription and get-subscription through the API."""
    import boto3

    from tenure import bootstrap
    from tenure.fakes import FixedClock
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository
    from tenure_local import functions
    from tenure_local.stack import LocalStack

    counts: dict[str, int] = {}
    with LocalStack() as stack:
        stack.apply_env()
        bootstrap.reset()
        calls: list[str] = []
        ddb = boto3.client("dynamodb")
        ddb.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
        )
        from datetime import UTC, datetime

        clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
        bootstrap.install(Services(DynamoRepository(ddb, stack.env["TABLE_NAME"]), clock))
        auth = {"authorization": f"Bearer {stack.env['TENURE_API_TOKEN']}"}

        def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
            result: dict[str, Any] = functions.invoke(
                "api", functions.http_event(method, path, body, headers=auth)
            )
            return result

        plan = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
        call("POST", "/v1/plans", plan)
        call("POST", "/v1/customers", {"id": "c1", "email": "c1@example.com"})
        calls.clear()
        created = call("POST", "/v1/subscriptions", {"id": "s1", "customer": "c1", "plan": "basic"})
        counts["create-subscription"] = len(calls)
        counts["create-subscription-status"] = int(created.get("statusCode", 0))
        calls.clear()
        call("GET", "/v1/subscriptions/s1")
        counts["get-subscription"] = len(calls)
        bootstrap.reset()
    return counts


def simulation_speed() -> tuple[float, float, float]:
    from tenure_local.scenario import load
    from tenure_local.simulate import Simulator

    scenario = load(REPO / "examples" / "bench.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        result = Simulator(scenario, Path(tmp) / "out", measure_raw_speed=False).run()
    return result.customer_months / result.seconds, result.own_share, result.seconds


def run(console: Console) -> None:
    import os

    from tenure_local.simulate import QUIET_ENV

    os.environ.update(QUIET_ENV)
    began = time.perf_counter()
    table = Table(title="Tenure benchmarks (one run on this machine; ratios are what to compare)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for name, seconds, ratio in cold_starts():
        table.add_row(
            f"import functions/{name} (cold start) ÷ import boto3 + client",
            f"{ratio:.2f} ({seconds * 1000:.0f} ms)",
            "≤ 1.5",
        )
    counts = requests_per_call()
    table.add_row(
        "DynamoDB requests: POST /v1/subscriptions (warm, no card yet)",
        str(counts["create-subscription"]),
        "≤ 2",
    )
    table.add_row(
        "DynamoDB requests: GET /v1/subscriptions/{id}", str(counts["get-subscription"]), "1"
    )
    speed, own, seconds = simulation_speed()
    table.add_row("simulate examples/bench.yaml: customer-months/s", f"{speed:.1f}", "")
    table.add_row("simulate: Tenure's own share of run time", f"{own:.0%}", "≤ 50%")
    console.print(table)
    console.print(json.dumps({"bench_seconds": round(time.perf_counter() - began, 1)}))
