"""Which table a command that reads or writes the store works on: the running `tenure serve`
stack's, or with --table a deployed one (the caller's AWS credentials and region)."""

from typing import Any

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)


def table_client(table: str | None, region: str | None) -> tuple[Any, str]:
    """A DynamoDB client and the table's name; a clear message and exit code 2 when there is
    no table to work on (no stack running, --region without --table, no region)."""
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


def table_problem(exc: Exception, table: str, doing: str, where: str | None = None) -> str:
    """One sentence for a DynamoDB failure while `doing` ("read", "write") `table`, in region
    `where` when the message should name it. Handles ClientError, ParamValidationError and
    any other BotoCoreError (no credentials, no region, no network)."""
    from botocore.exceptions import ClientError, ParamValidationError

    place = f" in {where}" if where is not None else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            return f"no table named {table!r}{place}"
        return f"cannot {doing} table {table!r}{place}: {error.get('Code')}: {error.get('Message')}"
    # Before the catch-all below: ParamValidationError is a BotoCoreError too.
    if isinstance(exc, ParamValidationError):
        return f"{table!r} is not a DynamoDB table name: {exc}"
    return f"cannot reach DynamoDB: {exc}"
