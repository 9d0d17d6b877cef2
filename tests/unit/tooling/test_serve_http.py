"""`tenure serve`'s HTTP layer: a malformed Content-Length is a 4xx answered at once, never a
dropped connection, a traceback or a worker held until the client gives up."""

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tenure_local.runtime import functions, server


@pytest.fixture
def address(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    seen: list[dict[str, Any]] = []

    def echo(name: str, event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "body": str(len(event.get("body") or ""))}

    monkeypatch.setattr(functions, "invoke", echo)
    httpd = server.make_server("127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[:2]
    httpd.shutdown()
    httpd.server_close()


def exchange(address: tuple[str, int], head: str, body: bytes = b"") -> str:
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(head.encode("utf-8") + b"\r\n\r\n" + body)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("latin-1")


@pytest.mark.parametrize(
    "length",
    ["abc", "-1", "+2", "٢", "1_0", "2.0", "99999999999999999999999", ""],
)
def test_a_content_length_that_is_not_one_plain_integer_is_a_400(
    address: tuple[str, int], length: str
) -> None:
    head = f"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: {length}"

    reply = exchange(address, head, b"{}")

    assert reply.startswith("HTTP/1.0 400"), reply


def test_two_different_content_lengths_are_a_400(address: tuple[str, int]) -> None:
    head = "POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3"

    assert exchange(address, head, b"{}").startswith("HTTP/1.0 400")


def test_a_body_over_the_read_limit_is_a_413_without_reading_it(address: tuple[str, int]) -> None:
    head = f"POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Length: {server.MAX_READ + 1}"

    assert exchange(address, head).startswith("HTTP/1.0 413")


def test_a_plain_length_reaches_the_handler_with_its_body(address: tuple[str, int]) -> None:
    head = "POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Length: 2"

    reply = exchange(address, head, b"{}")

    assert reply.startswith("HTTP/1.0 200") and reply.endswith("\r\n\r\n2")


@pytest.mark.parametrize(
    ("query", "parameters"),
    [
        ("starting_after=", {"starting_after": ""}),
        ("limit=1&limit=2", {"limit": "1,2"}),
        ("a=1&b=&a=3", {"a": "1,3", "b": ""}),
        ("", None),
    ],
)
def test_the_query_reaches_the_handler_as_api_gateway_gives_it(
    query: str, parameters: dict[str, str] | None
) -> None:
    """An empty value kept, repeated values joined by commas (payload 2.0): a client tried
    locally is answered as in AWS, where `?starting_after=` is a 422, not the first page."""
    event = functions.http_event("GET", f"/v1/customers?{query}")

    assert event["queryStringParameters"] == parameters
    assert event["rawQueryString"] == query


CHUNKED = "POST /v1/subscriptions/sub-1/cancel HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"


def test_a_chunked_body_reaches_the_handler_whole(address: tuple[str, int]) -> None:
    """Read as no body, `{"at_period_end": true}` sent in chunks cancelled at once."""
    body = b'{"at_period_end":\r\n5\r\n true\r\n1;ext=1\r\n}\r\n0\r\nTrailer: x\r\n\r\n'

    reply = exchange(address, CHUNKED, b"11\r\n" + body)

    assert reply.startswith("HTTP/1.0 200") and reply.endswith("\r\n\r\n23"), reply


@pytest.mark.parametrize(
    ("head", "body", "status"),
    [
        (CHUNKED, b"zz\r\n{}\r\n0\r\n\r\n", "400"),  # not a hex size
        (CHUNKED, b"5\r\n{}\r\n0\r\n\r\n", "400"),  # shorter than its size
        (CHUNKED, b"2\r\n{}", "400"),  # cut off: no end of chunk, no last chunk
        (CHUNKED + "\r\nContent-Length: 2", b"2\r\n{}\r\n0\r\n\r\n", "400"),  # both framings
        (CHUNKED.replace("chunked", "gzip, chunked"), b"0\r\n\r\n", "400"),
        (CHUNKED, f"{server.MAX_READ + 1:x}\r\n".encode(), "413"),
    ],
)
def test_a_chunked_body_that_cannot_be_read_surely_is_refused_before_the_handler(
    address: tuple[str, int], head: str, body: bytes, status: str
) -> None:
    reply = exchange(address, head, body)

    assert reply.startswith(f"HTTP/1.0 {status}"), reply


def test_a_burst_of_connections_waits_to_be_accepted_rather_than_being_dropped() -> None:
    # 40 clients connect while the server accepts none (a busy machine): each connection must
    # complete its handshake and wait in the queue. With socketserver's default queue of 5,
    # the ones past it were left unanswered, and then reset.
    bound = server.bind("127.0.0.1", 0, workers=1)
    server.listen(bound)
    assert not isinstance(bound, server.Workers)
    clients: list[socket.socket] = []
    try:
        for _ in range(40):
            client = socket.create_connection(bound.server_address[:2], timeout=2)
            client.setblocking(False)
            clients.append(client)
        accepted = 0
        bound.socket.settimeout(2)
        for _ in clients:
            connection, _ = bound.socket.accept()
            connection.close()
            accepted += 1
        assert accepted == 40
    finally:
        for client in clients:
            client.close()
        bound.server_close()
