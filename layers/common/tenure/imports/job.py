"""The import as a job for large exports: an S3 object (or a CSV folder) in batches.

One invocation reads the export, writes the plans, then imports customers batch by batch
while it has time left, and answers with `next`: the index of the first customer it did not
reach (None when done). Invoking it again with `start` set to that index goes on; since each
customer is written once and a second import of it changes nothing, a run cut short (a
timeout, a retry) is simply run again.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenure.domain.imported import Finding, ImportBatch
from tenure.services.context import Services
from tenure.services.imports import ImportReport, Line, import_batch

FORMATS = ("stripe", "csv")
# Time kept back after a batch: a batch of 100 customers is ~100 transactions, well under it.
RESERVE_MS = 60_000
MAX_BATCH = 1000


class InvalidImportRequestError(ValueError):
    """The event asks for no import this job can do."""


@dataclass(frozen=True, slots=True)
class ImportJob:
    """`key`: the Stripe JSON object, or the CSV folder's prefix (`imports/2026-03/`)."""

    bucket: str
    key: str
    format: str
    start: int = 0
    batch_size: int = 100
    dry_run: bool = False


def without_gateway(svc: Services) -> Services:
    """The same services with no payment provider: an import must not be able to charge."""
    return dataclasses.replace(svc, gateway=None, commits=0)


def parse_job(event: Any, default_bucket: str) -> ImportJob:
    if not isinstance(event, dict):
        raise InvalidImportRequestError("the event must be a JSON object")
    bucket = event.get("bucket") or default_bucket
    key, fmt = event.get("key"), event.get("format", "stripe")
    if not isinstance(bucket, str) or not bucket:
        raise InvalidImportRequestError("name the `bucket` (or set TENURE_IMPORT_BUCKET)")
    if not isinstance(key, str) or not key:
        raise InvalidImportRequestError("name the object or CSV folder as `key`")
    if fmt not in FORMATS:
        raise InvalidImportRequestError(f"`format` must be one of {', '.join(FORMATS)}")
    start, size, dry_run = (
        event.get("start", 0),
        event.get("batch_size", 100),
        event.get("dry_run", False),
    )
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise InvalidImportRequestError("`start` must be a whole number, 0 or more")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH:
        raise InvalidImportRequestError(f"`batch_size` must be from 1 to {MAX_BATCH}")
    if not isinstance(dry_run, bool):
        raise InvalidImportRequestError("`dry_run` must be true or false")
    return ImportJob(bucket, key, fmt, start, size, dry_run)


def read_batch(
    job: ImportJob, read_text: Callable[[str], str | None], svc: Services
) -> ImportBatch:
    """The export the job names, read through `read_text(key)` (None: no such object). An
    export that cannot be read at all is one refusal in the report (nothing is written),
    not an error: the operator who invoked the job reads why in its answer."""
    from tenure.imports import csv_tables, stripe_export

    now = svc.clock.now()
    try:
        if job.format == "stripe":
            text = read_text(job.key)
            if text is None:
                raise stripe_export.UnreadableError(f"no object {job.key} in {job.bucket}")
            return stripe_export.read_objects(stripe_export.parse_document(text, job.key), now)
        prefix = job.key if job.key.endswith("/") else job.key + "/"
        texts = {name: read_text(prefix + name) for name in csv_tables.FILES}
        return csv_tables.read_tables({n: t for n, t in texts.items() if t is not None}, now)
    except (stripe_export.UnreadableError, csv_tables.UnreadableError) as exc:
        refusal = Finding(job.key, "export", job.key, str(exc), refused=True)
        return ImportBatch(job.format, findings=[refusal])


def run_job(
    svc: Services, job: ImportJob, batch: ImportBatch, remaining_ms: Callable[[], int]
) -> dict[str, Any]:
    """Import batches from `job.start` while time is left; the report and where to go on."""
    report = ImportReport(batch.source, job.dry_run)
    index, seen = job.start, set[Line]()
    while True:
        done = import_batch(svc, batch, dry_run=job.dry_run, start=index, count=job.batch_size)
        # Each batch reports the plans and the reader's findings again: kept once.
        fresh = [line for line in done.lines if line not in seen]
        seen.update(fresh)
        report.lines.extend(fresh)
        index += job.batch_size
        if index >= len(batch.customers) or remaining_ms() <= RESERVE_MS:
            break
    finished = index >= len(batch.customers)
    return {
        **report.to_dict(),
        "customers": len(batch.customers),
        "next": None if finished else index,
    }
