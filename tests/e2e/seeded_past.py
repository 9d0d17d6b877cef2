"""A customer's past written straight into a served stack's table, by the services themselves
on a clock set back, for browser tests whose pages need weeks of history (`tenure serve
--no-schedules`, so the server does not work that past at today's time)."""

from datetime import datetime, timedelta
from typing import Any

import boto3

from tenure.fakes import FixedClock
from tenure.services.context import Services
from tenure.services.due import work_due
from tenure.store.dynamodb import DynamoRepository


def table_client(stack: dict[str, str]) -> Any:
    """A DynamoDB client for the served stack's table (its env: endpoint, region, keys)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=stack["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=stack["AWS_REGION"],
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
    )


def work_due_until(
    svc: Services, repo: DynamoRepository, clock: FixedClock, until: datetime
) -> None:
    """Work what falls due up to `until`, as the scheduler would, a tick every 15 minutes."""
    while (due_at := repo.next_due_at()) is not None and due_at <= until:
        clock.set(max(due_at, clock.now()))
        for item in repo.due(clock.now()):
            work_due(svc, item)
        clock.advance(timedelta(minutes=15))  # the scheduler's next tick
