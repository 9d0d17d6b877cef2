"""Webhook figures for `make bench`: DynamoDB requests per applied event and per duplicate,
and handler time per event in-process on DynamoDB Local, as a ratio to a bare conditional
put measured in the same run (so the figure travels between machines). On moto, where it
ran before, each TransactWriteItems copied the whole table: the stage took about 150 s of
`make bench`'s budget for the same request counts.

`python -m tenure_local.bench.webhooks` prints them; `measure()` returns them.
"""

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

N_EVENTS = 30
TARGETS = {"applied": 2, "duplicate": 1}


def measure(n: int = N_EVENTS) -> dict[str, Any]:
    from tenure import bootstrap
    from tenure.domain.calendar import IntervalUnit
    from tenure.domain.money import Money
    from tenure.domain.plans import Plan
    from tenure.fakes import FixedClock
    from tenure.payments import stripe_objects
    from tenure.services import cards, catalog, subscriptions
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository
    from tenure.webhooks import stripe_events
    from tenure_local.runtime import functions
    from tenure_local.simulator.webhooks_provider import ProviderSandbox
    from tenure_local.stack.local_stack import LocalStack, restore_environ

    secret = "whsec_bench"
    saved = {k: os.environ.get(k) for k in (*_ENV, "WEBHOOK_SECRET_ARN")}
    try:
        with LocalStack() as stack:
            stack.apply_env()
            os.environ.update(_ENV | {"TENURE_STRIPE_WEBHOOK_SECRET": secret})
            os.environ.pop("WEBHOOK_SECRET_ARN", None)
            table = stack.table_name
            ddb = stack.dynamodb_client()
            requests: Counter[str] = Counter()
            ddb.meta.events.register(
                "before-call.dynamodb.*", lambda model, **_: requests.update([model.name])
            )
            clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
            gateway = ProviderSandbox(clock=clock.now)
            svc = Services(DynamoRepository(ddb, table), clock, gateway)
            catalog.create_plan(
                svc, Plan(id="basic", amount=1000, currency="USD", interval=IntervalUnit.MONTH)
            )
            invoices = []
            for i in range(n):
                catalog.create_customer(svc, f"c{i}", f"c{i}@example.com")
                cards.update_payment_method(
                    svc, f"c{i}", "pm_sandbox_async_succeeds", "sandbox", True
                )
                outcome = subscriptions.subscribe(svc, f"s{i}", f"c{i}", "basic")
                assert outcome.invoice is not None
                invoices.append(outcome.invoice.id)
            clock.advance(timedelta(hours=4))
            gateway.settle_pending()
            settled = [e for e in gateway.events if e["type"] == "payment_intent.succeeded"]
            for invoice_id in invoices:
                charge = svc.repo.get_charge(invoice_id, 1)
                assert charge is not None and charge.payment_id is not None
                gateway.dashboard_refund(charge.payment_id, Money(100, "USD"), f"r:{invoice_id}")
            refunded = [e for e in gateway.events if e["type"] == "charge.refunded"]
            bootstrap.use(bootstrap.Wiring(svc))

            def deliver(
                events: list[dict[str, Any]],
            ) -> tuple[float, float, Counter[str], dict[str, float]]:
                requests.clear()
                results: Counter[str] = Counter()
                started = time.perf_counter()
                for event in events:
                    body = stripe_objects.event_payload(event)
                    headers = stripe_events.sign(body, secret, int(clock.now().timestamp()))
                    response = functions.invoke(
                        "webhooks",
                        functions.http_event(
                            "POST", "/webhooks/stripe", headers=headers, raw_body=body
                        ),
                    )
                    results[json.loads(response["body"]).get("result", "error")] += 1
                seconds = (time.perf_counter() - started) / len(events)
                per_op = {op: k / len(events) for op, k in sorted(requests.items())}
                return seconds, sum(requests.values()) / len(events), results, per_op

            settle_s, settle_req, settle_res, settle_ops = deliver(settled)
            refund_s, refund_req, refund_res, refund_ops = deliver(refunded)
            dup_s, dup_req, dup_res, dup_ops = deliver(settled + refunded)
            bare_s = _bare_conditional_put(ddb, table, n)
            bare_tx_s = _bare_transaction(ddb, table, n)
            bootstrap.use(None)
            stack.restore_env()
    finally:
        restore_environ(saved)
    return {
        "events": n,
        # requests: per event (all operations); by_operation: per event, each operation
        "settle": {
            "requests": settle_req,
            "by_operation": settle_ops,
            "seconds": settle_s,
            "results": dict(settle_res),
        },
        "refund": {
            "requests": refund_req,
            "by_operation": refund_ops,
            "seconds": refund_s,
            "results": dict(refund_res),
        },
        "duplicate": {
            "requests": dup_req,
            "by_operation": dup_ops,
            "seconds": dup_s,
            "results": dict(dup_res),
        },
        "backend": "dynamodb-local",
        "bare_conditional_put_seconds": bare_s,
        "bare_transaction_seconds": bare_tx_s,
        "ratio_to_bare_put": {
            "settle": settle_s / bare_s,
            "refund": refund_s / bare_s,
            "duplicate": dup_s / bare_s,
        },
        "targets": TARGETS,
    }


_ENV = {
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def _bare_conditional_put(ddb: Any, table: str, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        ddb.put_item(
            TableName=table,
            Item={"PK": {"S": f"BARE#{i}"}, "SK": {"S": "BARE"}},
            ConditionExpression="attribute_not_exists(PK)",
        )
    return (time.perf_counter() - started) / n


def _bare_transaction(ddb: Any, table: str, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"PK": {"S": f"BARETX#{i}"}, "SK": {"S": "BARE"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            ]
        )
    return (time.perf_counter() - started) / n


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
