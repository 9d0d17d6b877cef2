"""`tenure serve` as a real process on a free port, for the end-to-end tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]


def call_api(token: str, base_url: str, method: str, path: str, body: Any = None) -> Any:
    """One API request with the server's bearer token; its JSON, asserting it succeeded.
    The token comes first so a test module can bind its own with functools.partial."""
    reply = requests.request(
        method,
        f"{base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert reply.status_code < 300, (path, reply.status_code, reply.text)
    return reply.json()


def signed_link(link_key: str, base_url: str, customer: str, purpose: str, subject: str) -> str:
    """A customer page's link as `tenure links make` signs it with `link_key`."""
    made = subprocess.run(
        [
            *(sys.executable, "-m", "tenure_local.cli", "links", "make"),
            *("--customer", customer, "--purpose", purpose, "--subject", subject),
            *("--base-url", base_url),
        ],
        cwd=REPO,
        env=os.environ | {"TENURE_LINK_SECRET": link_key},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return made.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    folder: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> Iterator[tuple[str, Path]]:
    """Start `tenure serve ARGS` (its log and outbox in `folder`); yield its URL and log path."""
    port = free_port()
    log = folder / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                *("-m", "tenure_local.cli", "serve", "--port", str(port)),
                *("--outbox", str(folder / "outbox")),
                *args,
            ],
            cwd=REPO,
            env=os.environ | env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # listening, not yet serving
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tenure serve did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield url, log
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
