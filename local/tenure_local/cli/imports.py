"""`tenure import stripe|csv`: bring customers, plans and subscriptions from another system.

They are written into the running `tenure serve` stack (found as `tenure invoke` finds it),
or into a deployed table with `--table NAME` (with the AWS credentials of the environment).
Nothing is charged and no email goes out now; see docs/import.md. Exit codes: 0 when nothing
was refused, 1 when anything was (each refusal is listed with its reason), 2 when the input
could not be read at all or there is no table to write to (nothing was written).
"""

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tenure.clock import SystemClock
from tenure.domain.imported import ImportBatch
from tenure.ports import Clock, Repository
from tenure.services.context import Services
from tenure.services.imports import ImportReport, Outcome, import_batch

app = typer.Typer(
    no_args_is_help=True,
    help="Bring customers, plans and subscriptions from Stripe or CSV files (docs/import.md).",
)

EXIT_REFUSED = 1
EXIT_UNREADABLE = 2

TableOption = Annotated[
    str | None,
    typer.Option(
        "--table", help="a deployed table to write to (default: the running `tenure serve` stack)"
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="read, check and report; write nothing")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the report as JSON")]


@app.command("stripe")
def stripe(
    path: Annotated[Path, typer.Argument(help="a Stripe JSON file, or a folder of them")],
    table: TableOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Import Stripe customers, prices, products, subscriptions and payment methods, as the
    API lists them (list responses, single objects, or arrays of them)."""
    from tenure.imports.stripe_export import UnreadableError, parse_document, read_objects

    def read(now: datetime) -> ImportBatch:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not files:
            raise UnreadableError(f"{path}: no .json files")
        objects = []
        for file in files:
            objects.extend(parse_document(_text(file), file.name))
        return read_objects(objects, now)

    _run(read, UnreadableError, table, dry_run, as_json)


@app.command("csv")
def csv(
    folder: Annotated[Path, typer.Argument(help="a folder with customers.csv, plans.csv, ...")],
    table: TableOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Import customers.csv, plans.csv and subscriptions.csv in Tenure's CSV format."""
    from tenure.imports.csv_tables import FILES, UnreadableError, read_tables

    def read(now: datetime) -> ImportBatch:
        if not folder.is_dir():
            raise UnreadableError(f"{folder}: not a folder")
        texts = {name: _text(folder / name) for name in FILES if (folder / name).exists()}
        return read_tables(texts, now)

    _run(read, UnreadableError, table, dry_run, as_json)


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unreadable(f"{file}: {exc}") from exc


class _Unreadable(ValueError):
    pass


def _run(
    read: Callable[[datetime], ImportBatch],
    unreadable: type[Exception],
    table: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    clock = SystemClock()
    try:
        batch = read(clock.now())
    except (unreadable, _Unreadable) as exc:
        typer.echo(f"cannot import: {exc}; nothing was written", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from exc
    repo = _repository(table)
    report = import_from(batch, repo, clock, dry_run=dry_run)
    show(report, as_json)
    if report.refused:
        raise typer.Exit(EXIT_REFUSED)


def import_from(
    batch: ImportBatch, repo: Repository, clock: Clock, *, dry_run: bool
) -> ImportReport:
    """The import on `repo`, with the reminder policy the stack's settings give: no gateway,
    so nothing can be charged."""
    from tenure import bootstrap

    reminders = bootstrap.reminder_policy(bootstrap.settings())
    svc = Services(repo=repo, clock=clock, gateway=None, reminders=reminders)
    return import_batch(svc, batch, dry_run=dry_run)


def _repository(table: str | None) -> Repository:
    from tenure.bootstrap import boto_client
    from tenure.store.dynamodb import DynamoRepository

    if table is None:
        from tenure_local.stack.local_stack import LocalStack

        attached = LocalStack.attach()
        if attached is None:
            typer.echo(
                "no running local stack: start `tenure serve` first, or pass --table NAME "
                "for a deployed table; nothing was written",
                err=True,
            )
            raise typer.Exit(EXIT_UNREADABLE)
        os.environ.update(attached)
        table = attached["TABLE_NAME"]
    return DynamoRepository(boto_client("dynamodb"), table, time.sleep)


def show(report: ImportReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    for line in report.lines:
        if line.outcome in (Outcome.REFUSED, Outcome.SKIPPED):
            reason = f": {line.reason}" if line.reason else ""
            typer.echo(f"{line.outcome:<9} {line.kind} {line.id} ({line.origin}){reason}")
    summary = ", ".join(f"{n} {what}" for what, n in report.counts().items()) or "nothing"
    prefix = "dry run, nothing written: " if report.dry_run else ""
    typer.echo(f"{prefix}{summary}")
