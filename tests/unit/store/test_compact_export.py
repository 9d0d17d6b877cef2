"""`tenure export` writes the items a renewal leaves compact (store/compact.py) with every
attribute, as the items written before them were: a line's fields never go missing."""

import json
from pathlib import Path
from typing import Any

import pytest
from test_compact_items import OLD_CHARGE, OLD_INVOICE, OLD_NOTICE, OLD_SUBSCRIPTION

from tenure.store import codec
from tenure_local.cli.export import write_export

# (the old item, its kind, its keys, how the store writes it now)
SHAPES = [
    (OLD_SUBSCRIPTION, "subscription", {"PK": "SUB#sub_r00000", "SK": "SUB"},
     lambda a: codec.subscription_to_attrs(codec.subscription_from_attrs(a))),
    (OLD_INVOICE, "invoice", {"PK": f"INV#{OLD_INVOICE['id']}", "SK": "INV"},
     lambda a: codec.invoice_to_attrs(codec.invoice_from_attrs(a))),
    (OLD_CHARGE, "charge", {"PK": f"INV#{OLD_INVOICE['id']}", "SK": "CHG#0001"},
     lambda a: codec.charge_to_attrs(codec.charge_from_attrs(a))),
    (OLD_NOTICE, "notice", {"PK": f"NOTICE#{OLD_NOTICE['id']}", "SK": "NOTICE"},
     lambda a: {k: v for k, v in codec.notice_to_attrs(codec.notice_from_attrs(a)).items()
                if k != "id"}),
]  # fmt: skip


def exported(tmp_path: Path, name: str, item: dict[str, Any], kind: str) -> str:
    write_export([item], tmp_path / name)
    return (tmp_path / name / f"{kind}.jsonl").read_text()


@pytest.mark.parametrize(("old", "kind", "keys", "now"), SHAPES, ids=[s[1] for s in SHAPES])
def test_an_item_written_compact_exports_as_the_same_line_as_its_old_whole_shape(
    tmp_path: Path, old: dict[str, Any], kind: str, keys: dict[str, str], now: Any
) -> None:
    compact = now(old) | {"version": old["version"], "entity": kind}
    assert set(compact) < set(old)  # the store leaves attributes out now

    before = exported(tmp_path, "old", old | keys, kind)
    after = exported(tmp_path, "new", compact | keys, kind)

    assert after == before
    assert set(json.loads(after)) == set(old)


def test_an_item_tenure_cannot_read_is_exported_as_stored(tmp_path: Path) -> None:
    odd = {"PK": "SUB#x", "SK": "SUB", "entity": "subscription", "id": "x", "note": "by hand"}

    line = json.loads(exported(tmp_path, "odd", odd, "subscription"))

    assert line == {"entity": "subscription", "id": "x", "note": "by hand"}
