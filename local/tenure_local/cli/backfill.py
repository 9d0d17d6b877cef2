"""`tenure backfill`: write the index items that records older than their index lack.

- `emails`: customers created before the console could search by email (docs/console.md),
  on a deployed table with your own AWS credentials;
- `price-members`: subscriptions from before price changes found their subscribers through
  memberships (docs/pricing.md), on the running `tenure serve` stack or `--table NAME`.

Both are safe to run twice, and while the stack serves."""

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from tenure_local.cli.tables import table_client, table_problem

app = typer.Typer(no_args_is_help=True, help="Write index items older records lack.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class BackfillError(Exception):
    """The table could not be backfilled; the message says why, in one sentence."""


def backfill_emails(client: Any, table: str) -> int:
    """Index every customer's email on `table` (through `client`); returns how many."""
    from botocore.exceptions import BotoCoreError, ClientError

    from tenure.clock import SystemClock
    from tenure.services import catalog
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository

    svc = Services(repo=DynamoRepository(client, table), clock=SystemClock(), reminders=None)
    try:
        return catalog.backfill_customer_emails(svc)
    except (ClientError, BotoCoreError) as exc:
        raise BackfillError(table_problem(exc, table, "write")) from exc


@app.command()
def emails(
    table: Annotated[str, typer.Option(help="the deployed table (output TableName)")],
    region: Annotated[str | None, typer.Option(help="the table's AWS region")] = None,
) -> None:
    """Put every customer's email into the console's search index. Safe to run again and
    while the stack serves: customers created meanwhile index themselves."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        client = boto3.client("dynamodb", region_name=region)
        written = backfill_emails(client, table)
    except BotoCoreError as exc:
        err.print(escape(f"cannot reach DynamoDB: {exc}"), soft_wrap=True)
        raise typer.Exit(2) from exc
    except BackfillError as exc:
        err.print(escape(str(exc)), soft_wrap=True)
        raise typer.Exit(2) from exc
    out.print(f"indexed the emails of {written} customers")


@app.command("price-members")
def price_members(
    table: Annotated[
        str | None,
        typer.Option(help="write this deployed table instead (your AWS credentials)"),
    ] = None,
    region: Annotated[str | None, typer.Option(help="the table's AWS region")] = None,
) -> None:
    """Write every subscription's price memberships (its plan and add-ons), so that a price
    change tells subscribers who joined before memberships existed at once too."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from tenure.clock import SystemClock
    from tenure.services.context import Services
    from tenure.services.price_notices import backfill_price_members as backfill
    from tenure.store.dynamodb import DynamoRepository

    client, name = table_client(table, region)
    try:
        written = backfill(Services(repo=DynamoRepository(client, name), clock=SystemClock()))
    except NoCredentialsError as exc:
        err.print("no AWS credentials: configure a profile or the environment")
        raise typer.Exit(2) from exc
    except (ClientError, BotoCoreError) as exc:
        err.print(escape(f"cannot write table {name!r}: {type(exc).__name__}"), soft_wrap=True)
        raise typer.Exit(2) from exc
    out.print(f"{written} price memberships written to {escape(name)}", highlight=False)
