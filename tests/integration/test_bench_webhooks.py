"""The webhooks bench on DynamoDB Local: every event it delivers is applied (or, delivered
again, found a duplicate), and the requests it reports are the handler's own."""

import os

from tenure_local.bench.webhooks import measure


def test_the_webhooks_bench_applies_each_event_once_at_its_request_floor() -> None:
    before = dict(os.environ)
    figures = measure(n=3)

    assert figures["backend"] == "dynamodb-local"
    assert figures["settle"]["results"] == {"applied": 3}
    assert figures["refund"]["results"] == {"applied": 3}
    assert figures["duplicate"]["results"] == {"duplicate": 6}
    # A refund: its read (marker, invoice, the payer's points account) and its transaction.
    assert figures["refund"]["by_operation"] == {"BatchGetItem": 1.0, "TransactWriteItems": 1.0}
    assert figures["duplicate"]["by_operation"] == {"BatchGetItem": 1.0}
    assert dict(os.environ) == before  # the bench leaves the environment as it found it
