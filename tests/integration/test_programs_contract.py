"""The programs setting and loyalty points on both repositories: the fake and DynamoDB Local."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from containers import a_reader_and_a_writer

from tenure.domain.errors import AlreadyExistsError, ConcurrencyError, ValidationFailedError
from tenure.domain.points import PointsAccount, PointsEntry, PointsKind, PointsMove
from tenure.domain.programs import (
    LoyaltyProgram,
    Programs,
    ProgramsSetting,
    TenureStep,
)
from tenure.ports import Commit, Repository
from tenure.store.dynamodb import PROGRAMS_KEPT_SECONDS

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
LADDER = Programs(
    tenure_discount=[
        TenureStep(after_months=12, percent_off=Decimal("5")),
        TenureStep(after_months=24, percent_off=Decimal("12.5")),
    ],
    loyalty=LoyaltyProgram(points_per_unit=1, unit_minor=100, point_value_minor=1),
)


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


def test_a_container_keeps_the_programs_it_read_for_a_minute_and_its_own_writes_at_once(
    local_stack: Any,
) -> None:
    reader, writer, ticks = a_reader_and_a_writer(local_stack)
    assert reader.get_programs().version == 0
    writer.commit(Commit(programs=[ProgramsSetting(LADDER, 0, T0)]))
    ticks[0] = PROGRAMS_KEPT_SECONDS - 1
    assert reader.get_programs().version == 0  # a renewal in the next minute reads nothing
    ticks[0] = PROGRAMS_KEPT_SECONDS
    assert reader.get_programs().programs == LADDER
    reader.commit(Commit(programs=[ProgramsSetting(Programs(), 1, T0)]))
    assert (reader.get_programs().version, reader.get_programs().programs) == (2, Programs())


def earned(points: int, minutes: int, invoice: str) -> PointsMove:
    at = T0 + timedelta(minutes=minutes)
    entry = PointsEntry("alice", at, PointsKind.EARNED, points, invoice, points * 100)
    return PointsMove("alice", balance=points, entry=entry)


def test_points_moves_add_up_and_the_history_reads_back_in_order(repo: Repository) -> None:
    assert repo.get_points("alice") == PointsAccount("alice")
    repo.commit(Commit(points=[earned(10, 2, "in_2")]))
    repo.commit(Commit(points=[earned(7, 1, "in_1")]))
    repo.commit(Commit(points=[PointsMove("alice", balance=-5, pending=5, at_least=5)]))
    account = repo.get_points("alice")
    assert (account.balance, account.pending) == (12, 5)
    assert [(e.points, e.invoice, e.amount) for e in account.entries] == [
        (7, "in_1", 700),
        (10, "in_2", 1000),
    ]
    assert repo.get_points("bob") == PointsAccount("bob")


def test_a_redemption_beyond_the_balance_fails_the_whole_commit(repo: Repository) -> None:
    repo.commit(Commit(points=[earned(10, 1, "in_1")]))
    with pytest.raises(ValidationFailedError, match="no longer has 11 points"):
        repo.commit(
            Commit(
                points=[
                    PointsMove("alice", balance=-11, pending=11, at_least=11),
                    earned(3, 2, "in_2"),
                ]
            )
        )
    account = repo.get_points("alice")
    assert (account.balance, account.pending, len(account.entries)) == (10, 0, 1)


def test_the_same_history_entry_is_written_once(repo: Repository) -> None:
    repo.commit(Commit(points=[earned(10, 1, "in_1")]))
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(points=[earned(10, 1, "in_1")]))
    assert repo.get_points("alice").balance == 10


def test_the_current_programs_are_read_past_the_copy_another_container_kept(
    local_stack: Any,
) -> None:
    reader, writer, _ = a_reader_and_a_writer(local_stack)  # its clock stands still
    assert reader.get_programs().version == 0
    writer.commit(Commit(programs=[ProgramsSetting(LADDER, 0, T0)]))
    current = reader.get_current_programs()
    assert (current.version, current.programs) == (1, LADDER)
    # what it read becomes the copy kept, so a renewal in the same container sees it too
    assert reader.get_programs().version == 1
