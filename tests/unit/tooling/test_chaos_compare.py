"""`tenure chaos compare`: what a chaos run may change (a payment recorded minutes later, when
recovery confirmed it) and what it may not (anything else)."""

import json
from pathlib import Path
from typing import Any

from tenure_local.simulator.chaos_compare import compare

PAID = "2026-02-05T09:00:00Z"


def folder(root: Path, name: str, paid_at: str | None, **invoice: Any) -> Path:
    out = root / name
    (out / "outbox").mkdir(parents=True)
    record = {"id": "in_1", "customer": "ann", "subscription": "sub_1", "kind": "renewal"}
    record |= {"status": "paid" if paid_at else "open", "total": 1000, "currency": "USD"}
    record |= {"attempts": 1, "paid_at": paid_at, **invoice}
    charge = {"id": "ch_in_1_1", "invoice": "in_1", "customer": "ann", "amount": 1000}
    charge |= {"currency": "USD", "outcome": "succeeded", "decline_code": None, "at": PAID}
    charge |= {"idempotency_key": "charge:in_1:1"}
    charges = [charge] if paid_at else []
    state = {"subscriptions": [], "invoices": [record], "charges": charges, "customers": []}
    (out / "state.json").write_text(json.dumps(state))
    (out / "events.jsonl").write_text("")
    (out / "metrics.json").write_text(json.dumps({"mrr": 1000}))
    return out


def test_a_payment_recorded_minutes_later_is_late_not_a_difference(tmp_path: Path) -> None:
    calm = folder(tmp_path, "calm", PAID)
    chaos = folder(tmp_path, "chaos", "2026-02-05T09:08:00Z")

    result = compare(calm, chaos)

    assert result.ok
    assert result.differences == []
    assert result.late == [
        "invoices: in_1.paid_at: calm '2026-02-05T09:00:00Z', chaos '2026-02-05T09:08:00Z'"
    ]


def test_a_payment_recorded_earlier_or_over_an_hour_later_is_a_difference(tmp_path: Path) -> None:
    calm = folder(tmp_path, "calm", PAID)
    earlier = folder(tmp_path, "earlier", "2026-02-05T08:59:00Z")
    much_later = folder(tmp_path, "later", "2026-02-05T10:00:01Z")
    never = folder(tmp_path, "never", None)

    for chaos in (earlier, much_later, never):
        result = compare(calm, chaos)
        assert not result.ok and result.late == []
        assert any(".paid_at:" in d for d in result.differences)


def test_any_other_field_that_moved_is_a_difference(tmp_path: Path) -> None:
    calm = folder(tmp_path, "calm", PAID, attempts=1)
    chaos = folder(tmp_path, "chaos", PAID, attempts=2)

    result = compare(calm, chaos)

    assert not result.ok
    assert result.differences == ["invoices: in_1.attempts: calm 1, chaos 2"]


def _two_invoices(root: Path, name: str, first: str | None, second: str | None) -> Path:
    out = folder(root, name, None)
    state = json.loads((out / "state.json").read_text())
    one = state["invoices"][0]
    two = one | {"id": "in_2", "customer": "bob", "subscription": "sub_2"}
    state["invoices"] = [one | {"number": first}, two | {"number": second}]
    (out / "state.json").write_text(json.dumps(state))
    return out


def test_two_invoices_that_swapped_numbers_are_renumbered_not_different(tmp_path: Path) -> None:
    calm = _two_invoices(tmp_path, "calm", "INV-2026-000010", "INV-2026-000011")
    chaos = _two_invoices(tmp_path, "chaos", "INV-2026-000011", "INV-2026-000010")

    result = compare(calm, chaos)

    assert result.ok and result.differences == []
    assert result.renumbered == [
        "invoices: in_1.number: calm 'INV-2026-000010', chaos 'INV-2026-000011'",
        "invoices: in_2.number: calm 'INV-2026-000011', chaos 'INV-2026-000010'",
    ]


def test_a_number_skipped_or_an_invoice_left_unnumbered_is_a_difference(tmp_path: Path) -> None:
    calm = _two_invoices(tmp_path, "calm", "INV-2026-000010", "INV-2026-000011")
    gap = _two_invoices(tmp_path, "gap", "INV-2026-000010", "INV-2026-000012")
    unnumbered = _two_invoices(tmp_path, "none", "INV-2026-000010", None)

    assert compare(calm, gap).differences == [
        "invoices: numbers taken differ: calm only ['INV-2026-000011'], "
        "chaos only ['INV-2026-000012']"
    ]
    assert not compare(calm, unnumbered).ok
    assert any("in_2.number" in d for d in compare(calm, unnumbered).differences)


def _with_case(root: Path, name: str, case_id: str, opened_at: str, invoice: str = "in_1") -> Path:
    out = folder(root, name, PAID)
    state = json.loads((out / "state.json").read_text())
    case = {"id": case_id, "subscription": "sub_1", "status": "open", "balance": 1000}
    lines = [{"invoice": invoice, "amount": 1000}]
    state["collection_cases"] = [case | {"opened_at": opened_at, "closed_at": None, "lines": lines}]
    (out / "state.json").write_text(json.dumps(state))
    return out


def test_collection_cases_are_compared_a_case_opened_minutes_later_is_late(
    tmp_path: Path,
) -> None:
    # Chaos replay found cases named after the moment their decline was recorded: under a
    # fault, another case (and another plan, other invoices) than the calm run's.
    calm = _with_case(tmp_path, "calm", "cc_1", "2026-04-16T19:00:00Z")
    late = _with_case(tmp_path, "late", "cc_1", "2026-04-16T19:05:00Z")

    assert compare(calm, late).ok
    assert compare(calm, late).late == [
        "collection_cases: sub_1<in_1>.opened_at: calm '2026-04-16T19:00:00Z', "
        "chaos '2026-04-16T19:05:00Z'"
    ]


def test_a_case_named_from_a_later_moment_is_the_same_case_recorded_later(
    tmp_path: Path,
) -> None:
    # Its id is made from when dunning ended: an attempt a fault delayed (a renewal message
    # delivered again minutes later) ends it later, and names it from then.
    calm = _with_case(tmp_path, "calm", "cc_1", "2026-04-16T19:00:00Z")
    renamed_later = _with_case(tmp_path, "later", "cc_2", "2026-04-16T19:05:00Z")
    renamed_only = _with_case(tmp_path, "renamed", "cc_2", "2026-04-16T19:00:00Z")
    too_late = _with_case(tmp_path, "too_late", "cc_2", "2026-04-16T21:00:00Z")
    other = _with_case(tmp_path, "other", "cc_1", "2026-04-16T19:00:00Z", invoice="in_2")

    result = compare(calm, renamed_later)
    assert result.ok
    assert "collection_cases: sub_1<in_1>.id: calm 'cc_1', chaos 'cc_2'" in result.late
    for wrong in (renamed_only, too_late):
        assert not compare(calm, wrong).ok
        assert "collection_cases: sub_1<in_1>.id: calm 'cc_1', chaos 'cc_2'" in (
            compare(calm, wrong).differences
        )
    assert compare(calm, other).differences == [
        "collection_cases: sub_1<in_1> only in the calm run",
        "collection_cases: sub_1<in_2> only under chaos",
    ]
