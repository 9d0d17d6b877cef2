"""A lean DynamoDB client for the simulator's calm runs on DynamoDB Local: the same requests
and answers as boto3's client, without botocore's per-call machinery.

botocore spends about 1.8 ms of CPU on each call here (event hooks, signing, walking the
request and the answer against the API model) against 0.3 ms for the request itself, and a
simulation on DynamoDB Local makes thousands of calls. DynamoDB's wire format is the shape
the store already speaks (`{"S": ...}` attribute values), and Tenure's table holds no binary
attributes (the one type botocore rewrites, base64), so the JSON goes out and comes back as
it is. Errors are raised as botocore's `ClientError` with the fields the store reads (the
error code and message, a transaction's `CancellationReasons`), so the store's handling is
the one deployed functions run.

The HTTP/1.1 spoken here is the little DynamoDB Local needs (one POST at a time on a kept-alive
connection, an answer sized by Content-Length or chunked): http.client spent about 0.2 ms of
CPU a call building the request and parsing the answer's headers as an email message, against
0.06 ms here, and a run makes thousands of calls.

Deployed functions and chaos runs keep boto3 (retries, throttling faults through its events).
"""

import json
import re
import socket
import threading
from typing import IO, Any

from botocore.exceptions import ClientError

TARGET_PREFIX = "DynamoDB_20120810."
# DynamoDB Local reads the access key and region from the signature's scope (with -sharedDb
# any will do) and checks no signature.
_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=0"
)
_CAMEL = re.compile(r"(?:^|_)([a-z])")


class DynamoWireError(RuntimeError):
    """DynamoDB Local answered something that is not DynamoDB's JSON."""


class NoAnswerError(ConnectionError):
    """The connection closed before the first byte of an answer."""


# An answer's lines are short; a longer one is no HTTP this client speaks.
_MAX_LINE = 65536


class _Connection:
    """One kept-alive connection: its socket and a buffered reader of the answers."""

    def __init__(self, address: tuple[str, int], timeout: float) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        # The request goes out in one send; nothing may hold it back waiting for more.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader: IO[bytes] = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def _line(reader: IO[bytes]) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise DynamoWireError("an answer line longer than 64 KiB")
    return line


def read_answer(reader: IO[bytes]) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 answer from `reader`: its status, its body, and whether the server closes
    the connection after it. Raises NoAnswerError when the connection closed before any of it."""
    try:
        status_line = _line(reader)
    except ConnectionResetError as exc:
        raise NoAnswerError("the connection was reset before an answer") from exc
    if not status_line:
        raise NoAnswerError("the connection closed before an answer")
    version, _, rest = status_line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/") or not code.isdigit():
        raise DynamoWireError(f"not an HTTP answer: {status_line[:200]!r}")
    length: int | None = None
    chunked = False
    closes = version == b"HTTP/1.0"
    while (header := _line(reader)) not in (b"\r\n", b"\n"):
        if not header:
            raise DynamoWireError("the connection closed within an answer's headers")
        name, _, value = header.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            if not value.isdigit():
                raise DynamoWireError(f"a Content-Length that is no length: {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            closes = value == b"close" or (closes and value != b"keep-alive")
    if code in (b"204", b"304"):
        body = b""  # never a body, whatever the headers say
    elif chunked:
        body = _chunks(reader)
    elif length is not None:
        body = reader.read(length)
        if len(body) < length:
            raise DynamoWireError(f"an answer cut short: {len(body)} of {length} bytes")
    else:  # sized by the connection's end
        body, closes = reader.read(), True
    return int(code), body, closes


def _chunks(reader: IO[bytes]) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = _line(reader).split(b";", 1)[0].strip()
        if not size_line:
            raise DynamoWireError("the connection closed within a chunked answer")
        try:
            size = int(size_line, 16)
        except ValueError:
            raise DynamoWireError(f"a chunk size that is no size: {size_line[:40]!r}") from None
        if size == 0:
            while _line(reader) not in (b"\r\n", b"\n", b""):
                pass  # trailers: none that matter here
            return b"".join(parts)
        chunk = reader.read(size)
        if len(chunk) < size or reader.read(2) != b"\r\n":
            raise DynamoWireError("a chunked answer cut short")
        parts.append(chunk)


def operation_name(method: str) -> str:
    """boto3's method name as the API's operation: `transact_write_items` → TransactWriteItems."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), method)


def client_error(status: int, body: dict[str, Any], operation: str) -> ClientError:
    """The ClientError botocore raises for DynamoDB's error answer `body`."""
    code = str(body.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP{status}"
    message = body.get("message", body.get("Message", ""))
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    # Modelled fields of the error (a cancelled transaction's reasons, a refused condition's
    # item) sit beside Error, as botocore places them.
    response |= {k: v for k, v in body.items() if k not in ("__type", "message", "Message")}
    if "Message" in body:
        response["Message"] = body["Message"]
    return ClientError(response, operation)  # type: ignore[arg-type]


class DynamoWireClient:
    """Speaks DynamoDB's JSON protocol to one endpoint over kept-alive connections, one per
    thread (the store reads the due shards from a thread pool).

    Offers boto3's snake_case methods and `_make_api_call(operation, params)` beneath them,
    so the simulator's timer and due-index copy wrap it as they wrap a boto3 client."""

    def __init__(self, endpoint_url: str, timeout: float = 60.0) -> None:
        scheme, _, host = endpoint_url.partition("://")
        if scheme != "http" or not host:
            raise ValueError(f"an http:// endpoint is needed, not {endpoint_url!r}")
        self._host = host.rstrip("/")
        name, _, port = self._host.rpartition(":")
        self._address = (name, int(port)) if name and port.isdigit() else (self._host, 80)
        self._timeout = timeout
        self._local = threading.local()
        # Every request's headers but its operation and length.
        self._head = (
            f"POST / HTTP/1.1\r\nHost: {self._host}\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            f"Authorization: {_AUTHORIZATION}\r\n"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        operation = operation_name(name)

        def call(**params: Any) -> Any:
            return self._make_api_call(operation, params)

        return call

    def _make_api_call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        head = (
            f"{self._head}X-Amz-Target: {TARGET_PREFIX}{operation}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        status, raw = self._post(head.encode() + body)
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise DynamoWireError(f"{operation}: HTTP {status}, not JSON: {raw[:200]!r}") from exc
        if status >= 400:
            raise client_error(status, answer, operation)
        return answer

    def _post(self, request: bytes) -> tuple[int, bytes]:
        conn: _Connection | None = getattr(self._local, "conn", None)
        reused = conn is not None
        if conn is None:
            conn = self._local.conn = _Connection(self._address, self._timeout)
        try:
            try:
                conn.sock.sendall(request)
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise NoAnswerError("the connection closed before the request went out") from exc
            status, body, closes = read_answer(conn.reader)
        except NoAnswerError:
            self._drop(conn)
            if not reused:
                raise
            # The server closed a kept-alive connection while it sat idle: the request never
            # reached it (no byte of an answer came back), so it is sent once more on a new
            # connection. A connection lost within an answer is raised: the request may have
            # been carried out.
            return self._post(request)
        except BaseException:
            self._drop(conn)
            raise
        if closes:
            self._drop(conn)
        return status, body

    def _drop(self, conn: _Connection) -> None:
        conn.close()
        self._local.conn = None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._drop(conn)
