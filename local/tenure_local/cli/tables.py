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
