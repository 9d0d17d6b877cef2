"""Legal numbers of invoices and credit notes: gap-free series, one per year (docs/invoices.md).

A number is `{prefix}-{year}-{sequence}` (`INV-2026-000001`) with one series, and
`{prefix}-{letter}-{year}-{sequence}` (`INV-B-2026-000001`) with several: each series has
its own prefix segment, so numbers of different series can never be equal. The store hands
out the sequences (the counter moves in the same transaction as the invoice), never the
domain: what is here only says what the numbers look like and which series a year uses.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_SERIES = 26  # one letter each
PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{0,9}$"


class NumberedKind(StrEnum):
    """What a series numbers: each kind has its own series (credit notes are not invoices)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, slots=True)
class Numbering:
    """How the seller numbers its documents. `series`: how many gap-free series run side by
    side (a store writes each commit's numbers to one of them, `home` first, and moves to
    the next when it loses a race for one: see docs/invoices.md for how many and why)."""

    invoice_prefix: str = "INV"
    credit_note_prefix: str = "CN"
    series: int = 1
    home: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.series <= MAX_SERIES:
            raise ValueError(f"series must be between 1 and {MAX_SERIES}, not {self.series}")
        if not 0 <= self.home < self.series:
            raise ValueError(f"home series {self.home} is not one of the {self.series} series")

    def prefix(self, kind: NumberedKind) -> str:
        return self.invoice_prefix if kind is NumberedKind.INVOICE else self.credit_note_prefix

    def format(self, kind: NumberedKind, series: int, year: int, sequence: int) -> str:
        if sequence < 1:
            raise ValueError(f"a sequence starts at 1, not {sequence}")
        head = self.prefix(kind)
        if self.series > 1:
            head += f"-{chr(ord('A') + series)}"
        return f"{head}-{year:04d}-{sequence:06d}"


def numbering_year(finalized_at: datetime) -> int:
    """The year whose series numbers a document finalized at `finalized_at` (UTC): each
    series starts again at 1 on January 1st, and the year in the number keeps it unique."""
    return finalized_at.year
