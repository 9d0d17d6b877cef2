"""state.json's rows are written as json.dumps(value, indent=2, sort_keys=True) writes them."""

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure_local.runtime.json_text import sorted_pretty
from tenure_local.runtime.state_rows import row_text

_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_any_plain_json_value_is_written_as_json_writes_it(value: Any) -> None:
    assert sorted_pretty(value) == json.dumps(value, indent=2, sort_keys=True)


class _Colour(enum.StrEnum):
    RED = "red"


class _Size(enum.IntEnum):
    BIG = 3


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [float("nan"), float("inf"), -float("inf")]},
        {"colour": _Colour.RED, "size": _Size.BIG, "nested": [{"z": _Colour.RED, "a": None}]},
        {1: "one", 2: "two"},  # keys that are not text: json writes them as text
        {"é": "ü\u2028", "a": "\x00"},
        [],
        {},
        [{}, [], ""],
    ],
)
def test_what_it_leaves_to_the_json_module_is_written_as_json_writes_it(value: Any) -> None:
    assert sorted_pretty(value) == json.dumps(value, indent=2, sort_keys=True)


def test_keys_that_do_not_compare_are_refused_as_json_refuses_them() -> None:
    with pytest.raises(TypeError):
        json.dumps({1: "a", "b": 2}, indent=2, sort_keys=True)
    with pytest.raises(TypeError):
        sorted_pretty({1: "a", "b": 2})


def test_a_state_row_is_its_sorted_indented_json() -> None:
    row = {"id": "inv_1", "lines": [{"amount": 1000, "kind": "plan"}], "paid_at": None}
    assert row_text(row) == json.dumps(row, indent=2, sort_keys=True)
