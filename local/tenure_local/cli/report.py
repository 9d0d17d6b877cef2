"""`tenure report --table NAME`: the retention report of a deployed table, with your credentials.

It reads the table's daily snapshots by key (the last REPORT_DAYS days, as the metrics function
does for the report bucket) and writes the same files to a folder: report.html, metrics.json
and monthly.csv. Nothing is written unless every read succeeded.
"""

import os
from pathlib import Path

from tenure.report.files import ReportFile


class TableReportError(Exception):
    """The table could not be read into a report; the message says why in plain words."""


class FolderShelf:
    """A report's files in a local folder, created when the first file arrives."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, file: ReportFile) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / file.name).write_bytes(file.body)


def report_from_table(table: str, out_dir: Path, region: str | None = None) -> Path:
    """Write OUT_DIR's report files from the deployed `table`; returns report.html's path."""
    import boto3
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
    )

    from tenure.clock import SystemClock
    from tenure.services import report
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository

    try:
        client = boto3.client("dynamodb", region_name=region)
        svc = Services(repo=DynamoRepository(client, table), clock=SystemClock(), reminders=None)
        currency = os.environ.get("REPORTING_CURRENCY", "").strip().upper() or None
        # Rendered in memory first, so a failed read leaves no half-written folder behind.
        files = report.report_files(report.deployed_document(svc, currency=currency))
    except NoRegionError as exc:
        raise TableReportError("no AWS region: pass --region or set AWS_REGION") from exc
    except NoCredentialsError as exc:
        raise TableReportError(
            "no AWS credentials found (environment, ~/.aws, SSO or instance role)"
        ) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        where = client.meta.region_name
        if error.get("Code") == "ResourceNotFoundException":
            raise TableReportError(f"no table named {table!r} in {where}") from exc
        raise TableReportError(
            f"cannot read table {table!r} in {where}: {error.get('Code')}: {error.get('Message')}"
        ) from exc
    except ParamValidationError as exc:
        raise TableReportError(f"{table!r} is not a DynamoDB table name: {exc}") from exc
    except BotoCoreError as exc:
        raise TableReportError(f"cannot reach DynamoDB: {exc}") from exc
    except report.NothingToReportError as exc:
        raise TableReportError(f"table {table!r}: {exc}") from exc
    shelf = FolderShelf(out_dir)
    for file in files:
        shelf.put(file)
    return out_dir / "report.html"
