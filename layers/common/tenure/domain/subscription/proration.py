"""What a change in the middle of a period is worth: the Proration a plan or items change
returns (the lines to invoice or credit, the period they cover), and `share_of`, the
share of a period's price left at a moment, rounded as the currency charges.

Pure arithmetic on amounts, with no subscription in it: the unused value of a pause, of
a plan change and of a seats change all go through `share_of`."""

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from tenure.domain.invoices import InvoiceLine
from tenure.domain.money import charge_step, round_to_step


@dataclass(frozen=True, slots=True)
class Proration:
    """The result of a mid-period plan change."""

    lines: list[InvoiceLine]
    period_start: datetime
    period_end: datetime
    credit_granted: int  # minor units moved to the subscription's credit balance
    unused: int = 0  # the unused time given back (paying the new plan's time, then credit)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def share_of(price: int, fraction: Fraction, currency: str) -> int:
    """`fraction` (0 to 1) of `price`, rounded to the currency's step and never past the price
    (which a price not in a three-decimal currency's step, stored before such prices were
    refused, could otherwise be rounded to)."""
    return min(round_to_step(price * fraction, charge_step(currency)), max(price, 0))
