"""Integration fixtures: one local AWS stack per test session (so one per xdist worker)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tenure.fakes import InMemoryRepository
from tenure.ports import Repository
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.dynamodb_local import QUICK_START_JVM_ARGS
from tenure_local.stack.local_stack import LocalStack

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A conftest hook sees every collected item, not only this directory's.
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """DynamoDB Local plus moto, with their endpoints in os.environ for the whole session.

    Without Java the stack falls back to moto for DynamoDB and warns; nothing is skipped.
    """
    # Tests are short: the quick-start JVM is at full speed at once and leaves a core free.
    # Without the template's stream, as a simulation's own stack: nothing here reads it, and
    # DynamoDB Local pays for it on every write (15-25% of a DynamoDB Local test's time,
    # measured). test_local_stack makes the table with it to check it is the template's.
    stack = LocalStack(jvm_args=QUICK_START_JVM_ARGS, table_stream=False)
    stack.start()
    stack.apply_env()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def fresh_table(local_stack: LocalStack) -> str:
    """The name of the stack's table, emptied (deleted and recreated) for this test."""
    local_stack.reset_table()
    return local_stack.table_name


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    """One repository per run of a contract test: the in-memory fake, then DynamoDB Local
    (its table emptied), so both are held to the same assertions."""
    if request.param == "memory":
        yield InMemoryRepository()
        return
    stack = request.getfixturevalue("local_stack")
    stack.reset_table()
    yield DynamoRepository(stack.dynamodb_client(), stack.env["TABLE_NAME"])
