"""The in-memory repository keeps its due index with every write, as the table keeps its GSI:
by commits, by a test writing into its dicts, through copies and pickles."""

import copy
import pickle
import random
from datetime import UTC, datetime, timedelta

from tenure.domain.notices import Notice, NoticeKind
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.fakes import InMemoryRepository
from tenure.fakes_index import DueIndex
from tenure.ports import Commit
from tenure.store.dynamodb import DUE_SHARDS

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")


def active(repo: InMemoryRepository, sub_id: str, at: datetime = T0) -> Subscription:
    sub = Subscription.subscribe(sub_id, "alice", BASIC, at)
    sub.activate(BASIC, at)
    change = Commit()
    change.add_subscription(sub)
    repo.commit(change)
    return sub


def notice(key: str, due_at: datetime) -> Notice:
    return Notice(key, NoticeKind.REFUND_RECEIPT, "alice", "sub-1", due_at, due_at)


def test_a_renewal_enters_the_index_on_commit_and_moves_when_the_period_does() -> None:
    repo = InMemoryRepository()
    sub = active(repo, "sub-1")
    assert repo.next_due_at() == sub.current_period_end
    stored = repo.get_subscription("sub-1")
    assert stored is not None
    stored.cancel(BASIC, T0 + timedelta(days=1), at_period_end=False, reason=None)
    change = Commit()
    change.add_subscription(stored)
    repo.commit(change)
    assert repo.next_due_at() is None
    assert repo.due(T0 + timedelta(days=400)) == []


def test_an_item_written_or_deleted_straight_in_the_dicts_is_indexed_too() -> None:
    repo = InMemoryRepository()
    active(repo, "sub-1")
    repo.notices["n1"] = notice("n1", T0)
    assert [n.key for n in repo.due_notices(T0)] == ["n1"]
    assert repo.next_notice_at() == T0
    del repo.subscriptions["sub-1"]
    assert repo.next_due_at() is None
    assert repo.notices.pop("n1").key == "n1"
    assert repo.next_notice_at() is None


def test_a_copied_or_pickled_repository_has_its_own_index_that_matches_its_items() -> None:
    repo = InMemoryRepository()
    sub = active(repo, "sub-1")
    repo.notices["n1"] = notice("n1", T0)
    for twin in (copy.deepcopy(repo), pickle.loads(pickle.dumps(repo))):
        assert twin.next_due_at() == sub.current_period_end
        assert [n.key for n in twin.due_notices(T0)] == ["n1"]
        del twin.notices["n1"]
        assert twin.next_notice_at() is None
        assert repo.next_notice_at() == T0, "the original's index is untouched"


def test_a_write_that_keeps_or_barely_moves_its_moment_leaves_one_entry_at_the_new_one() -> None:
    repo = InMemoryRepository()
    repo.notices["n1"] = notice("n1", T0)
    repo.notices["n1"] = notice("n1", T0)  # the same work: still one entry
    assert [n.key for n in repo.due_notices(T0, 10)] == ["n1"]
    later = T0 + timedelta(microseconds=5)  # the same key in the table's whole seconds
    repo.notices["n1"] = notice("n1", later)
    assert repo.next_notice_at() == later
    assert [n.due_at for n in repo.due_notices(later, 10)] == [later]
    repo.notices["n2"] = notice("n2", T0 + timedelta(hours=1))
    repo.notices["n1"] = notice("n1", T0 + timedelta(hours=2))  # moved: once, in its place
    due = repo.due_notices(T0 + timedelta(days=1), 10)
    assert [n.key for n in due] == ["n2", "n1"]


def _page_by_comparing_each(
    index: DueIndex, now: datetime, limit: int, starts: dict[int, str | None], share: int | None
) -> tuple[list[tuple[str, str]], dict[int, str | None]]:
    """page_from as a reading of every entry of each shard's share would find it."""
    share = share or max(1, -(-limit // DUE_SHARDS))
    upper = f"{iso(now)}#~"
    found: list[tuple[str, str]] = []
    resume: dict[int, str | None] = {}
    for shard, after in starts.items():
        entries = [e for e in index._shards[shard] if after is None or e[0] > after]
        taken = [e for e in entries[:share] if e[0] <= upper]
        found += [(source, key) for _, _, source, key in taken]
        if len(taken) == share:
            resume[shard] = taken[-1][0]
    return found, resume


def test_a_page_holds_each_shards_due_entries_after_its_start_up_to_its_share() -> None:
    rng = random.Random(17)
    index = DueIndex()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(400):
        due = start + timedelta(hours=rng.randrange(0, 24 * 60))
        index.put("subscription", f"sub_{n}", f"sub_{n}", (due, rng.choice(["renew", "trial"])))
    for _ in range(200):
        now = start + timedelta(hours=rng.randrange(-5, 24 * 62))
        limit = rng.choice([0, 1, 8, 100, 1000])
        share = rng.choice([None, 1, 3, 50])
        starts: dict[int, str | None] = {}
        for shard in rng.sample(range(DUE_SHARDS), rng.randrange(1, DUE_SHARDS + 1)):
            entries = index._shards[shard]
            starts[shard] = rng.choice([None, *(e[0] for e in entries[:30])])
        expected = _page_by_comparing_each(index, now, limit, starts, share)
        assert index.page_from(now, limit, starts, share) == expected
