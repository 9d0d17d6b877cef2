"""The outbound webhooks' sender behind an egress proxy (HTTPS_PROXY, NO_PROXY), against a
small CONNECT proxy thread and a TLS receiver on loopback: no network. The receiver's
certificate (for hooks.example.com, made here with `cryptography`, which the lock holds for
moto) is the only one trusted (SSL_CERT_FILE), so a send that reaches it checked the name."""

import base64
import datetime as dt
import http.server
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenure.domain.errors import ValidationFailedError
from tenure.services.webhooks_out import SendFailedError
from tenure.webhooks_out_http import HttpSender
from tenure.webhooks_out_proxy import proxy_for

HOST = "hooks.example.com"
PUBLIC = ["93.184.215.14"]  # what the sender's own lookup of HOST answers (a public address)


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.got.append((self.path, self.headers["host"], body))  # type: ignore[attr-defined]
        status = int(self.path.strip("/").split("/")[0])
        self.send_response(status)
        if status == 307:
            self.send_header("location", "/204/moved")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A TLS receiver on loopback that calls itself hooks.example.com, the one trusted."""
    cert_path, key_path = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.got = []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@dataclass
class ConnectProxy:
    """A CONNECT proxy on loopback: a tunnel to a receiver it knows by name (`routes`), 403
    for any other; `trickle` answers the CONNECT a byte at a time, and never finishes."""

    routes: dict[str, int]
    trickle: bool = False
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    listener: socket.socket = field(default_factory=socket.socket)

    def start(self) -> int:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()
        return int(self.listener.getsockname()[1])

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed at the test's end
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            line, *rest = request.split(b"\r\n\r\n")[0].decode().split("\r\n")
            headers = dict(each.split(": ", 1) for each in rest)
            self.asked.append((line, headers))
            try:
                if self.trickle:
                    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 400:
                        conn.sendall(bytes([byte]))
                        time.sleep(0.05)
                    return
                port = self.routes.get(line.split(" ")[1])
                if port is None:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                with socket.create_connection(("127.0.0.1", port)) as upstream:
                    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    back = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
                    back.start()
                    _pipe(conn, upstream)
                    back.join(5)
            except OSError:
                return  # the sender hung up


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.fixture
def proxy(receiver: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectProxy]:
    """HTTPS_PROXY names a CONNECT proxy that knows hooks.example.com:443 as the receiver."""
    running = ConnectProxy({f"{HOST}:443": receiver.server_address[1]})
    port = running.start()
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    yield running
    running.listener.close()


@pytest.mark.parametrize("public_only", [True, False], ids=["deployed", "local"])
def test_a_send_goes_through_the_proxy_in_a_tunnel_to_the_receivers_name(
    proxy: ConnectProxy, receiver: Any, public_only: bool
) -> None:
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        return PUBLIC

    sender = HttpSender(timeout=5, public_only=public_only, resolve=resolve)
    assert sender.post(f"https://{HOST}/204/in", {"webhook-id": "msg_1"}, '{"a":1}') == 204
    assert [line for line, _ in proxy.asked] == [f"CONNECT {HOST}:443 HTTP/1.1"]
    assert receiver.got == [("/204/in", HOST, b'{"a":1}')]
    # Deployed, the receiver's name was still resolved and checked; locally it never is.
    assert asked == ([HOST] if public_only else [])


def test_deployed_a_name_that_resolves_to_a_private_address_never_reaches_the_proxy(
    proxy: ConnectProxy,
) -> None:
    # The proxy sits inside the business's network: through it, the instance metadata
    # service or a private service would be as reachable as a public receiver.
    sender = HttpSender(timeout=2, public_only=True, resolve=lambda host: ["169.254.169.254"])
    with pytest.raises(ValidationFailedError, match=re.escape("169.254.169.254")):
        sender.post(f"https://{HOST}/204/in", {}, "{}")
    assert proxy.asked == []


def test_a_redirect_through_the_proxy_is_an_answer_and_is_never_followed(
    proxy: ConnectProxy, receiver: Any
) -> None:
    sender = HttpSender(timeout=5, public_only=True, resolve=lambda host: PUBLIC)
    assert sender.post(f"https://{HOST}/307/in", {}, "{}") == 307
    assert [path for path, _, _ in receiver.got] == ["/307/in"]
    assert len(proxy.asked) == 1


def test_a_proxy_that_refuses_the_tunnel_is_a_failed_try_that_says_so(
    proxy: ConnectProxy,
) -> None:
    sender = HttpSender(timeout=5, public_only=True, resolve=lambda host: PUBLIC)
    refused = "the proxy refused the tunnel to other.example.com:443: 403"
    with pytest.raises(SendFailedError, match=re.escape(refused)):
        sender.post("https://other.example.com/204/in", {}, "{}")


def test_a_proxy_that_trickles_its_answer_to_connect_is_cut_off_at_the_timeout(
    proxy: ConnectProxy,
) -> None:
    # Each byte comes within the socket's timeout: only the bound on the whole exchange
    # stops it, and the CONNECT happens before http.client holds the socket.
    proxy.trickle = True
    sender = HttpSender(timeout=1, public_only=True, resolve=lambda host: PUBLIC)
    started = time.monotonic()
    with pytest.raises(SendFailedError, match="no answer within 1 s"):
        sender.post(f"https://{HOST}/204/in", {}, "{}")
    assert time.monotonic() - started < 3


def test_no_proxy_sends_a_host_it_names_directly(
    proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected: list[tuple[str, int]] = []

    def refused(address: tuple[str, int], timeout: float, source: Any = None) -> socket.socket:
        connected.append(address)
        raise ConnectionRefusedError("refused")

    monkeypatch.setenv("NO_PROXY", "internal.example.org,example.com")
    monkeypatch.setattr(socket, "create_connection", refused)
    sender = HttpSender(timeout=2, public_only=True, resolve=lambda host: PUBLIC)
    with pytest.raises(SendFailedError):
        sender.post(f"https://{HOST}/204/in", {}, "{}")
    assert connected == [(PUBLIC[0], 443)]  # the checked address, not the proxy
    assert proxy.asked == []


def test_a_loopback_receiver_is_never_sent_through_the_proxy(proxy: ConnectProxy) -> None:
    # tenure serve: a receiver on this machine, which a proxy elsewhere could not reach.
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.got = []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        assert HttpSender(timeout=5).post(f"http://127.0.0.1:{port}/204/in", {}, "{}") == 204
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert proxy.asked == []
    for url in ("https://localhost/in", "https://127.0.0.1:8443/in", "https://[::1]/in"):
        assert proxy_for(urlsplit(url)) is None


def test_credentials_in_the_proxy_url_are_sent_as_proxy_authorization(
    proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = proxy.listener.getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://anna:s%40cret@127.0.0.1:{port}")
    sender = HttpSender(timeout=5, public_only=True, resolve=lambda host: PUBLIC)
    assert sender.post(f"https://{HOST}/204/in", {}, "{}") == 204
    ((_, headers),) = proxy.asked
    assert headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"anna:s@cret").decode()
    assert headers["Host"] == f"{HOST}:443"


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("https://anna:secret@proxy.internal:3128", "must be http://host:port"),
        ("socks5://anna:secret@proxy.internal:1080", "must be http://host:port"),
        ("http://anna:secret@proxy.internal:port", "is not a proxy URL"),
        ("http://anna:secret@[fe80::1", "is not a proxy URL"),
    ],
)
def test_an_unusable_proxy_setting_is_a_failed_try_that_never_repeats_it(
    proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch, setting: str, says: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", setting)
    sender = HttpSender(timeout=2, public_only=True, resolve=lambda host: PUBLIC)
    with pytest.raises(SendFailedError, match=re.escape(says)) as failed:
        sender.post(f"https://{HOST}/204/in", {}, "{}")
    assert "secret" not in str(failed.value)
    assert proxy.asked == []
