"""The stack's report bucket: the daily report's files, each under one prefix."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tenure.report.files import ReportFile, ReportShelfError

REPORT_PREFIX = "reports/"  # the metrics function may write here and nowhere else


class S3ReportShelf:
    """Puts each file at PREFIX/name, replacing yesterday's; the bucket's versioning keeps the
    older copies until its lifecycle rule expires them."""

    def __init__(self, s3: Any, bucket: str, prefix: str = REPORT_PREFIX) -> None:
        self._s3, self._bucket, self._prefix = s3, bucket, prefix

    def key(self, name: str) -> str:
        return self._prefix + name

    def put(self, file: ReportFile) -> None:
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=self.key(file.name),
                Body=file.body,
                ContentType=file.content_type,
                # Operators open the page from the console or a presigned link: show, not save.
                ContentDisposition="inline",
                CacheControl="no-cache",
            )
        except (BotoCoreError, ClientError) as exc:
            # The error code names the cause (NoSuchBucket, AccessDenied) without the body.
            code = (
                exc.response["Error"]["Code"]
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            raise ReportShelfError(f"could not store {self.key(file.name)}: {code}") from exc
