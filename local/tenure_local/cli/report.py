"""`tenure report --table NAME`: the retention report of a deployed table, with your credentials.

It reads the table's daily snapshots by key (the last REPORT_DAYS days, as the metrics function
does for the report bucket) and writes the same files to a folder: report.html, metrics.json
and monthly.csv. Nothing is written unless every read succeeded.

`tenure invoke metrics` on the local stack copies what the function shelved in the stack's
report bucket to a folder the same way (`fetch_shelved_report`).
"""

import os
from pathlib import Path
from typing import Any

from tenure.report.files import ReportFile


class TableReportError(Exception):
    """The table could not be read into a report; the message says why in plain words."""


class ShelvedReportError(Exception):
    """The report bucket's files could not be copied; the message says why in plain words."""


class FolderShelf:
    """A report's files in a local folder, created when the first file arrives."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, file: ReportFile) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / file.name).write_bytes(file.body)

    def put_all(self, files: list[ReportFile]) -> None:
        """Every file; OSError (a file where the folder should be, say) as it comes."""
        for file in files:
            self.put(file)


def report_from_table(table: str, out_dir: Path, region: str | None = None) -> Path:
    """Write OUT_DIR's report files from the deployed `table`; returns report.html's path."""
    import boto3
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
    )

    from tenure.clock import SystemClock
    from tenure.services import report
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository
    from tenure_local.cli.tables import table_problem

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
        where = client.meta.region_name
        raise TableReportError(table_problem(exc, table, "read", where)) from exc
    except BotoCoreError as exc:
        raise TableReportError(table_problem(exc, table, "read")) from exc
    except report.NothingToReportError as exc:
        raise TableReportError(f"table {table!r}: {exc}") from exc
    try:
        FolderShelf(out_dir).put_all(files)
    except OSError as exc:
        raise TableReportError(f"cannot write {out_dir}: {exc.strerror or exc}") from exc
    return out_dir / "report.html"


def fetch_shelved_report(s3: Any, bucket: str, out_dir: Path) -> Path:
    """Copy the files the metrics function shelved in `bucket` to OUT_DIR; returns
    report.html's path. Every file is read before any is written, as for --table."""
    from botocore.exceptions import BotoCoreError, ClientError

    from tenure.report.files import ReportFile
    from tenure.store.report_bucket import REPORT_PREFIX

    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=REPORT_PREFIX).get("Contents", [])
        files = []
        for entry in listed:
            found = s3.get_object(Bucket=bucket, Key=entry["Key"])
            name = entry["Key"].removeprefix(REPORT_PREFIX)
            files.append(ReportFile(name, found["Body"].read(), found.get("ContentType", "")))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        raise ShelvedReportError(f"cannot read the report bucket {bucket!r}: {code}") from exc
    except BotoCoreError as exc:
        raise ShelvedReportError(f"cannot reach the report bucket {bucket!r}: {exc}") from exc
    # Only flat names: a key such as reports/a/b would otherwise write outside OUT_DIR's level.
    files = [f for f in files if "/" not in f.name and f.name not in ("", ".", "..")]
    if not any(f.name == "report.html" for f in files):
        raise ShelvedReportError(
            f"the report bucket {bucket!r} holds no {REPORT_PREFIX}report.html"
        )
    try:
        FolderShelf(out_dir).put_all(files)
    except OSError as exc:
        raise ShelvedReportError(f"cannot write {out_dir}: {exc.strerror or exc}") from exc
    return out_dir / "report.html"
