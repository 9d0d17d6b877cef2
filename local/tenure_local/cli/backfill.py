"""`tenure backfill emails`: index the emails of customers created before the console could
search by email (docs/console.md), on a deployed table with your own AWS credentials."""

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(no_args_is_help=True, help="Write index items older records lack.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class BackfillError(Exception):
    """The table could not be backfilled; the message says why, in one sentence."""


def backfill_emails(client: Any, table: str) -> int:
    """Index every customer's email on `table` (through `client`); returns how many."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    from tenure.clock import SystemClock
    from tenure.services import catalog
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository

    svc = Services(repo=DynamoRepository(client, table), clock=SystemClock(), reminders=None)
    try:
        return catalog.backfill_customer_emails(svc)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            raise BackfillError(f"no table named {table!r}") from exc
        raise BackfillError(
            f"cannot write table {table!r}: {error.get('Code')}: {error.get('Message')}"
        ) from exc
    except ParamValidationError as exc:
        raise BackfillError(f"{table!r} is not a DynamoDB table name: {exc}") from exc
    except BotoCoreError as exc:  # no credentials, no region, no network
        raise BackfillError(f"cannot reach DynamoDB: {exc}") from exc


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
