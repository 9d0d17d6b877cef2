"""`tenure backfill-price-members`: give a table's existing subscriptions the memberships a
price change finds them by (docs/pricing.md), on the running `tenure serve` stack or, with
--table, a deployed table (your AWS credentials). Safe to run twice, or while it serves."""

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)
out = Console()


def _client(table: str | None, region: str | None) -> tuple[Any, str]:
    """A DynamoDB client and the table to write: the local stack's, or the named one."""
    import boto3
    from botocore.exceptions import NoRegionError

    from tenure_local.stack.local_stack import LocalStack

    if table is not None:
        try:
            return boto3.client("dynamodb", region_name=region), table
        except NoRegionError as exc:
            err.print("no AWS region: pass --region or set AWS_REGION")
            raise typer.Exit(2) from exc
    if region is not None:
        err.print("--region goes with --table")
        raise typer.Exit(2)
    attached = LocalStack.attach()
    if attached is None:
        err.print("no running `tenure serve` stack: start one, or pass --table NAME")
        raise typer.Exit(2)
    client = boto3.client(
        "dynamodb",
        endpoint_url=attached["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=attached.get("AWS_REGION") or attached.get("AWS_DEFAULT_REGION"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    return client, attached["TABLE_NAME"]


def backfill_price_members(
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

    client, name = _client(table, region)
    try:
        written = backfill(Services(repo=DynamoRepository(client, name), clock=SystemClock()))
    except NoCredentialsError as exc:
        err.print("no AWS credentials: configure a profile or the environment")
        raise typer.Exit(2) from exc
    except (ClientError, BotoCoreError) as exc:
        err.print(escape(f"cannot write table {name!r}: {type(exc).__name__}"), soft_wrap=True)
        raise typer.Exit(2) from exc
    out.print(f"{written} price memberships written to {escape(name)}", highlight=False)
