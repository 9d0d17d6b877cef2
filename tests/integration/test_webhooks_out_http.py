"""The outbound webhooks' HTTP sender against a real server on loopback: what counts as an
answer, and that a redirect is never followed."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tenure.services.webhooks_out import SendFailedError
from tenure.webhooks_out_http import HttpSender


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.got.append((self.path, headers, body))  # type: ignore[attr-defined]
        status = int(self.path.strip("/").split("/")[0])
        self.send_response(status)
        if status == 307:
            self.send_header("location", "/200/moved")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.got = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server: ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_the_receivers_status_is_the_answer_whatever_it_is(server: ThreadingHTTPServer) -> None:
    sender = HttpSender(timeout=5)
    headers = {"content-type": "application/json", "webhook-id": "msg_1"}
    assert sender.post(url(server, "/204/in"), headers, '{"a":1}') == 204
    assert sender.post(url(server, "/500/in"), headers, '{"a":1}') == 500
    _, got_headers, body = server.got[0]  # type: ignore[attr-defined]
    assert body == b'{"a":1}' and got_headers["webhook-id"] == "msg_1"


def test_a_redirect_is_an_answer_and_is_never_followed(server: ThreadingHTTPServer) -> None:
    assert HttpSender(timeout=5).post(url(server, "/307/in"), {}, "{}") == 307
    assert [p for p, _, _ in server.got] == ["/307/in"]  # type: ignore[attr-defined]


def test_no_answer_at_all_is_a_failed_send(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(SendFailedError):
        HttpSender(timeout=2).post(f"http://127.0.0.1:{port}/204/in", {}, "{}")
