"""The simulator asks the store when work is next due only after something was written."""

from datetime import UTC, datetime

from tenure_local.simulator.simulate import DueWatch

T = datetime(2026, 1, 1, tzinfo=UTC)


class CountingRepo:
    def __init__(self) -> None:
        self.due: datetime | None = T
        self.notice: datetime | None = None
        self.reads = 0

    def next_due_at(self) -> datetime | None:
        self.reads += 1
        return self.due

    def next_notice_at(self) -> datetime | None:
        self.reads += 1
        return self.notice


def test_without_a_write_the_answer_is_the_last_one_read() -> None:
    repo, writes = CountingRepo(), [0]
    watch = DueWatch(repo, lambda: writes[0])  # type: ignore[arg-type]
    assert watch.next_due_at() == T and watch.next_notice_at() is None
    assert watch.next_due_at() == T and watch.next_notice_at() is None
    assert repo.reads == 2


def test_after_a_write_each_moment_is_read_again() -> None:
    repo, writes = CountingRepo(), [0]
    watch = DueWatch(repo, lambda: writes[0])  # type: ignore[arg-type]
    watch.next_due_at(), watch.next_notice_at()
    repo.due, repo.notice = None, T
    writes[0] += 1
    assert watch.next_due_at() is None
    assert watch.next_notice_at() == T
    assert repo.reads == 4


def test_without_a_store_nothing_is_due() -> None:
    watch = DueWatch(None, lambda: 0)
    assert watch.next_due_at() is None and watch.next_notice_at() is None
