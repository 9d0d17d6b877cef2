"""The imports function: a large Stripe or CSV export in S3, imported in batches.

Invoked on demand (`aws lambda invoke`, `tenure invoke imports -e event.json`) with
{"key": "imports/stripe-2026-03.json", "format": "stripe"} or {"key": "imports/march/",
"format": "csv"}, and optionally "bucket", "start", "batch_size", "dry_run". It answers with
the report and `next`: invoke it again with "start": next until next is null. Nothing is
charged and no email goes out now (docs/import.md).
"""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tenure import bootstrap
from tenure.imports.job import parse_job, read_batch, run_job, without_gateway

logger = Logger()
emf = Metrics()


@logger.inject_lambda_context
@emf.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wired = bootstrap.wiring()
    job = parse_job(event, wired.settings.import_bucket)
    svc = without_gateway(wired.services)
    s3 = wired.client("s3")

    def read_text(key: str) -> str | None:
        try:
            body = s3.get_object(Bucket=job.bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return str(body.decode("utf-8", errors="replace"))

    result = run_job(
        svc, job, read_batch(job, read_text, svc), context.get_remaining_time_in_millis
    )
    refused = sum(1 for line in result["lines"] if line["outcome"] == "refused")
    emf.add_metric(name="ImportRefusals", unit=MetricUnit.Count, value=refused)
    logger.info(
        "import batch done",
        extra={"key": job.key, "start": job.start, "next": result["next"], "refused": refused},
    )
    return result


cold_start.done()
