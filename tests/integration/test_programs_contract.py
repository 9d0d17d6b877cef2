"""The programs setting and loyalty points on both repositories: the fake and DynamoDB Local."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tenure.domain.errors import ConcurrencyError
from tenure.domain.programs import (
    LoyaltyProgram,
    Programs,
    ProgramsSetting,
    TenureStep,
)
from tenure.fakes import InMemoryRepository
from tenure.ports import Commit, Repository
from tenure.store.dynamodb import DynamoRepository

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
LADDER = Programs(
    tenure_discount=[
        TenureStep(after_months=12, percent_off=Decimal("5")),
        TenureStep(after_months=24, percent_off=Decimal("12.5")),
    ],
    loyalty=LoyaltyProgram(points_per_unit=1, unit_minor=100, point_value_minor=1),
)


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "memory":
        yield InMemoryRepository()
        return
    stack = request.getfixturevalue("local_stack")
    stack.reset_table()
    yield DynamoRepository(stack.dynamodb_client(), stack.env["TABLE_NAME"])


def test_programs_never_written_read_as_version_0_with_every_program_off(
    repo: Repository,
) -> None:
    setting = repo.get_programs()
    assert setting.version == 0
    assert setting.programs == Programs()
    assert setting.programs.tenure_discount is None and setting.programs.loyalty is None


def test_written_programs_read_back_whole_at_the_next_version(repo: Repository) -> None:
    repo.commit(Commit(programs=[ProgramsSetting(LADDER, 0, T0)]))
    stored = repo.get_programs()
    assert (stored.programs, stored.version, stored.updated_at) == (LADDER, 1, T0)
    assert stored.programs.tenure_discount is not None
    assert stored.programs.tenure_discount[1].percent_off == Decimal("12.5")
    repo.commit(Commit(programs=[ProgramsSetting(Programs(), 1, T0)]))
    assert repo.get_programs().version == 2
    assert repo.get_programs().programs == Programs()


def test_a_programs_write_against_an_older_version_is_refused_and_changes_nothing(
    repo: Repository,
) -> None:
    repo.commit(Commit(programs=[ProgramsSetting(LADDER, 0, T0)]))
    with pytest.raises(ConcurrencyError, match="no longer at version 0"):
        repo.commit(Commit(programs=[ProgramsSetting(Programs(), 0, T0)]))
    stored = repo.get_programs()
    assert (stored.programs, stored.version) == (LADDER, 1)


def test_a_first_programs_write_loses_to_one_that_came_first(repo: Repository) -> None:
    repo.commit(Commit(programs=[ProgramsSetting(Programs(), 0, T0)]))
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(programs=[ProgramsSetting(LADDER, 0, T0)]))
    assert repo.get_programs().programs == Programs()
