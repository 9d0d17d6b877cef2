"""`tenure export DIR`: the whole business as JSON Lines, one file per kind of record
(customer.jsonl, subscription.jsonl, invoice.jsonl, ...), from the running `tenure serve`
stack or, with --table, a deployed table (your AWS credentials). See docs/privacy.md.

This reads the whole table with a Scan, on purpose: it is an operator's export (a backup, a
move to another system), never a function's work, and it costs one read of every item.
Records are written as stored, without the table's key attributes, sorted by key, so two
exports of the same table are the same bytes.
"""

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from tenure.store import codec
from tenure.store.codec import from_item
from tenure.store.event_items import event_pk, order_key, unpack
from tenure_local.cli.tables import table_client

err = Console(stderr=True)
out = Console()

# The table's own attributes: where an item lives, not what it says.
KEY_ATTRIBUTES = ("PK", "SK", "GSI1PK", "GSI1SK", "DuePK", "DueSK")
# Items without an `entity` attribute, named by their partition key's prefix.
KINDS_BY_PREFIX = {
    "EVT": "event",
    "MRR": "mrr_ledger_entry",
    "SNAP": "metric_snapshot",
    "IDEM": "idempotency_record",
    "MARK": "marker",
    "PROV": "provider_link",
    "SEQ": "number_counter",
    "SUPP": "suppression",
    "SETTING": "setting",
}


# The kinds whose items leave out what reads back the same (store/compact.py): their lines
# say every attribute, as the items written before did, so a line's fields never go missing.
_WHOLE: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[..., dict[str, Any]]]] = {
    "subscription": (codec.subscription_from_attrs, codec.subscription_to_attrs),
    "invoice": (codec.invoice_from_attrs, codec.invoice_to_attrs),
    "charge": (codec.charge_from_attrs, codec.charge_to_attrs),
    "notice": (codec.notice_from_attrs, codec.notice_to_attrs),
}


def whole(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record with every attribute its kind is written with, whichever shape it was
    stored in: read, then written whole; what only the item holds (its `entity`, its
    `version`) is kept as stored."""
    read, write = _WHOLE[kind]
    try:
        return record | write(read(record), whole=True)
    except (KeyError, ValueError, TypeError):
        return record  # an item Tenure cannot read (edited by hand): exported as stored


class ExportError(Exception):
    """The table could not be read; the message says why in plain words."""


def kind_of(item: dict[str, Any]) -> str | None:
    """The kind an item is exported as; None for the copies kept only to be listed another
    way (an audit entry's copy under its actor), which would otherwise appear twice."""
    pk, sk = str(item.get("PK", "")), str(item.get("SK", ""))
    if pk.startswith("ACTOR#"):
        return None
    if item.get("entity"):
        return str(item["entity"])
    prefix = pk.split("#", 1)[0]
    if prefix == "CUS" and sk in ("MRR", "LATE"):
        return "customer_mrr_state" if sk == "MRR" else "late_invoices"
    if prefix == "CUS" and sk.startswith("PTS"):
        return "points" if sk == "PTS" else "points_entry"
    return KINDS_BY_PREFIX.get(prefix, prefix.lower() or "unknown")


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def write_export(items: list[dict[str, Any]], folder: Path) -> dict[str, int]:
    """Write `folder/<kind>.jsonl` for each kind found; returns the count per file name."""
    by_kind: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for item in items:
        kind = kind_of(item)
        if kind is None:
            continue
        record = {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES}
        if kind == "notice" and "id" not in record:
            # Its key holds its id (store/commit.py writes it there only): said again here.
            record["id"] = str(item.get("PK", "")).removeprefix("NOTICE#")
        if kind in _WHOLE:
            record = whole(kind, record)
        if kind == "event" and ("event" in record or "events" in record):
            # One line per event, whichever item shape held it (store/event_items.py).
            for body, version in unpack(item):
                line = body | ({"object_version": version} if version is not None else {})
                by_kind[kind].append((event_pk(body["occurred_at"]), order_key(body), line))
            continue
        by_kind[kind].append((str(item.get("PK", "")), str(item.get("SK", "")), record))
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for kind, records in sorted(by_kind.items()):
        name = f"{kind}.jsonl"
        lines = [
            json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
            for _, _, record in sorted(records, key=lambda r: (r[0], r[1]))
        ]
        (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        counts[name] = len(lines)
    return counts


def export_table(client: Any, table: str, folder: Path) -> dict[str, int]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if folder.exists() and not folder.is_dir():  # said before the whole table is read
        raise ExportError(f"{folder} is a file; expected a folder for the .jsonl files")
    try:
        items = scan_table(client, table)
    except NoCredentialsError as exc:
        raise ExportError("no AWS credentials: configure a profile or the environment") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ExportError(f"cannot read table {table!r}: {code}") from exc
    except BotoCoreError as exc:
        raise ExportError(f"cannot reach table {table!r}: {type(exc).__name__}") from exc
    try:
        return write_export(items, folder)
    except OSError as exc:
        raise ExportError(f"cannot write {folder}: {exc.strerror or exc}") from exc


def export_business(
    directory: Annotated[Path, typer.Argument(help="folder for one .jsonl file per kind")],
    table: Annotated[
        str | None,
        typer.Option(help="export this deployed table instead (your AWS credentials)"),
    ] = None,
    region: Annotated[str | None, typer.Option(help="the table's AWS region")] = None,
) -> None:
    """Write the whole business as JSON Lines, one file per kind of record (customers,
    subscriptions, invoices, events, ...), from the running `tenure serve` stack, or from a
    deployed table with --table. See docs/privacy.md."""
    client, table = table_client(table, region)
    try:
        counts = export_table(client, table, directory)
    except ExportError as exc:
        err.print(escape(str(exc)), soft_wrap=True, highlight=False)
        raise typer.Exit(2) from exc
    for name, n in counts.items():
        out.print(f"{n:>8}  {directory / name}", soft_wrap=True, highlight=False)
