"""`tenure serve`: the API and webhook routes on localhost, through the real Lambda handlers."""

import base64
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tenure_local import functions

MAX_READ = 1024 * 1024  # read at most this much; the handler itself refuses > 256 KB


class _Handler(BaseHTTPRequestHandler):
    server_version = "tenure-local"

    def _dispatch(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(min(length, MAX_READ)) if length else b""
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
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the handlers log in JSON already


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), _Handler)
