"""state.json is streamed to its file with the bytes json.dumps would have given."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services
from tenure_local.runtime import state as state_module
from tenure_local.runtime.state import build_state, write_state_json
from tenure_local.runtime.state_rows import PackingRows, Rows, SpillingRows

KEPT_AS_TEXT = pytest.mark.parametrize("kind", [PackingRows, SpillingRows])


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


def a_store_with_customers_and_invoices() -> InMemoryRepository:
    """Two customers subscribe and pay their first invoices."""
    clock = FixedClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    repo = InMemoryRepository()
    svc = Services(repo, clock, SandboxGateway(clock=clock.now))
    catalog.create_plan(
        svc, Plan(id="team", name="Team", amount=4900, currency="EUR", interval="month")
    )
    for name in ("bob", "alice"):
        catalog.create_customer(svc, name, f"{name}@example.com", name=name.title())
        method = payment_method_for("4242424242424242")
        assert method is not None
        cards.update_payment_method(svc, name, method, "sandbox", True)
        subscriptions.subscribe(svc, f"sub-{name}", name, "team")
    return repo


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


@KEPT_AS_TEXT
def test_a_state_with_its_rows_packed_writes_the_bytes_of_the_plain_state(
    tmp_path: Path, monkeypatch: Any, kind: type[Rows]
) -> None:
    monkeypatch.setattr(state_module, "WRITE_EVERY", 5)
    plain = a_state(4) | {"refunds": [], "coupons": [{"id": "c1", "lines": [[1, 2], {}]}]}
    packed = dict(plain)
    for key in ("customers", "invoices", "refunds"):
        rows = kind()
        rows.extend(reversed(plain[key]))  # added in any order: written by id
        packed[key] = rows.by_id()
    write_state_json(tmp_path / "state.json", packed)
    expected = json.dumps(plain, indent=2, sort_keys=True) + "\n"
    assert (tmp_path / "state.json").read_text() == expected


@KEPT_AS_TEXT
def test_packed_rows_read_back_as_the_rows_sorted_by_id_ties_in_the_order_added(
    kind: type[Rows],
) -> None:
    rows = kind()
    rows.extend([{"id": "b", "n": 1}, {"id": "a", "n": 2}, {"id": "b", "n": 3}])
    packed = rows.by_id()
    assert len(packed) == 3 and packed
    assert list(packed) == [{"id": "a", "n": 2}, {"id": "b", "n": 1}, {"id": "b", "n": 3}]
    assert packed[1] == {"id": "b", "n": 1} and packed[1:] == list(packed)[1:]
    assert packed == list(packed) and packed != list(packed)[:2]
    assert not kind().by_id()  # empty: falsy, as an empty list, for `or []`


@KEPT_AS_TEXT
def test_reading_a_packed_row_gives_a_copy_that_changes_nothing_kept(kind: type[Rows]) -> None:
    rows = kind()
    rows.add({"id": "a", "lines": [1]})
    packed = rows.by_id()
    packed[0]["lines"].append(2)
    assert packed[0] == {"id": "a", "lines": [1]}


@KEPT_AS_TEXT
def test_the_packed_state_of_a_store_equals_its_plain_state_row_for_row(kind: type[Rows]) -> None:
    repo = a_store_with_customers_and_invoices()
    plain = build_state(repo, ["alice", "bob"])
    packed = build_state(repo, ["alice", "bob"], rows=kind)
    assert plain["invoices"] and plain["subscriptions"]
    assert {key: list(value) for key, value in packed.items()} == {
        key: list(value) for key, value in plain.items()
    }


def test_spilled_rows_keep_only_their_places_and_read_each_text_back_from_the_file() -> None:
    rows = SpillingRows()
    rows.extend([{"id": "b", "name": "Zoë"}, {"id": "a", "name": "Ünal"}])
    packed = rows.by_id()
    texts = packed.texts
    assert not isinstance(texts, list)  # not held as strings
    assert texts[-1] == texts[1] == json.dumps({"id": "b", "name": "Zoë"}, indent=2)
    assert texts[0:1] == [json.dumps({"id": "a", "name": "Ünal"}, indent=2)]
    assert packed == _packing([{"id": "a", "name": "Ünal"}, {"id": "b", "name": "Zoë"}]).by_id()
    with pytest.raises(IndexError):
        texts[2]


def _packing(rows: list[dict[str, Any]]) -> PackingRows:
    packing = PackingRows()
    packing.extend(rows)
    return packing
