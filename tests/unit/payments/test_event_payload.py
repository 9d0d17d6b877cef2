"""A webhook delivery's body is byte for byte what json.dumps(event, indent=2) writes, as the
sandbox always sent it, though written without the json module's slow indenting encoder."""

import json
from collections import OrderedDict
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from tenure.payments.sandbox import SandboxGateway
from tenure.payments.stripe_objects import event_payload


class Level(IntEnum):
    HIGH = 3


class Status(StrEnum):
    PAID = "paid"


class Items(list[Any]):
    pass


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"a": [], "b": {}, "c": [[]], "d": [{}]},
        {"text": 'quote " slash \\ newline \n tab \t', "unicode": "Böb ✓ مرحبا 😀"},
        {"n": 0, "neg": -17, "big": 10**30, "f": 1.5, "tiny": 1e-300, "t": True, "no": None},
        {"nested": {"deep": [1, [2, [3, {"x": False}]], ("tuple", 2)]}},
        # Every kind of value straight under a key, and the same inside a list.
        {"s": "x", "i": -1, "n": None, "t": True, "f": False, "x": 0.25, "l": [1], "d": {"k": 1}},
        {"list": ["x", -1, None, True, False, 0.25, [1], {"k": 1}]},
    ],
)
def test_the_body_is_what_json_writes_with_an_indent_of_two(event: dict[str, Any]) -> None:
    assert event_payload(event) == json.dumps(event, indent=2).encode()


@pytest.mark.parametrize(
    "event",
    [
        {"nan": float("nan"), "inf": float("inf")},
        {"key": {1: "a number as key"}},
        {"level": Level.HIGH},
        {"levels": [Level.HIGH]},
        {"status": Status.PAID, "list": [Status.PAID]},
        {"ordered": OrderedDict(b=1, a=[2])},
        {"items": Items([1, "two"])},
        {Status.PAID: "a text key of a subclass of str"},
    ],
)
def test_what_only_the_json_module_writes_is_left_to_it_with_the_same_bytes(
    event: dict[str, Any],
) -> None:
    assert event_payload(event) == json.dumps(event, indent=2).encode()


def test_a_value_json_cannot_write_is_refused_as_json_refuses_it() -> None:
    with pytest.raises(TypeError):
        event_payload({"when": datetime(2026, 1, 1, tzinfo=UTC)})


def test_the_sandboxs_own_events_are_written_as_json_writes_them() -> None:
    gateway = SandboxGateway()
    customer = gateway.create_customer(
        customer_id="c1", email="a@example.com", name="Böb", idempotency_key="c1"
    )
    gateway.attach_payment_method(
        provider_customer_id=customer, payment_method="pm_card_visa", idempotency_key="m1"
    )
    assert gateway.events
    for event in gateway.events:
        assert event_payload(event) == json.dumps(event, indent=2).encode()
