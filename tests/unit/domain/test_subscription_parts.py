"""The subscription is made of parts (tenure.domain.subscription's modules): they add
methods only, keep the one slotted record of fields, and the package still exports every
name callers imported from it before it was split."""

import dataclasses
import importlib
from datetime import UTC, datetime

import pytest

from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription, SubscriptionRecord
from tenure.domain.subscription.states import SubscriptionStatus
from tenure.fakes_copy import clone

T0 = datetime(2026, 1, 31, 9, tzinfo=UTC)
BASIC = Plan(id="basic", name="Basic", amount=1000, currency="USD", interval="month")


def test_every_name_the_module_exported_before_the_split_is_still_exported() -> None:
    module = importlib.import_module("tenure.domain.subscription")
    for name in (
        "ALLOWED",
        "EARNING",
        "MAX_CREDIT",
        "MAX_MOVE",
        "DueKind",
        "Proration",
        "Subscription",
        "SubscriptionStatus",
    ):
        assert hasattr(module, name), name
    assert module.SubscriptionStatus is SubscriptionStatus


def test_a_subscription_keeps_its_fields_in_slots_so_no_part_adds_any() -> None:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0)

    assert not hasattr(sub, "__dict__")
    with pytest.raises(AttributeError):
        sub.no_such_field = 1  # type: ignore[attr-defined]


def test_the_fields_are_the_records_and_none_is_declared_twice() -> None:
    names = [f.name for f in dataclasses.fields(Subscription)]

    assert names == [f.name for f in dataclasses.fields(SubscriptionRecord)]
    assert len(names) == len(set(names))
    assert all(vars(part).get("__slots__") == () for part in Subscription.__mro__[:-2])


def test_a_stored_copy_is_equal_and_shares_no_event_list() -> None:
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0)

    copied = clone(sub)

    assert type(copied) is Subscription
    assert copied == sub
    assert copied.events == sub.events
    assert copied.events is not sub.events
    assert repr(copied).startswith("Subscription(id='sub-1'")
