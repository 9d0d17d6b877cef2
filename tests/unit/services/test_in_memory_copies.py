"""The in-memory repository's copies and owner indexes: what it hands out shares nothing a
caller could change, and a customer's (or invoice's) items are found without a scan, even
when written straight into its dicts, copied or pickled."""

import copy
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

from tenure.domain.notices import Notice, NoticeKind
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.fakes import InMemoryRepository
from tenure.fakes_copy import clone
from tenure.ports import Commit

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")


@dataclass(frozen=True, slots=True)
class Stamp:
    at: datetime
    rate: Decimal
    zone: ZoneInfo


@dataclass(frozen=True, slots=True)
class Basket:
    items: list[str]


@dataclass(slots=True)
class Holder:
    stamp: Stamp
    basket: Basket
    notes: dict[str, list[int]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


class Plain:
    def __init__(self, values: list[int]) -> None:
        self.values = values


def test_a_frozen_value_of_unchangeable_parts_is_shared_not_copied() -> None:
    stamp = Stamp(T0, Decimal("0.5"), ZoneInfo("Europe/Berlin"))
    assert clone(stamp) is stamp
    assert clone((stamp, "a")) == (stamp, "a")


def test_a_frozen_value_holding_a_list_is_copied_with_its_own_list() -> None:
    basket = Basket(["a"])
    copied = clone(basket)
    assert copied == basket and copied is not basket
    basket.items.append("b")
    assert copied.items == ["a"]


def test_a_mutable_value_and_everything_mutable_inside_it_are_copied() -> None:
    holder = Holder(Stamp(T0, Decimal(1), ZoneInfo("UTC")), Basket(["x"]), {"n": [1]}, ("t",))
    copied = clone(holder)
    assert copied == holder and copied is not holder
    holder.notes["n"].append(2)
    holder.basket.items.append("y")
    holder.tags = ("u",)
    assert copied.notes == {"n": [1]} and copied.basket.items == ["x"] and copied.tags == ("t",)
    assert copied.stamp is holder.stamp


@dataclass(slots=True)
class Crowded:  # fields named as the written copier's own names
    value: list[int]
    made: dict[str, int]
    kind: str
    a0: list[str]
    c0: int = 0


@dataclass(slots=True)
class Guarded:
    items: list[int]

    seen: ClassVar[list[str]] = []  # what went through __setattr__

    def __setattr__(self, name: str, value: object) -> None:
        Guarded.seen.append(name)
        object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class Empty:
    pass


def test_a_copier_written_for_a_class_keeps_fields_named_as_its_own_names_apart() -> None:
    crowded = Crowded([1], {"m": 2}, "k", ["a"], 3)
    copied = clone(crowded)
    assert copied == crowded and copied is not crowded
    crowded.value.append(9)
    crowded.a0.append("b")
    assert copied.value == [1] and copied.a0 == ["a"] and copied.made == {"m": 2}


def test_a_class_guarding_its_attributes_is_copied_without_going_through_its_guard() -> None:
    guarded = Guarded([1])
    Guarded.seen.clear()
    copied = clone(guarded)
    assert Guarded.seen == [], "a copy is no assignment a class could refuse or record"
    assert copied == guarded and copied.items is not guarded.items
    assert clone(Empty()) == Empty()


def test_a_value_that_is_no_slotted_dataclass_is_copied_the_general_way() -> None:
    plain = Plain([1])
    copied = clone({"p": plain, "s": {1, 2}, "f": frozenset({3})})
    assert copied["p"] is not plain and copied["p"].values == [1]
    plain.values.append(2)
    assert copied["p"].values == [1] and copied["s"] == {1, 2} and copied["f"] == {3}


def test_a_subscription_read_back_is_equal_and_changing_it_changes_nothing_stored() -> None:
    repo = InMemoryRepository()
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0)
    sub.activate(BASIC, T0)
    change = Commit()
    change.add_subscription(sub)
    repo.commit(change)
    read = repo.get_subscription("sub-1")
    assert read is not None
    stored = repo.subscriptions["sub-1"]
    assert read == stored and read is not stored
    read.cancel(BASIC, T0 + timedelta(days=1), at_period_end=False, reason=None)
    assert repo.subscriptions["sub-1"].status == stored.status != read.status


def notice(key: str, customer: str, due_at: datetime = T0) -> Notice:
    return Notice(key, NoticeKind.REFUND_RECEIPT, customer, "sub-1", due_at, due_at)


def test_a_customers_items_are_found_by_owner_after_writes_deletes_and_moves() -> None:
    repo = InMemoryRepository()
    repo.notices["n1"] = notice("n1", "alice")
    repo.notices["n2"] = notice("n2", "bob")
    repo.notices["n3"] = notice("n3", "alice", T0 + timedelta(hours=1))
    assert [n.key for n in repo.list_notices("alice")] == ["n1", "n3"]
    repo.notices["n1"] = notice("n1", "bob")  # the same key, now another customer's
    del repo.notices["n3"]
    assert repo.list_notices("alice") == []
    assert [n.key for n in repo.list_notices("bob")] == ["n1", "n2"]
    repo.notices.clear()
    assert repo.list_notices("bob") == []


def test_a_copied_or_pickled_repository_finds_owners_items_in_its_own_index() -> None:
    repo = InMemoryRepository()
    repo.notices["n1"] = notice("n1", "alice")
    for twin in (copy.deepcopy(repo), pickle.loads(pickle.dumps(repo))):
        assert [n.key for n in twin.list_notices("alice")] == ["n1"]
        twin.notices.pop("n1")
        assert twin.list_notices("alice") == []
        assert [n.key for n in repo.list_notices("alice")] == ["n1"], "the original's is kept"
