"""The egress proxy an outbound webhook goes through, read from the environment as the
standard library reads it (`HTTPS_PROXY`, `NO_PROXY`: urllib.request.getproxies and
proxy_bypass), and the CONNECT that opens a tunnel through it (docs/webhooks-outbound.md).

Only https sends use one: deployed, every send is https; plain http goes only to a loopback
receiver in local mode, and a loopback receiver is never sent through a proxy, which could
not reach this machine's loopback (its own loopback is another)."""

import base64
import http.client
import socket
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

from tenure.domain.webhooks_out import is_loopback_host


class ProxyError(OSError):
    """The proxy setting is unusable, or the proxy did not open the tunnel: a failed try,
    said in words an operator can act on (never the setting itself: it may hold a password)."""


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)


def proxy_for(parts: SplitResult) -> Proxy | None:
    """The proxy a send to the URL `parts` goes through, or None to connect directly."""
    host = parts.hostname
    if parts.scheme != "https" or not host or is_loopback_host(host):
        return None
    setting = urllib.request.getproxies().get("https")
    # The authority as urllib hands it to proxy_bypass (host, brackets and port as written),
    # so a NO_PROXY entry matches here exactly as it would for urllib.
    if not setting or urllib.request.proxy_bypass(parts.netloc):
        return None
    return parse_proxy(setting)


def parse_proxy(setting: str) -> Proxy:
    """`http://[user:password@]host[:port]` (or `host:port`, as urllib allows); the port
    defaults to 80. The connection to the proxy is plain TCP, as urllib's is; TLS runs
    inside the tunnel, to the receiver, so an `https://` proxy URL is refused rather than
    spoken to in plain text."""
    text = setting.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port or 80
    except ValueError:
        raise ProxyError("the HTTPS_PROXY setting is not a proxy URL") from None
    if parts.scheme != "http" or not parts.hostname:
        raise ProxyError("the HTTPS_PROXY setting must be http://host:port")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, port, authorization)


def open_tunnel(sock: socket.socket, host: str, port: int, proxy: Proxy) -> None:
    """Ask the proxy, on `sock`, for a tunnel to `host`:`port` (by name: the receiver's
    certificate is then checked against it through the tunnel). ProxyError when it answers
    anything but 2xx; the answer's status line and headers are read under http.client's
    limits (a proxy that answers too much raises its HTTPException)."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    answer = http.client.HTTPResponse(sock, method="CONNECT")
    try:
        answer.begin()
    finally:
        answer.close()  # its buffered reader only; the socket stays open for the tunnel
    if not 200 <= answer.status < 300:
        raise ProxyError(f"the proxy refused the tunnel to {authority}: {answer.status}")
