"""GET /v1/programs served by two API containers over one DynamoDB Local table."""

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tenure import bootstrap
from tenure.fakes import FixedClock
from tenure.store.dynamodb import DynamoRepository
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import DEV_API_TOKEN, LocalStack

LOYALTY = {"loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1}}
Containers = tuple[bootstrap.Wiring, bootstrap.Wiring]


@pytest.fixture
def containers(local_stack: LocalStack) -> Iterator[Containers]:
    """Two containers' wirings, each with its own repository, over one table; the programs
    either one keeps never age (its monotonic clock stands still)."""
    local_stack.reset_table()
    client, table = local_stack.dynamodb_client(), local_stack.env["TABLE_NAME"]
    clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))

    def container() -> bootstrap.Wiring:
        repo = DynamoRepository(client, table, monotonic=lambda: 0.0)
        return bootstrap.build(store=repo, clock=clock)

    yield container(), container()
    bootstrap.use(None)


def call(container: bootstrap.Wiring, method: str, body: Any = None) -> tuple[int, Any]:
    bootstrap.use(container)
    headers = {"authorization": f"Bearer {os.environ.get('TENURE_API_TOKEN') or DEV_API_TOKEN}"}
    reply = functions.invoke("api", functions.http_event(method, "/v1/programs", body, headers))
    return reply["statusCode"], json.loads(reply["body"])


def test_a_get_from_another_container_right_after_a_put_shows_the_new_version(
    containers: Containers,
) -> None:
    reader, writer = containers
    status, before = call(reader, "GET")
    assert (status, before["version"], before["loyalty"]) == (200, 0, None)
    status, written = call(writer, "PUT", LOYALTY | {"version": 0})
    assert (status, written["version"]) == (200, 1)
    status, after = call(reader, "GET")
    assert (status, after["version"], after["loyalty"]) == (200, 1, LOYALTY["loyalty"])


def test_the_reader_can_put_on_what_it_just_read_without_a_conflict(
    containers: Containers,
) -> None:
    reader, writer = containers
    call(reader, "GET")
    call(writer, "PUT", LOYALTY | {"version": 0})
    _, current = call(reader, "GET")
    status, written = call(reader, "PUT", {"version": current["version"]})
    assert (status, written["version"], written["loyalty"]) == (200, 2, None)
