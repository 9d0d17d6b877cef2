"""The in-memory repository holds its items with no work ahead packed (tenure.fakes_packed):
reads give fresh copies equal to what was written, and the indexes stay as they were."""

import copy
import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.fakes import InMemoryRepository
from tenure.fakes_packed import PACK_AFTER, PackedIndexed
from tenure.ports import Commit

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def sent(key: str, customer: str = "alice") -> Notice:
    notice = Notice(key, NoticeKind.RECEIPT, customer, "sub-1", T0, T0, data={"amount": 1000})
    notice.status, notice.sent_at, notice.message_id = NoticeStatus.SENT, T0, f"m-{key}"
    return notice


def held(repo: InMemoryRepository) -> PackedIndexed[Notice]:
    notices = repo.notices
    assert isinstance(notices, PackedIndexed)
    return notices


def test_an_item_with_no_work_ahead_is_packed_once_enough_have_waited() -> None:
    repo = InMemoryRepository()
    repo.commit(Commit(notices=[sent(f"n{i}") for i in range(PACK_AFTER - 1)]))
    assert not held(repo).is_packed("n0")  # written again at once, most are: it waits
    repo.commit(Commit(notices=[sent("last")]))
    assert held(repo).is_packed("n0") and held(repo).is_packed("last")
    assert repo.get_notice("n0") == replace(sent("n0"), version=1)


def test_a_packed_item_reads_as_a_fresh_copy_through_every_way_in() -> None:
    repo = InMemoryRepository()
    repo.commit(Commit(notices=[sent("n1"), sent("n2", "bob")]))
    assert held(repo).pack_waiting() == 2
    want = {"n1": replace(sent("n1"), version=1), "n2": replace(sent("n2", "bob"), version=1)}
    assert repo.notices["n1"] == want["n1"] and repo.notices.get("n2") == want["n2"]
    assert dict(repo.notices) == want and dict(repo.notices.items()) == want
    assert list(repo.notices.values()) == list(want.values())
    assert repo.notices == want and repo.notices.copy() == want
    assert [n.key for n in repo.list_notices("bob")] == ["n2"]
    read = repo.get_notice("n1")
    assert read is not None
    read.data["amount"] = 1  # changing a copy changes nothing stored
    assert repo.notices["n1"].data == {"amount": 1000}
    assert repo.notices["n1"] is not repo.notices["n1"]


def test_a_packed_item_written_again_with_work_due_is_held_and_indexed_as_it_is() -> None:
    repo = InMemoryRepository()
    repo.commit(Commit(notices=[sent("n1")]))
    held(repo).pack_waiting()
    again = repo.get_notice("n1")
    assert again is not None
    again.status, again.due_at = NoticeStatus.SCHEDULED, T0 + timedelta(hours=1)
    repo.commit(Commit(notices=[again]))
    assert not held(repo).is_packed("n1")
    assert [n.key for n in repo.due_notices(T0 + timedelta(hours=1))] == ["n1"]


def test_a_packed_item_written_for_another_owner_moves_to_it() -> None:
    repo = InMemoryRepository()
    repo.notices["n1"] = sent("n1")
    held(repo).pack_waiting()
    repo.notices["n1"] = sent("n1", "bob")  # the same key, now another customer's
    assert repo.list_notices("alice") == [] and [n.key for n in repo.list_notices("bob")] == ["n1"]
    assert repo.notices.pop("n1").customer_id == "bob"
    assert repo.list_notices("bob") == [] and "n1" not in repo.notices


def test_a_copied_or_pickled_repository_reads_its_packed_items() -> None:
    repo = InMemoryRepository()
    repo.commit(Commit(notices=[sent("n1")]))
    held(repo).pack_waiting()
    for other in (copy.deepcopy(repo), pickle.loads(pickle.dumps(repo))):
        assert other.get_notice("n1") == repo.get_notice("n1")
        assert [n.key for n in other.list_notices("alice")] == ["n1"]
