"""`tenure serve` tells a registered webhook endpoint of every event, signed per Standard
Webhooks: a receiver thread on loopback gets deliveries that verify with the
`standardwebhooks` library, retried after it first fails."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from serve_process import serving
from standardwebhooks import Webhook

TOKEN = "e2e-token"


class Receiver(ThreadingHTTPServer):
    """Answers 500 to the first delivery of each event, then 204; keeps what it got."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.got: list[tuple[dict[str, str], str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"])).decode()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server.lock:
            first = all(h["webhook-id"] != headers["webhook-id"] for h, _ in self.server.got)
            self.server.got.append((headers, body))
        self.send_response(500 if first else 204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-webhooks-out")
    with serving(folder, {"TENURE_API_TOKEN": TOKEN}, ("--no-schedules",)) as (url, _):
        yield url


def api(base_url: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        f"{base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def wait_for(check: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_registered_endpoint_receives_correctly_signed_events_again_after_failing(
    base_url: str, receiver: Receiver
) -> None:
    created = api(base_url, "POST", "/v1/webhook-endpoints", {"url": receiver.url, "events": ["*"]})
    assert created.status_code == 201, created.text
    endpoint = created.json()
    customer = {"id": "hook-alice", "email": "alice@example.com"}
    assert api(base_url, "POST", "/v1/customers", customer).status_code == 201

    def customer_created_twice() -> bool:
        with receiver.lock:
            got = [json.loads(b) for _, b in receiver.got]
        return sum(g["type"] == "CustomerCreated" for g in got) >= 2

    # The first try gets a 500; the dispatcher hands it back for 30 s later, then it arrives.
    wait_for(customer_created_twice, seconds=90)
    hook = Webhook(endpoint["secret"])
    with receiver.lock:
        got = list(receiver.got)
    tries = [(h, b) for h, b in got if json.loads(b)["type"] == "CustomerCreated"]
    for headers, body in tries:
        payload = hook.verify(body, headers)
        assert payload["data"]["entity_id"] == "hook-alice"
        assert payload["data"]["object_version"] == 1
    assert len({h["webhook-id"] for h, _ in tries}) == 1
    log_path = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"

    def delivery() -> dict[str, Any]:
        log = api(base_url, "GET", log_path).json()["data"]
        [found] = [d for d in log if d["event_type"] == "CustomerCreated"]
        return found  # type: ignore[no-any-return]

    wait_for(lambda: delivery()["status"] == "succeeded")
    assert delivery()["id"] == tries[0][0]["webhook-id"]
    assert delivery()["attempts"] == 2


def test_a_private_or_plain_http_url_is_refused_even_locally(base_url: str) -> None:
    for url in ("http://example.com/hooks", "ftp://127.0.0.1/hooks"):
        reply = api(base_url, "POST", "/v1/webhook-endpoints", {"url": url, "events": ["*"]})
        assert reply.status_code == 422, reply.text
    listed = api(base_url, "GET", "/v1/webhook-endpoints").json()["data"]
    assert all(e["url"].startswith("http://127.0.0.1") for e in listed)


def test_after_a_rotation_a_delivery_verifies_under_the_new_secret_and_the_old_one(
    base_url: str, receiver: Receiver
) -> None:
    created = api(base_url, "POST", "/v1/webhook-endpoints", {"url": receiver.url, "events": ["*"]})
    old = created.json()["secret"]
    path = f"/v1/webhook-endpoints/{created.json()['id']}/rotate-secret"
    rotated = api(base_url, "POST", path, {"previous_secret_expires_in": 600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["previous_secret_expires_at"]
    assert api(base_url, "POST", path, {"previous_secret_expires_in": 86_401}).status_code == 422
    customer = {"id": "hook-rotated", "email": "rotated@example.com"}
    assert api(base_url, "POST", "/v1/customers", customer).status_code == 201

    def first_try() -> tuple[dict[str, str], str] | None:
        # The rotated endpoint's (an endpoint an earlier test registered gets it too)
        with receiver.lock:
            for headers, body in receiver.got:
                mine = " " in headers["webhook-signature"]  # two signatures
                if mine and json.loads(body)["data"]["entity_id"] == "hook-rotated":
                    return headers, body
        return None

    wait_for(lambda: first_try() is not None)
    found = first_try()
    assert found is not None
    headers, body = found
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers)["data"]["entity_id"] == "hook-rotated"
