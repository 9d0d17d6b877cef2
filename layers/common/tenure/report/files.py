"""A rendered report as files, and the shelf (a bucket, a folder) that keeps them."""

from dataclasses import dataclass
from typing import Protocol


class ReportShelfError(RuntimeError):
    """The report's files could not be stored (the bucket refused or was unreachable)."""


@dataclass(frozen=True, slots=True)
class ReportFile:
    name: str
    body: bytes
    content_type: str


class ReportShelf(Protocol):
    """Where a report's files are kept: the stack's S3 bucket, or a local folder."""

    def put(self, file: ReportFile) -> None: ...
