"""Runs the real Lambda handlers in-process, with the events AWS would send them."""

import base64
import functools
import importlib.util
import itertools
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

REPO = Path(__file__).resolve().parents[3]
FUNCTIONS = REPO / "functions"
# Which handler each name runs: `tenure invoke renewals-charger ...` and friends.
HANDLERS: dict[str, tuple[str, str]] = {
    "api": ("api", "lambda_handler"),
    "webhooks": ("webhooks", "lambda_handler"),
    "renewals": ("renewals", "schedule_handler"),
    "renewals-scheduler": ("renewals", "schedule_handler"),
    "renewals-charger": ("renewals", "charge_handler"),
    "reminders": ("reminders", "lambda_handler"),
    "reminders-feedback": ("reminders", "feedback_handler"),
    "metrics": ("metrics", "lambda_handler"),
    "events": ("events", "lambda_handler"),
    "webhooks-out": ("webhooks-out", "lambda_handler"),
    "imports": ("imports", "lambda_handler"),
}
_loaded: dict[str, ModuleType] = {}


class UnknownFunctionError(ValueError):
    pass


@dataclass
class FakeContext:
    """The parts of a LambdaContext that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:tenure-local"
    aws_request_id: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def load_module(directory: str) -> ModuleType:
    if directory in _loaded:
        return _loaded[directory]
    path = FUNCTIONS / directory / "app.py"
    if not path.exists():
        raise UnknownFunctionError(f"no handler at {path}")
    # Lambda puts the function's folder on the path; sibling modules import as top-level.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"tenure_fn_{directory}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    _loaded[directory] = module
    return module


def handler(name: str) -> Any:
    if name not in HANDLERS:
        raise UnknownFunctionError(
            f"unknown function {name!r}; choose one of: {', '.join(sorted(HANDLERS))}"
        )
    directory, attribute = HANDLERS[name]
    return getattr(load_module(directory), attribute)


# One invocation at a time in a process, as a Lambda container runs one request at a time:
# the handlers' module-level state (Powertools' current event, the wired services and their
# store) belongs to a container, not to a request. Threads that invoke (`tenure serve`'s
# requests, its schedules) take turns; concurrency comes from processes (`--workers`).
_one_at_a_time = threading.RLock()


def invoke(name: str, event: dict[str, Any]) -> Any:
    if name == "renewals" and isinstance(event.get("Records"), list):
        name = "renewals-charger"  # one folder, two handlers: SQS records go to the charger
    context = FakeContext(function_name=f"tenure-{name}", aws_request_id=request_id())
    with _one_at_a_time:
        try:
            return handler(name)(event, context)
        finally:
            _forget_metrics()


def _forget_metrics() -> None:
    """Drops the metrics an invocation left unflushed. With POWERTOOLS_METRICS_DISABLED
    (simulate, serve, bench) Powertools keeps them, in one store shared by every handler,
    and the first flush with metrics enabled would print them all. In Lambda, with metrics
    enabled, each invocation's flush empties the store itself.

    Every Metrics instance works on that one store, so one made once clears what any other
    added: a new one per invocation spent a twentieth of the webhook path building its
    provider."""
    _shared_metrics().clear_metrics()


@functools.cache
def _shared_metrics() -> Any:
    """The Metrics instance _forget_metrics clears the shared store with."""
    from aws_lambda_powertools import Metrics

    return Metrics()


class _RequestIds:
    """Request ids shaped as the UUIDs Lambda and API Gateway give: a random prefix drawn
    once per process (again in a forked child: `tenure serve --workers`), then a count.
    Unique as uuid4's are, for a twentieth of the cost (building a UUID object): a
    simulation asks for two an invocation."""

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        self._prefix = str(uuid.uuid4())[:23]
        self._count = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}-{next(self._count):012x}"


request_id = _RequestIds()


def query_parameters(query: str) -> dict[str, str] | None:
    """The query as API Gateway hands it to a payload 2.0 function: a parameter given empty
    is kept (`?starting_after=` is ""), one given twice is its values joined by commas."""
    if not query:
        return None  # most requests (every webhook): nothing to parse
    joined: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined or None


def http_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw_body: str | bytes | None = None,
    route_key: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event."""
    path_only, _, query = path.partition("?")
    text: str | None
    encoded = False
    if raw_body is not None:
        if isinstance(raw_body, bytes):
            try:
                text = raw_body.decode()
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(raw_body).decode(), True
        else:
            text = raw_body
    else:
        text = None if body is None else json.dumps(body)
    all_headers = {"content-type": "application/json"} | {
        k.lower(): v for k, v in (headers or {}).items()
    }
    # API Gateway hands a payload 2.0 function its cookies as a list, not as the header.
    cookie_header = all_headers.pop("cookie", "")
    cookies = [c.strip() for c in cookie_header.split(";") if c.strip()]
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key or "$default",
        "rawPath": path_only,
        "rawQueryString": query,
        **({"cookies": cookies} if cookies else {}),
        "headers": all_headers,
        "queryStringParameters": query_parameters(query),
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method.upper(),
                "path": path_only,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": all_headers.get("user-agent", "tenure-local"),
            },
            "requestId": request_id(),
            "routeKey": route_key or "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def scheduler_event(scheduled_time: str) -> dict[str, Any]:
    """What the EventBridge Scheduler target input in template.yaml sends."""
    return {"scheduled_time": scheduled_time, "source": "tenure.scheduler"}


RENEWAL_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:renewals"


def drain_renewal_queue(sqs: Any, queue_url: str) -> int:
    """Work every message in the renewal queue through the charger, as the SQS event source
    does; returns how many succeeded. Failed ones are deleted too: their work stays in the
    due index, so the next scheduler run queues them again."""
    worked = 0
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return worked
        response = invoke("renewals-charger", sqs_event(batch, RENEWAL_QUEUE_ARN))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        worked += len(batch) - len(failed)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
            ],
        )
