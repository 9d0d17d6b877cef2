"""A deployed table on moto, and paying customers on it, for the CLI tests that name a table."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenure.payments.sandbox import payment_method_for
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services
from tenure_local.stack.template import table_create_kwargs

TABLE = "tenure-deployed"
REGION = "eu-west-1"


@contextmanager
def deployed_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's DynamoDB client, with TABLE built from template.yaml's own key schema, under
    test credentials in REGION (what the CLI finds as if a stack were deployed there)."""
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**table_create_kwargs(TABLE))
        yield client


def paying_subscriber(svc: Services, customer_id: str, plan_id: str, **customer: Any) -> None:
    """`customer_id` (email customer_id@example.com) with a card that pays, subscribed to
    `plan_id` as sub-`customer_id`; `customer`: more of the customer's fields."""
    catalog.create_customer(svc, customer_id, f"{customer_id}@example.com", **customer)
    method = payment_method_for("4242424242424242")
    assert method is not None
    cards.update_payment_method(svc, customer_id, method, "sandbox", True)
    subscriptions.subscribe(svc, f"sub-{customer_id}", customer_id, plan_id)
