"""The outbound webhooks' network adapters: resolving a host's addresses (what an endpoint's
URL is checked against) and POSTing a delivery, without following redirects."""

import http.client
import json
import math
import socket
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from tenure.domain.webhooks_out import check_url
from tenure.ports import Clock
from tenure.services.webhooks_out import DeliveryDue, SendFailedError

TIMEOUT_S = 10.0  # a receiver should answer at once and do its work afterwards
ANSWER_READ = 1024
LONGEST_DELAY_S = 900  # SQS DelaySeconds' maximum


def resolve_addresses(host: str) -> list[str]:
    """Every address `host` resolves to (OSError when it does not)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


def url_check(local: bool) -> Any:
    """What a send checks the URL against first: deployed, the host is resolved again, since
    it may point elsewhere now than when the endpoint was registered."""

    def allowed(url: str) -> None:
        check_url(url, local=local, addresses=resolve_addresses)

    return allowed


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the receiver's answer: a failed try, never a second request


class HttpSender:
    """POSTs with the standard library: the layer needs no HTTP client of its own."""

    def __init__(self, timeout: float = TIMEOUT_S) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, url: str, headers: dict[str, str], body: str) -> int:
        request = urllib.request.Request(
            url, data=body.encode(), headers=headers | {"user-agent": "tenure-webhooks/1"}
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(ANSWER_READ)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # HTTPException: an answer that is not HTTP (a bad status line, too many or too
            # long headers, broken chunks), which is no answer either.
            raise SendFailedError(f"no answer: {type(exc).__name__}") from exc


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
