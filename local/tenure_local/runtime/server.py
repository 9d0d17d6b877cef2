"""`tenure serve`: the API and webhook routes on localhost, through the real Lambda handlers.

One process handles one request at a time, as a Lambda container does (its threads take
turns: `functions.invoke`). `--workers N` runs N such processes on one listening socket, as
Lambda runs N containers: that is how concurrent clients meet each other's writes locally.
"""

import argparse
import base64
import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from types import FrameType
from typing import Any

from tenure_local.runtime import functions

MAX_READ = 1024 * 1024  # read at most this much; the handler itself refuses > 256 KB


class _Handler(BaseHTTPRequestHandler):
    server_version = "tenure-local"

    def _dispatch(self) -> None:
        raw = self._body()
        if raw is None:
            return
        path = self.path
        name = "webhooks" if path.startswith("/webhooks/") else "api"
        headers = {k.lower(): v for k, v in self.headers.items()}
        event = functions.http_event(
            self.command, path, headers=headers, raw_body=raw if raw else None
        )
        if name == "webhooks":
            event["pathParameters"] = {"provider": path.split("?")[0].split("/")[2]}
        try:
            result: Any = functions.invoke(name, event)
        except Exception:  # the handler itself should never raise; never leak a trace
            result = {"statusCode": 500, "body": json.dumps({"error": "internal_error"})}
        self._respond(result)

    def _body(self) -> bytes | None:
        """The request's body, by its Content-Length or its chunks (a client streaming its
        body, as API Gateway accepts: never read as no body); None once a 4xx is answered."""
        coding = [c.strip().lower() for c in self.headers.get_all("transfer-encoding") or []]
        if coding:
            if coding != ["chunked"] or self.headers.get_all("content-length"):
                # Both framings at once, or a coding this server does not undo: whichever it
                # read, the body would be a guess (the way requests are smuggled).
                self._refuse(
                    400, "bad_request", "frame the body by Content-Length, or chunked alone"
                )
                return None
            try:
                return _read_chunks(self.rfile, MAX_READ)
            except _TooLargeError:
                self._refuse(413, "payload_too_large", f"body is over {MAX_READ} bytes")
                return None
            except ValueError:
                self._refuse(400, "bad_request", "malformed chunked body")
                return None
        length = _content_length(self.headers.get_all("content-length") or [])
        if length is None:
            # API Gateway refuses these before any function runs; so does this server.
            self._refuse(400, "bad_request", "Content-Length must be one integer")
            return None
        if length > MAX_READ:
            self._refuse(413, "payload_too_large", f"body is over {MAX_READ} bytes")
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, error: str, message: str) -> None:
        self._respond(_refused(status, error, message))
        self.close_connection = True

    def _respond(self, result: dict[str, Any]) -> None:
        status = int(result.get("statusCode", 200))
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        self.send_response(status)
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        headers.setdefault("content-type", "application/json")
        for key, value in headers.items():
            if key != "content-length":
                self.send_header(key, str(value))
        for cookie in result.get("cookies") or []:  # payload 2.0: each becomes a Set-Cookie
            self.send_header("set-cookie", str(cookie))
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the handler (the deployed `ANY /{proxy+}` route forwards HEAD and
        # OPTIONS too), so one the API has no route for (OPTIONS, TRACE, QUERY...) gets the API's
        # 401 or 404, never http.server's HTML 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the handlers log in JSON already


def _content_length(values: list[str]) -> int | None:
    """The body's length, or None for what HTTP does not allow: several differing values, a
    sign, non-ASCII digits (int() would take "٣"), anything but digits."""
    if not values:
        return 0
    if len(set(values)) != 1:
        return None
    text = values[0].strip()
    if not text or len(text) > 18 or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


class _TooLargeError(Exception):
    """A chunked body grew past the read limit."""


def _read_chunks(rfile: Any, limit: int) -> bytes:
    """A chunked body (RFC 9112, 7.1), trailers skipped. ValueError when malformed;
    _TooLargeError past `limit` bytes, read no further."""
    body = bytearray()
    while True:
        size_text = rfile.readline(1024).split(b";", 1)[0].strip()
        hexdigits = b"0123456789abcdefABCDEF"
        if not size_text or len(size_text) > 8 or any(c not in hexdigits for c in size_text):
            raise ValueError("chunk size")
        size = int(size_text, 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # a trailer field
            return bytes(body)
        if len(body) + size > limit:
            raise _TooLargeError
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise ValueError("chunk data")
        body += chunk


def _refused(status: int, error: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps({"error": error, "message": message})}


# Connections waiting to be accepted, as the workers' socket allows: socketserver's default
# of 5 let a burst of clients on a busy machine find their connection reset.
BACKLOG = 128


class _ThreadingServer(ThreadingHTTPServer):
    request_queue_size = BACKLOG


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    return _ThreadingServer((host, port), _Handler)


class PortUnavailableError(Exception):
    """HOST:PORT cannot be served; the message says why and what to do."""


def bind(host: str, port: int, workers: int) -> "Workers | ThreadingHTTPServer":
    """The server bound to HOST:PORT but not listening yet (`listen` starts that): a taken
    port fails here, before anything boots, and until the stack is up a client is refused
    at once instead of waiting on a server that cannot answer yet."""
    try:
        if workers > 1:
            return Workers(host, port, workers)
        server = _ThreadingServer((host, port), _Handler, bind_and_activate=False)
        try:
            server.server_bind()
        except BaseException:
            server.server_close()
            raise
        return server
    except OSError as exc:
        raise PortUnavailableError(_unavailable(host, port, exc)) from exc


def listen(server: "Workers | ThreadingHTTPServer") -> None:
    """Start accepting connections (the workers listen when they start)."""
    if isinstance(server, ThreadingHTTPServer):
        server.server_activate()


def _unavailable(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another `tenure serve`, or another "
            "program): stop it, or choose another port with --port"
        )
    if exc.errno == errno.EACCES:
        return f"port {port} needs privileges to listen on: choose --port 1024 or above"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"{host} is not an address of this machine: choose --host 127.0.0.1"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


class Workers:
    """N worker processes accepting on one socket, bound here; each serves one request at a
    time. They inherit this process's environment: the stack's endpoints, and the sandbox's
    shared state file (TENURE_SANDBOX_STATE) so that there is one provider for them all."""

    def __init__(self, host: str, port: int, count: int) -> None:
        # Bound now, listening once started (see `bind`).
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
        except BaseException:
            self.socket.close()
            raise
        self.server_address = self.socket.getsockname()
        self._count = count
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.socket.listen(BACKLOG)
        fd = self.socket.fileno()
        for _ in range(self._count):
            command = [sys.executable, "-m", "tenure_local.runtime.server", "--fd", str(fd)]
            self._procs.append(subprocess.Popen(command, pass_fds=(fd,), env=os.environ.copy()))

    def wait(self) -> None:
        """Until a worker ends (it should not) or this process is interrupted."""
        os.wait()

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.socket.close()


def _serve_inherited(fd: int) -> None:
    """A worker: serve, one request at a time, on the listening socket `fd` it inherited."""
    listening = socket.socket(fileno=fd)
    server = HTTPServer(listening.getsockname()[:2], _Handler, bind_and_activate=False)
    server.socket = listening

    def leave(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, leave)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="a `tenure serve --workers` worker")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket to serve")
    _serve_inherited(parser.parse_args().fd)
