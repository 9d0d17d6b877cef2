"""The outbound webhooks' network adapters: resolving a host's addresses (what an endpoint's
URL is checked against) and POSTing a delivery, without following redirects, through the
egress proxy the environment names, if any (webhooks_out_proxy)."""

import contextlib
import functools
import http.client
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from tenure.domain.errors import ValidationFailedError
from tenure.domain.webhooks_out import check_addresses, check_url
from tenure.ports import Clock
from tenure.services.webhooks_out import DeliveryDue, SendFailedError
from tenure.webhooks_out_proxy import Proxy, ProxyError, open_tunnel, proxy_for

TIMEOUT_S = 10.0  # a receiver should answer at once and do its work afterwards
ANSWER_READ = 1024
LONGEST_DELAY_S = 900  # SQS DelaySeconds' maximum


def resolve_addresses(host: str) -> list[str]:
    """Every address `host` resolves to (OSError when it does not)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


def url_check(local: bool) -> Any:
    """What a send checks the URL against first: its form. The host may point elsewhere now
    than when the endpoint was registered; deployed, the sender (`public_only`) resolves it
    and checks each address as it connects, so it is not resolved here as well."""

    def allowed(url: str) -> None:
        check_url(url, local=local, addresses=None)

    return allowed


class HttpSender:
    """POSTs with the standard library (the layer needs no HTTP client of its own); a 3xx is
    the receiver's answer, never followed. The whole exchange, not each read, is bounded by
    `timeout`: a receiver that trickles its answer a byte at a time would otherwise hold the
    dispatcher, and every message of its batch, until the Lambda's own timeout.

    `public_only` (deployed): the host is resolved once, here, every address it has must be
    public (ValidationFailedError, as the URL check), and the connection goes to one of
    them; connecting by name would resolve it again, and a name can answer a public address
    to the check and a private one to the connection (DNS rebinding).

    Through a proxy (`HTTPS_PROXY`, unless `NO_PROXY` exempts the host): the receiver's name
    is resolved and checked the same way, then the connection goes to the proxy, which is
    asked with CONNECT for a tunnel to that name; TLS, the certificate check against the
    name, the request and its answer go through the tunnel under the same bound and limits.
    The proxy resolves the name again itself: its own rules decide where a name that
    changed its answer in between may lead (docs/webhooks-outbound.md)."""

    def __init__(
        self,
        timeout: float = TIMEOUT_S,
        *,
        public_only: bool = False,
        resolve: Callable[[str], list[str]] = resolve_addresses,
    ) -> None:
        self._timeout = timeout
        self._public_only = public_only
        self._resolve = resolve

    def post(self, url: str, headers: dict[str, str], body: str) -> int:
        try:
            connection, target = self._connection(url)
        except ProxyError as exc:
            raise SendFailedError(str(exc)) from exc
        except ValueError as exc:
            raise SendFailedError(f"no answer: {type(exc).__name__}") from exc
        with contextlib.closing(connection):
            return self._exchange(connection, target, headers, body)

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        target: str,
        headers: dict[str, str],
        body: str,
    ) -> int:
        cut = threading.Event()
        watchdog = threading.Timer(self._timeout, _hang_up, (connection, cut))
        watchdog.start()
        try:
            connection.request(
                "POST", target, body.encode(), headers | {"user-agent": "tenure-webhooks/1"}
            )
            response = connection.getresponse()
            response.read(ANSWER_READ)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # HTTPException: an answer that is not HTTP (a bad status line, too many or too
            # long headers, broken chunks), which is no answer either.
            if cut.is_set() or isinstance(exc, TimeoutError):
                raise SendFailedError(f"no answer within {self._timeout:g} s") from exc
            if isinstance(exc, ProxyError):
                raise SendFailedError(str(exc)) from exc
            raise SendFailedError(f"no answer: {type(exc).__name__}") from exc
        finally:
            watchdog.cancel()
        if cut.is_set():  # the headers end where the hang-up cut them: no whole answer
            raise SendFailedError(f"no answer within {self._timeout:g} s")
        return int(response.status)

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}")
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        # The port always given: http.client would read a bare IPv6 address's last group as one.
        port = parts.port or kind.default_port
        connection = kind(parts.hostname, port, timeout=self._timeout)
        proxy = proxy_for(parts)
        if self._public_only or proxy is not None:
            connection._create_connection = functools.partial(  # type: ignore[attr-defined]
                self._open, connection, proxy
            )
        return connection, _target(parts)

    def _open(
        self,
        connection: http.client.HTTPConnection,
        proxy: Proxy | None,
        address: tuple[str, int],
        timeout: float,
        source: Any = None,
    ) -> socket.socket:
        """http.client's own connect: deployed, to an address of the host checked to be public
        (the certificate is still checked against the host's name); through a proxy, a tunnel
        to the host (checked first when deployed)."""
        host, port = address
        # The timeout for the lookups and every address together, not for each: a resolver
        # may hang, and a name may have dozens of addresses that never answer.
        deadline = time.monotonic() + timeout
        found = self._public_addresses(host, timeout) if self._public_only else []
        if proxy is None:
            return _connect_any(host, found, port, deadline, source)
        try:
            at_proxy = _within(resolve_addresses, proxy.host, deadline - time.monotonic())
        except TimeoutError:
            raise
        except OSError:
            raise ProxyError(f"the proxy host {proxy.host!r} does not resolve") from None
        sock = _connect_any(proxy.host, at_proxy, proxy.port, deadline, source)
        # Held by the connection from here, so the hang-up that bounds the exchange also
        # cuts a proxy that answers the CONNECT slowly, or never.
        connection.sock = sock
        open_tunnel(sock, host, port, proxy)
        return sock

    def _public_addresses(self, host: str, timeout: float) -> list[str]:
        """The host's addresses, every one of them public (ValidationFailedError otherwise)."""
        try:
            found = _within(self._resolve, host, timeout)
        except TimeoutError:
            raise
        except OSError:  # as the URL check words it
            raise ValidationFailedError("url", f"host {host!r} does not resolve") from None
        check_addresses(host, found)
        return found


def _target(parts: SplitResult) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _connect_any(
    host: str, found: list[str], port: int, deadline: float, source: Any
) -> socket.socket:
    """A connection to the first of `found` (the addresses of `host`) that answers before
    `deadline`."""
    failed: OSError = OSError(f"no address of {host!r} answered")
    for each in found:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return socket.create_connection((each, port), left, source)
        except OSError as exc:
            failed = exc
    raise failed


def _within(resolve: Callable[[str], list[str]], host: str, timeout: float) -> list[str]:
    """`resolve(host)`, or TimeoutError after `timeout` seconds. A lookup cannot be
    interrupted, so it runs on a thread of its own, left to finish (or fail) unwatched when
    the send has given up on it; the hang-up that bounds the rest of the exchange cannot reach
    it (there is no socket yet to shut)."""
    answer: list[list[str] | BaseException] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            answer.append(resolve(host))
        except BaseException as exc:  # handed to the waiting send, which raises it
            answer.append(exc)
        done.set()

    threading.Thread(target=look_up, name=f"resolve {host}", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"looking up {host!r} took longer than {timeout:g} s")
    (found,) = answer
    if isinstance(found, BaseException):
        raise found
    return found


def _hang_up(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """Past the deadline: shut the socket, which ends the read blocked on it."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class SqsWebhookQueue:
    """The dispatcher's own queue: a delivery handed back arrives when due, or after SQS's
    longest delay (15 minutes), when the dispatcher hands it back again for the rest."""

    def __init__(self, sqs: Any, queue_url: str, clock: Clock) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._clock = clock

    def due(self, delivery_id: str, at: datetime) -> None:
        wait = math.ceil((at - self._clock.now()).total_seconds())
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps(DeliveryDue(delivery_id, at).to_message()),
            DelaySeconds=max(0, min(LONGEST_DELAY_S, wait)),
        )


class NoWebhookQueue:
    """Where no dispatcher queue is configured (simulations): a delivery handed back is
    kept here, for a caller to see."""

    def __init__(self) -> None:
        self.handed_back: list[tuple[str, datetime]] = []

    def due(self, delivery_id: str, at: datetime) -> None:
        self.handed_back.append((delivery_id, at))
