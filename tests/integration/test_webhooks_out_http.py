"""The outbound webhooks' HTTP sender against a real server on loopback: what counts as an
answer, and that a redirect is never followed."""

import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tenure.domain.errors import ValidationFailedError
from tenure.services.webhooks_out import SendFailedError
from tenure.webhooks_out_http import HttpSender, url_check


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


# -- receivers that answer, but not in HTTP ------------------------------------------------------
def raw_receiver(answer: bytes, pause: float = 0.0) -> tuple[int, list[int]]:
    """A loopback port whose receiver reads the request, then writes `answer` (a byte at a
    time, `pause` seconds apart, when `pause` is given) and closes; and the count of bytes
    it managed to write, one entry per connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    written: list[int] = []

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                sent = 0
                try:
                    if pause:
                        for byte in answer:
                            conn.sendall(bytes([byte]))
                            sent += 1
                            time.sleep(pause)
                    else:
                        conn.sendall(answer)
                        sent = len(answer)
                except OSError:
                    pass  # the sender hung up
                written.append(sent)

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], written


def written_by_then(written: list[int]) -> int:
    """What the receiver wrote to its one connection, once it has closed it."""
    for _ in range(100):
        if written:
            return written[0]
        time.sleep(0.05)
    raise AssertionError("the receiver never finished")


@pytest.mark.parametrize(
    "answer",
    [
        b"hello\r\n\r\n",  # not HTTP at all
        b"HTTP/1.1 abc OK\r\n\r\n",  # a status that is no number
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",  # a header line too long
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # broken chunks
    ],
    ids=["not-http", "bad-status", "too-many-headers", "long-header", "bad-chunks"],
)
def test_an_answer_that_is_not_http_is_a_failed_send_not_an_error(answer: bytes) -> None:
    # Anything else escapes the dispatcher's try: the queue message fails, over and over, to
    # the dead-letter queue, and the delivery is never recorded as tried.
    port, _ = raw_receiver(answer)
    with pytest.raises(SendFailedError):
        HttpSender(timeout=5).post(f"http://127.0.0.1:{port}/in", {}, "{}")


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout() -> None:
    # Each byte comes within the timeout, so only a bound on the whole exchange stops it;
    # without one the dispatcher waits out its own Lambda timeout, and its whole batch fails.
    answer = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    port, written = raw_receiver(answer, pause=0.05)  # about 11 s in all
    with pytest.raises(SendFailedError, match="within 1 s"):
        HttpSender(timeout=1).post(f"http://127.0.0.1:{port}/in", {}, "{}")
    assert written_by_then(written) < len(answer)  # it noticed the hang-up at its next write


def test_deployed_the_sender_connects_only_to_public_addresses_it_resolved_itself() -> None:
    # The URL check resolves the host, then a connection would resolve it again: a name
    # whose DNS answers a public address, then the instance metadata service or a loopback
    # one (DNS rebinding), passed the check. Deployed, the sender resolves once, refuses any
    # address that is not public, and connects to an address it checked.
    port, written = raw_receiver(b"HTTP/1.1 204 No Content\r\n\r\n")
    with pytest.raises(ValidationFailedError, match="private or reserved"):
        HttpSender(timeout=2, public_only=True).post(f"http://localhost:{port}/in", {}, "{}")
    asked: list[str] = []

    def rebinding(host: str) -> list[str]:
        asked.append(host)
        return ["169.254.169.254"]

    sender = HttpSender(timeout=2, public_only=True, resolve=rebinding)
    with pytest.raises(ValidationFailedError, match=re.escape("169.254.169.254")):
        sender.post("https://hooks.example.com/in", {}, "{}")
    assert asked == ["hooks.example.com"]
    # Locally (tenure serve), loopback receivers are the point: no address is refused.
    assert HttpSender(timeout=2).post(f"http://localhost:{port}/in", {}, "{}") == 204
    assert written_by_then(written) == len(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert len(written) == 1  # that one only: the refused ones never connected


def test_an_ipv6_literal_without_a_port_is_that_address_on_the_schemes_port() -> None:
    # http.client reads a bare "2606:4700::1111" as host "2606:4700:" and port 1111.
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        return ["fd00::1"]  # refused before connecting: this test sends nothing

    sender = HttpSender(timeout=2, public_only=True, resolve=resolve)
    with pytest.raises(ValidationFailedError):
        sender.post("https://[2606:4700::1111]/in", {}, "{}")
    assert asked == ["2606:4700::1111"]


def test_a_host_with_many_silent_addresses_gets_the_timeout_in_all_not_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A name may resolve to dozens of addresses that never answer; trying each for the
    # whole timeout would outlast the dispatcher's Lambda.
    given: list[float] = []

    def silent(address: tuple[str, int], timeout: float, source: Any = None) -> socket.socket:
        given.append(timeout)
        time.sleep(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    addresses = [f"93.184.215.{n}" for n in range(1, 9)]
    sender = HttpSender(timeout=1, public_only=True, resolve=lambda host: addresses)
    with pytest.raises(SendFailedError):
        sender.post("https://hooks.example.com/in", {}, "{}")
    assert given and sum(given) <= 1.01


def test_deployed_a_send_resolves_the_host_once_in_the_sender(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The URL check before a send looks at the URL's form only: the sender resolves the host
    # and checks each address, so resolving it in the check too was a second lookup a send.
    def no_lookup(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the URL check resolved the host")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    url_check(local=False)("https://hooks.example.com/in")
    with pytest.raises(ValidationFailedError, match="must be https"):
        url_check(local=False)("http://hooks.example.com/in")


def test_deployed_a_host_that_does_not_resolve_is_said_as_the_url_check_says_it() -> None:
    def nowhere(host: str) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    sender = HttpSender(timeout=2, public_only=True, resolve=nowhere)
    with pytest.raises(
        ValidationFailedError, match=re.escape("host 'hooks.example.com' does not resolve")
    ):
        sender.post("https://hooks.example.com/in", {}, "{}")


def test_deployed_a_lookup_that_hangs_is_a_failed_send_within_the_timeout() -> None:
    # The hang-up that bounds the exchange shuts the socket, and a lookup has none yet: a
    # resolver that never answers held the dispatcher until the Lambda's own timeout.
    release, finished = threading.Event(), threading.Event()

    def hanging(host: str) -> list[str]:
        release.wait(60)
        finished.set()
        return ["93.184.215.14"]

    sender = HttpSender(timeout=0.2, public_only=True, resolve=hanging)
    with pytest.raises(SendFailedError, match=re.escape("no answer within 0.2 s")):
        sender.post("https://hooks.example.com/in", {}, "{}")
    assert not finished.is_set()  # the send gave up while the lookup still hung
    release.set()
