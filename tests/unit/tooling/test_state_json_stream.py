"""state.json is streamed to its file with the bytes json.dumps would have given."""

import json
from pathlib import Path
from typing import Any

from tenure_local.runtime import state as state_module
from tenure_local.runtime.state import write_state_json


def a_state(customers: int) -> dict[str, Any]:
    return {
        "customers": [
            {"id": f"cus_{n:05d}", "name": "Zoë Ünal", "tags": [], "meta": {}, "paid": n % 2 == 0}
            for n in range(customers)
        ],
        "points": {"cus_00001": {"balance": 12, "pending": None, "ratio": 0.5}},
        "invoices": [],
        "audit": [{"at": "2026-01-01T00:00:00Z", "id": "a1", "fields": {"b": 1, "a": [1, 2]}}],
    }


def test_a_streamed_state_is_byte_for_byte_what_json_dumps_writes(tmp_path: Path) -> None:
    state = a_state(3)
    path = write_state_json(tmp_path / "state.json", state)
    assert path.read_bytes() == (json.dumps(state, indent=2, sort_keys=True) + "\n").encode()


def test_a_state_of_many_writes_is_the_same_bytes_across_every_write(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(state_module, "WRITE_EVERY", 7)  # many batches, one cut mid-object
    state = a_state(50)
    write_state_json(tmp_path / "state.json", state)
    expected = json.dumps(state, indent=2, sort_keys=True) + "\n"
    assert (tmp_path / "state.json").read_text() == expected


def test_an_empty_state_is_an_empty_object_and_a_newline(tmp_path: Path) -> None:
    write_state_json(tmp_path / "state.json", {})
    assert (tmp_path / "state.json").read_text() == "{}\n"
