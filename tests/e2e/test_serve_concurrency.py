"""Concurrent clients of `tenure serve`, as a careless client and an attacker would be: twenty
subscribes of one customer at once, each retried with its own Idempotency-Key on any non-2xx,
make exactly twenty subscriptions and twenty charges (issue 13, items 1 and 6)."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from serve_process import serving

from tenure.payments.sandbox_shared import SharedSandbox

TOKEN = "e2e-token"
CLIENTS = 20
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`tenure serve --workers 4`, and the file its processes share the sandbox provider by."""
    folder = tmp_path_factory.mktemp("serve-workers")
    sandbox = folder / "sandbox.pickle"
    env = {"TENURE_API_TOKEN": TOKEN, "TENURE_SANDBOX_STATE": str(sandbox)}
    with serving(folder, env, ("--workers", "4", "--no-schedules")) as (url, log):
        yield url, sandbox
    assert "Workers      4 processes" in log.read_text()


@pytest.fixture(scope="module")
def threaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-threads")
    with serving(folder, {"TENURE_API_TOKEN": TOKEN}, ("--no-schedules",)) as (url, _):
        yield url


def post(url: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
    headers = HEADERS | ({"Idempotency-Key": key} if key else {})
    return requests.post(url, json=body, headers=headers, timeout=60)


def a_customer_with_a_card(base: str, name: str) -> None:
    plan = {"id": f"{name}-plan", "amount": 1000, "currency": "USD", "interval": "month"}
    assert post(f"{base}/v1/plans", plan).status_code == 201
    assert post(f"{base}/v1/customers", {"id": name, "email": f"{name}@example.com"}).ok
    card = {"payment_method": "pm_card_visa", "default": True}
    assert post(f"{base}/v1/customers/{name}/payment-methods", card).status_code == 201


def test_twenty_concurrent_subscribes_retried_on_any_failure_charge_exactly_twenty_times(
    workers: tuple[str, Path],
) -> None:
    base, sandbox = workers
    a_customer_with_a_card(base, "crowd")
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def subscribe(n: int) -> str:
        body = {"customer": "crowd", "plan": "crowd-plan"}
        for _ in range(50):
            reply = post(f"{base}/v1/subscriptions", body, key=f"crowd-{n}")
            with lock:
                statuses[reply.status_code] += 1
            assert reply.status_code < 500, reply.text
            if reply.ok:
                return str(reply.json()["subscription"]["id"])
            time.sleep(0.1)
        raise AssertionError(f"client {n} never succeeded: {statuses}")

    with ThreadPoolExecutor(CLIENTS) as pool:
        ids = list(pool.map(subscribe, range(CLIENTS)))

    listed = requests.get(f"{base}/v1/customers/crowd/subscriptions", headers=HEADERS, timeout=30)
    subs = listed.json()["data"]
    assert len(set(ids)) == len(subs) == CLIENTS, statuses
    assert {s["status"] for s in subs} == {"active"}
    paid = []
    for sub in subs:
        invoices = requests.get(
            f"{base}/v1/subscriptions/{sub['id']}/invoices", headers=HEADERS, timeout=30
        ).json()["data"]
        paid += [i for i in invoices if i["status"] == "paid" and i["attempts"] == 1]
    assert len(paid) == CLIENTS
    assert SharedSandbox(sandbox).snapshot().confirmations == CLIENTS


def test_a_concurrent_client_of_one_process_sees_what_a_sequential_one_sees(
    threaded: str,
) -> None:
    base = threaded
    a_customer_with_a_card(base, "solo")
    subscribed = post(
        f"{base}/v1/subscriptions", {"id": "sub-solo", "customer": "solo", "plan": "solo-plan"}
    )
    assert subscribed.status_code == 201
    requests_ = [
        ("GET", "/v1/subscriptions/sub-solo", None, 200),
        ("GET", "/v1/subscriptions/nobody", None, 404),
        ("GET", "/v1/plans?limit=x", None, 200),
        ("POST", "/v1/customers", {"email": "not an address"}, 422),
        ("POST", "/v1/subscriptions/sub-solo/resume", None, 409),
        ("GET", "/v1/nowhere", None, 404),
    ] * 5

    def call(request: tuple[str, str, Any, int]) -> tuple[int, int]:
        method, path, body, expected = request
        reply = requests.request(method, f"{base}{path}", json=body, headers=HEADERS, timeout=60)
        return reply.status_code, expected

    with ThreadPoolExecutor(len(requests_)) as pool:
        answers = list(pool.map(call, requests_))

    assert [got for got, _ in answers] == [expected for _, expected in answers]
